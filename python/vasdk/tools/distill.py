"""Knowledge distillation: a (pruned or factorised) student learns from its teacher on unlabelled
frames, on CPU (JAX), and is written back as ONNX with the teacher's card.

The student's ONNX graph runs in JAX as it is (``OnnxFunction``: the operators our converters
write: Conv, BatchNormalization, activations, pooling, nearest Resize, Concat, Add, Mul), so
training updates exactly the initializers of that file and export writes them back: nothing is
rebuilt in another framework. Teacher outputs come from ONNX Runtime once per frame.

A student written by ``vasdk model prune`` is first refitted to the teacher's features by least
squares, layer by layer (``refit``; at the card's input size): this restores most of what pruning
took in one pass. Gradient training follows.

Loss, for YOLO heads (card decoder ``yolo_darknet``), per anchor and cell, at temperature T: the
binary KL divergence of sigmoid(obj / T) from the teacher's (zero where they agree), averaged over
the cells where the teacher sees an object and over the empty cells apart (soft weights
sigmoid(obj)), so that thousands of empty cells do not outvote a few objects; class scores the
same way, and the box terms (sigmoid x, y and raw log w, h, squared error), weighted by the
teacher's objectness. Other decoders get the squared error of every output (output imitation).

Training at the card's size is slow on a CPU, and training on frames resized smaller teaches the
student objects at sizes it will not see deployed: a student distilled at 416x320 on vtest.avi
agreed with its teacher at 0.66 AP50 on later frames at 416x320 but 0.29 at the card's 768x576.
``--crop WxH`` trains on crops of that size cut from frames at the card's size instead (on the
32-pixel grid, ``--crops`` per frame): the same cost per step as resizing, at the deployed scale.

Frames (videos, image folders or images) are split into training and held-out frames; the
held-out loss is reported at the start and every checkpoint. Runs stop at ``--steps`` or
``--budget`` minutes, whichever comes first, write a checkpoint every ``--checkpoint-every``
steps (parameters, optimiser state, step, RNG; npz, no pickle) and ``--resume`` continues one. A fixed
``--seed`` makes a run repeatable. A GPU is used when JAX has one, never required.

XLA takes seconds to compile the training step; compiled steps are kept in a private cache
(``$VASDK_CACHE_DIR/jax``, else ``$XDG_CACHE_HOME/vasdk/jax`` or ``~/.cache/vasdk/jax``; mode 0700,
and refused if another user owns it or others can write to it, since it holds executable code),
so a resumed or repeated run starts at once. ``--no-compile-cache`` turns it off; a cache the user
set for JAX itself (``JAX_COMPILATION_CACHE_DIR``) is left as it is.

    vasdk model distill yolov3-tiny.p30.onnx student.onnx --teacher yolov3-tiny.onnx \\
        --frames Megamind.avi images/ --budget 30
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .cards import write_model_with_card
from .onnxutil import ModelToolError, load_model, ort_session
from .prune import kept_channels

if TYPE_CHECKING:
    from .refit import RefitResult

__all__ = ["DistillResult", "OnnxFunction", "distill", "main"]


def _jax() -> tuple[Any, Any]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:  # pragma: no cover - setup installs it
        raise ModelToolError("distillation needs JAX: pip install 'vasdk[train]' (jax, optax)") from e
    return jax, jnp


def compile_cache_dir() -> Path:
    """Where distillation keeps XLA's compiled steps (see the module notes)."""
    if os.environ.get("VASDK_CACHE_DIR"):
        return Path(os.environ["VASDK_CACHE_DIR"]).expanduser() / "jax"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vasdk" / "jax"


def _use_compile_cache(jax: Any) -> Path | None:
    """Points JAX's persistent compilation cache at our private folder; returns it, or None
    when JAX already has one or the folder is not safe to load code from."""
    if jax.config.jax_compilation_cache_dir:
        return None
    d = compile_cache_dir()
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = d.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    jax.config.update("jax_compilation_cache_dir", str(d))
    return d


class OnnxFunction:
    """An ONNX graph as a pure JAX function of its float initializers (the parameters)."""

    OPS = ("Conv", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "MaxPool", "Resize",
           "Concat", "Add", "Mul", "Identity")

    def __init__(self, model: onnx.ModelProto) -> None:
        unknown = sorted({n.op_type for n in model.graph.node} - set(self.OPS))
        if unknown:
            raise ModelToolError(f"distillation runs the ops {', '.join(self.OPS)}; this model also has "
                                 f"{', '.join(unknown)}")
        self.model = model
        consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        # Weights and biases train; shapes, scales and BN statistics stay constant.
        trained = set()
        for n in model.graph.node:
            if n.op_type == "Conv" or n.op_type == "BatchNormalization":
                trained.update(n.input[1:3])
        self.params = {k: v.astype(np.float32) for k, v in consts.items() if k in trained}
        self.consts = {k: v for k, v in consts.items() if k not in trained}
        self.input = model.graph.input[0].name
        self.outputs = [o.name for o in model.graph.output]

    def __call__(self, params: dict[str, Any], x: Any, gates: dict[str, Any] | None = None) -> list[Any]:
        """The graph's outputs; ``gates`` multiplies the named tensors' channels (dim 1) on the way."""
        env: dict[str, Any] = {self.input: x, **self.consts, **params}
        for n in self.model.graph.node:
            y = self.node(n, [env[i] if i else None for i in n.input])
            if gates and n.output[0] in gates:
                y = y * gates[n.output[0]][None, :, None, None]
            env[n.output[0]] = y
        return [env[o] for o in self.outputs]

    @staticmethod
    def node(n: onnx.NodeProto, ins: list[Any]) -> Any:
        """The output of one node given its inputs (None for an omitted optional input)."""
        jax, jnp = _jax()
        lax = jax.lax
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        op = n.op_type
        if op == "Conv":
            k = len(ins[1].shape) - 2
            pads = a.get("pads", [0] * 2 * k)
            y = lax.conv_general_dilated(
                ins[0], ins[1], window_strides=a.get("strides", [1] * k),
                padding=[(pads[i], pads[i + k]) for i in range(k)],
                rhs_dilation=a.get("dilations", [1] * k),
                feature_group_count=a.get("group", 1), dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return y + ins[2][None, :, None, None] if len(ins) > 2 and ins[2] is not None else y
        if op == "BatchNormalization":
            x0, g, b, m, v = ins[:5]
            s = g / jnp.sqrt(v + a.get("epsilon", 1e-5))
            return x0 * s[None, :, None, None] + (b - m * s)[None, :, None, None]
        if op == "Relu":
            return jnp.maximum(ins[0], 0)
        if op == "LeakyRelu":
            return jnp.where(ins[0] >= 0, ins[0], a.get("alpha", 0.01) * ins[0])
        if op == "Sigmoid":
            return jax.nn.sigmoid(ins[0])
        if op == "MaxPool":
            kh, kw = a["kernel_shape"]
            sh, sw = a.get("strides", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            return lax.reduce_window(ins[0], -jnp.inf, lax.max, (1, 1, kh, kw), (1, 1, sh, sw),
                                     ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
        if op == "Resize":
            scales = np.asarray(ins[2]) if len(ins) > 2 and ins[2] is not None else None
            if (a.get("mode", b"nearest") != b"nearest" or scales is None or
                    np.any(scales != np.round(scales)) or np.any(scales[:2] != 1)):
                raise ModelToolError(f"{n.name}: only nearest Resize by whole spatial scales is supported")
            return jnp.repeat(jnp.repeat(ins[0], int(scales[2]), axis=2), int(scales[3]), axis=3)
        if op == "Concat":
            return jnp.concatenate(ins, axis=a["axis"])
        if op == "Add":
            return ins[0] + ins[1]
        if op == "Mul":
            return ins[0] * ins[1]
        return ins[0]  # Identity

    def export(self, params: dict[str, Any]) -> onnx.ModelProto:
        m = onnx.ModelProto()
        m.CopyFrom(self.model)
        for t in m.graph.initializer:
            if t.name in params:
                t.CopyFrom(numpy_helper.from_array(np.asarray(params[t.name], np.float32), t.name))
        return m


def yolo_loss(card: dict[str, Any], outputs: Sequence[str],
              temperature: float) -> Callable[[list[Any], list[Any]], Any]:
    """Detection distillation loss over the card's YOLO heads (graph outputs in `outputs` order)."""
    jax, jnp = _jax()
    per_head = {h["name"]: len(h["anchors"]) for h in card["decoder"]["outputs"]}
    missing = [o for o in outputs if o not in per_head]
    if missing:
        raise ModelToolError(f"the card names no YOLO head for the outputs {', '.join(missing)}")
    anchors = [per_head[o] for o in outputs]
    t = float(temperature)

    def kl(logit: Any, target_logit: Any) -> Any:
        """Binary KL(teacher || student) of sigmoid(logit / T), times T^2: 0 where they agree."""
        p = jax.nn.sigmoid(target_logit / t)
        ls, lt = logit / t, target_logit / t
        bce_s = jnp.maximum(ls, 0) - ls * p + jnp.log1p(jnp.exp(-jnp.abs(ls)))
        bce_t = jnp.maximum(lt, 0) - lt * p + jnp.log1p(jnp.exp(-jnp.abs(lt)))
        return (bce_s - bce_t) * t * t

    def loss(student: list[Any], teacher: list[Any]) -> Any:
        total = 0.0
        for s, q, na in zip(student, teacher, anchors, strict=True):
            n, c, h, w = s.shape
            s = s.reshape(n, na, c // na, h, w)
            q = q.reshape(n, na, c // na, h, w)
            # Cells where the teacher sees an object are a few in thousands: objectness is averaged
            # over them and over the empty cells apart (soft weights), so that the empty cells
            # cannot outvote them.
            pos = jax.nn.sigmoid(q[:, :, 4])
            obj = kl(s[:, :, 4], q[:, :, 4])
            total += jnp.sum(obj * pos) / (jnp.sum(pos) + 1e-6) + jnp.sum(obj * (1 - pos)) / (
                jnp.sum(1 - pos) + 1e-6)
            weight = pos[:, :, None]
            cls = kl(s[:, :, 5:], q[:, :, 5:])
            total += jnp.sum(cls * weight) / (jnp.sum(weight) * (c // na - 5) + 1e-6)
            xy = (jax.nn.sigmoid(s[:, :, 0:2]) - jax.nn.sigmoid(q[:, :, 0:2])) ** 2
            wh = (s[:, :, 2:4] - q[:, :, 2:4]) ** 2
            total += jnp.sum((xy + wh) * weight) / (jnp.sum(weight) * 4 + 1e-6)
        return total

    return loss


def mse_loss(student: list[Any], teacher: list[Any]) -> Any:
    _, jnp = _jax()
    return sum(jnp.mean((s - q) ** 2) for s, q in zip(student, teacher, strict=True))


@dataclass
class DistillResult:
    steps: int
    seconds: float
    heldout_loss_start: float
    heldout_loss_end: float
    train_loss: list[float] = field(default_factory=list)
    resumed_from: int = 0
    backend: str = ""
    fit: RefitResult | None = None  # the feature fit before training, when there was one
    heldout_loss_fitted: float | None = None


def _frames(sources: Sequence[str | Path], count: int, spec: dict[str, Any]) -> np.ndarray:
    from .calibrate import preprocess, read_frames

    per = max(1, math.ceil(count / len(sources)))
    out = []
    for src in sources:
        p = Path(src)
        if p.is_dir() or p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
            frames = read_frames(p, count=per)
        else:
            import cv2

            cap = cv2.VideoCapture(str(p))
            total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
            cap.release()
            if total <= 0:
                raise ModelToolError(f"{p}: cannot read a frame count (not a video?)")
            step = max(1, total // per)
            frames = read_frames(p, count=min(per, total), step=step)
        out.extend(preprocess(f, spec)[0] for f in frames)
    if len(out) < 2:
        raise ModelToolError("distillation needs at least 2 frames (training and held out)")
    return np.stack(out[:count]).astype(np.float32)


def _crops(x: np.ndarray, size: tuple[int, int], per_frame: int, rng: np.random.Generator) -> np.ndarray:
    """``per_frame`` crops (w, h) = ``size`` of each NCHW frame, frame by frame, at random offsets
    on a 32-pixel grid (the coarsest YOLO stride: the crop's cells line up with the frame's)."""
    n, c, h, w = x.shape
    cw, ch = size
    out = np.empty((n * per_frame, c, ch, cw), dtype=x.dtype)
    for i in range(n):
        for j in range(per_frame):
            oy = int(rng.integers(0, (h - ch) // 32 + 1)) * 32
            ox = int(rng.integers(0, (w - cw) // 32 + 1)) * 32
            out[i * per_frame + j] = x[i, :, oy:oy + ch, ox:ox + cw]
    return out


def _save(path: Path, meta: dict[str, Any], params: dict[str, Any], state: list[Any]) -> None:
    """A checkpoint as plain arrays (npz, no pickle: loading one runs no code)."""
    arrays = {f"p/{k}": np.asarray(v) for k, v in params.items()}
    arrays.update({f"s/{i}": np.asarray(v) for i, v in enumerate(state)})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _load(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], list[np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            params = {k[2:]: z[k] for k in z.files if k.startswith("p/")}
            state = [z[f"s/{i}"] for i in range(sum(k.startswith("s/") for k in z.files))]
    except (OSError, ValueError, KeyError) as e:
        raise ModelToolError(f"{path}: not a distill checkpoint ({e})") from None
    return meta, params, state


def distill(student: str | Path, dst: str | Path, *, teacher: str | Path, frames: Sequence[str | Path],
            count: int = 64, heldout: float = 0.125, steps: int = 1000, budget_min: float = 30.0,
            batch: int = 4, lr: float = 3e-4, temperature: float = 2.0, seed: int = 0,
            checkpoint: str | Path | None = None, checkpoint_every: int = 50, resume: bool = False,
            input_size: tuple[int, int] | None = None, crop: tuple[int, int] | None = None,
            crops_per_frame: int = 2, fit: bool = True, fit_count: int = 48,
            progress: bool = True, compile_cache: bool = True) -> DistillResult:
    """Train ``student`` against ``teacher`` and write it to ``dst`` with the teacher's card.

    A student written by prune is first refitted to the teacher's features (``refit``, on
    ``fit_count`` frames at the card's input size) unless ``fit`` is off or a run resumes.

    ``input_size`` (w, h) resizes the frames to that size; ``crop`` (w, h) instead cuts
    ``crops_per_frame`` crops of that size from each frame at the card's size, so that objects
    keep the size they will have when the student is deployed (give one or neither)."""
    jax, jnp = _jax()
    import optax

    if compile_cache:
        _use_compile_cache(jax)
    student, dst, teacher = Path(student), Path(dst), Path(teacher)
    card_path = teacher.with_suffix(".json")
    if not card_path.is_file():
        raise ModelToolError(f"{teacher.name}: its card {card_path.name} is missing")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    spec = dict(card["input"])
    if input_size and crop:
        raise ModelToolError("give input_size (resize) or crop, not both")
    if input_size:
        spec["width"], spec["height"] = input_size
    # Multiples of 32: YOLO's routes join maps of strides 16 and 32, which must line up.
    limits = (spec["width"], spec["height"])
    if (crop and not all(0 < v <= lim and v % 32 == 0 for v, lim in zip(crop, limits, strict=True))) or \
            crops_per_frame < 1:
        raise ModelToolError(f"crop must fit the card's input size {spec['width']}x{spec['height']} in "
                             f"multiples of 32 (got {crop[0]}x{crop[1]}), and crops per frame be at least 1"
                             if crop else "crops per frame must be at least 1")
    if not 0 < heldout < 1 or batch < 1 or steps < 0 or budget_min <= 0 or temperature <= 0 or \
            fit_count < 1:
        raise ModelToolError("heldout must be in (0, 1); batch, budget, temperature and fit frames positive; "
                             "steps not negative")
    model = load_model(student)
    fn = OnnxFunction(model)
    ckpt = Path(checkpoint) if checkpoint else dst.with_suffix(".ckpt")
    saved = None
    if resume:  # checked before any frame is read or step compiled
        if not ckpt.is_file():
            raise ModelToolError(f"--resume: no checkpoint at {ckpt}")
        saved = _load(ckpt)
        if saved[0].get("student") != student.name or sorted(saved[1]) != sorted(fn.params):
            raise ModelToolError(f"{ckpt}: the checkpoint is for another student")
    t_sess = ort_session(str(teacher), threads=2, what=teacher.name)
    x = _frames(frames, count, spec)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_hold = max(1, round(len(x) * heldout))
    hold, train = order[:n_hold], order[n_hold:]
    if len(train) == 0:
        raise ModelToolError("no training frames left after the held-out share")
    if crop:  # frames are split first: crops of one frame never sit on both sides
        x = _crops(x, crop, crops_per_frame, np.random.default_rng([seed, 1]))
        k = crops_per_frame
        hold, train = (np.concatenate([i * k + np.arange(k) for i in part]) for part in (hold, train))
    t_name = t_sess.get_inputs()[0].name
    targets = [t_sess.run(None, {t_name: x[i:i + 1]}) for i in range(len(x))]
    t_out = [np.concatenate([t[k] for t in targets]) for k in range(len(targets[0]))]
    # eval_shape traces without running: an eager call would compile every op on its own.
    shapes = [tuple(o.shape[1:]) for o in jax.eval_shape(fn, fn.params, x[:1])]
    if [tuple(o.shape[1:]) for o in t_out] != shapes:
        raise ModelToolError("the student's outputs do not have the teacher's shapes")
    yolo = isinstance(card.get("decoder"), dict) and card["decoder"].get("type") == "yolo_darknet"
    loss_fn = yolo_loss(card, fn.outputs, temperature) if yolo else mse_loss

    evals: dict[int, Any] = {}  # one compiled held-out loss per student graph

    def heldout_loss(f: OnnxFunction, p: Any) -> float:
        ev = evals.setdefault(id(f), jax.jit(lambda p, xb, tb: loss_fn(f(p, xb), tb)))
        return float(np.mean([float(ev(p, x[i:i + 1], [o[i:i + 1] for o in t_out])) for i in hold]))

    start_loss = heldout_loss(fn, fn.params)
    fitted = None
    if fit and not resume and kept_channels(model):
        from .refit import refit_model

        xf = _frames(frames, fit_count, dict(card["input"]))
        model, fitted = refit_model(model, teacher, xf, seed=seed, progress=progress)
        del xf
        fn = OnnxFunction(model)

    def objective(params: Any, xb: Any, tb: list[Any]) -> Any:
        return loss_fn(fn(params, xb), tb)

    # eps well above float noise: at the teacher the gradient is ~0, and Adam would turn that
    # noise into full-size steps of random sign.
    opt = optax.adam(lr, eps=1e-6)
    params = {k: jnp.asarray(v) for k, v in fn.params.items()}
    state = opt.init(params)
    start_step = 0
    if saved is not None:
        meta, saved_params, saved_state = saved
        params = {k: jnp.asarray(v) for k, v in saved_params.items()}
        state = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(state),
                                             [jnp.asarray(v) for v in saved_state])
        start_step = int(meta["step"])
        rng.bit_generator.state = meta["rng"]

    @jax.jit
    def step_fn(params: Any, state: Any, xb: Any, tb: list[Any]) -> tuple[Any, Any, Any]:
        value, grads = jax.value_and_grad(objective)(params, xb, tb)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    res = DistillResult(steps=start_step, seconds=0.0, heldout_loss_start=start_loss, heldout_loss_end=0.0,
                        resumed_from=start_step, backend=jax.default_backend(), fit=fitted)
    if fitted:
        res.heldout_loss_fitted = heldout_loss(fn, params)

    def save_checkpoint(step: int) -> None:
        _save(ckpt, {"student": student.name, "step": step, "rng": rng.bit_generator.state}, params,
              jax.tree_util.tree_leaves(state))

    from tqdm import tqdm

    t0 = time.monotonic()
    deadline = t0 + budget_min * 60
    bar = tqdm(total=steps, initial=start_step, unit="step", disable=not progress, desc="distill")
    step = start_step
    while step < steps and time.monotonic() < deadline:
        idx = rng.choice(train, size=min(batch, len(train)), replace=False)
        params, state, value = step_fn(params, state, x[idx], [o[idx] for o in t_out])
        step += 1
        res.train_loss.append(float(value))
        bar.set_postfix(loss=f"{float(value):.4f}")
        bar.update(1)
        if checkpoint_every and step % checkpoint_every == 0:
            save_checkpoint(step)
    bar.close()
    save_checkpoint(step)
    res.steps, res.seconds = step, time.monotonic() - t0
    res.heldout_loss_end = heldout_loss(fn, params)
    out = fn.export({k: np.asarray(v) for k, v in params.items()})
    onnx.checker.check_model(out)
    write_model_with_card(dst, out.SerializeToString(), card)
    return res


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    w, sep, h = text.partition("x")
    if not (sep and w.isdigit() and h.isdigit()):
        raise ModelToolError(f"a size is WxH (e.g. 416x320), got {text[:40]!r}")
    return int(w), int(h)


def main(argv: Sequence[str] | None = None, prog: str = "vasdk model distill") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Distil a teacher into a (pruned) student on "
                                "unlabelled frames; writes the student as ONNX with the card.")
    p.add_argument("student", type=Path, help="student ONNX (e.g. from vasdk model prune)")
    p.add_argument("dst", type=Path, help="trained student to write (.onnx; its card beside it)")
    p.add_argument("--teacher", type=Path, required=True, help="teacher ONNX with its card")
    p.add_argument("--frames", nargs="+", required=True, help="videos, image folders or images")
    p.add_argument("--count", type=int, default=64, help="frames sampled from the sources (default 64)")
    p.add_argument("--heldout", type=float, default=0.125, help="share of frames held out (default 0.125)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--budget", type=float, default=30.0, help="minutes (default 30)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    size_how = p.add_mutually_exclusive_group()
    size_how.add_argument("--input-size", help="train on frames resized to WxH instead of the card's size "
                          "(faster; objects shrink)")
    size_how.add_argument("--crop", help="train on WxH crops of frames at the card's size (faster; objects "
                          "keep their deployed size)")
    p.add_argument("--crops", type=int, default=2, help="crops per frame with --crop (default 2)")
    p.add_argument("--no-fit", action="store_true", help="skip the least-squares feature fit of a pruned "
                   "student before training")
    p.add_argument("--fit-frames", type=int, default=48, help="frames for the feature fit, card size "
                   "(default 48)")
    p.add_argument("--checkpoint", type=Path, help="checkpoint file (default DST with .ckpt)")
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--no-compile-cache", action="store_true",
                   help=f"do not keep compiled training steps in {compile_cache_dir()}")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    try:
        size, crop = _size(args.input_size), _size(args.crop)
        res = distill(args.student, args.dst, teacher=args.teacher, frames=args.frames, count=args.count,
                      heldout=args.heldout, steps=args.steps, budget_min=args.budget, batch=args.batch,
                      lr=args.lr, temperature=args.temperature, seed=args.seed, checkpoint=args.checkpoint,
                      checkpoint_every=args.checkpoint_every, resume=args.resume, input_size=size,
                      crop=crop, crops_per_frame=args.crops, fit=not args.no_fit, fit_count=args.fit_frames,
                      progress=not args.quiet,
                      compile_cache=not args.no_compile_cache)
    except (ModelToolError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    if res.fit:
        print(res.fit.table())
        print(f"feature fit in {res.fit.seconds:.0f} s; held-out loss {res.heldout_loss_start:.4f} -> "
              f"{res.heldout_loss_fitted:.4f}")
    print(f"{res.steps} steps in {res.seconds:.0f} s on {res.backend}; held-out loss "
          f"{res.heldout_loss_start:.4f} -> {res.heldout_loss_end:.4f}; wrote {args.dst}")
    return 0
