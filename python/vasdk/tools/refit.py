"""Feature fit: a pruned student's convolutions refitted to its teacher's features by least squares.

Pruning a filter takes away its whole output, including its mean: a leaky-ReLU channel with a
folded bias adds a near-constant to every layer that reads it, and that constant is gone. Without
a correction yolov3-tiny pruned by 25% finds no persons at all. Gradient descent on the detection
outputs recovers that slowly; a closed-form fit does it in one pass, as in channel-pruning
reconstruction (He et al., 2017; ThiNet): walking the student graph in order, each convolution is
solved by ridge least squares so that, *from the student's own input* (with every earlier layer
already refitted, so errors do not pile up), its outputs match the teacher's outputs of the same
filters (before the activation), bias included. The YOLO heads, kept whole by prune, are fitted to
the teacher's raw head outputs: that is output distillation in closed form.

The pairing of student channels with teacher channels comes from the record prune writes in the
model's metadata (``prune.KEPT_KEY``). Frames are unlabelled (videos, image folders, images), at
the card's input size by default: feature statistics depend on scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .onnxutil import ModelToolError, load_model, ort_session
from .prune import kept_channels

__all__ = ["FitLayer", "RefitResult", "refit_model"]


@dataclass
class FitLayer:
    name: str
    error_before: float  # relative L2 error of the layer's output against the teacher's
    error_after: float


@dataclass
class RefitResult:
    layers: list[FitLayer] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        rows = [f"{'layer':<16} {'rel. error before':>18} {'after':>8}"]
        rows += [f"{x.name:<16} {x.error_before:>18.3f} {x.error_after:>8.3f}" for x in self.layers]
        return "\n".join(rows)


def _conv_geometry(n: onnx.NodeProto, w: np.ndarray) -> tuple[int, int, int, int, list[int]]:
    a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])) or w.ndim != 4:
        raise ModelToolError(f"{n.name or n.output[0]}: feature fit takes plain 2-D convolutions only")
    kh, kw = w.shape[2:]
    sh, sw = a.get("strides", [1, 1])
    return kh, kw, sh, sw, list(a.get("pads", [0, 0, 0, 0]))


def _patches(x: np.ndarray, where: tuple[np.ndarray, np.ndarray, np.ndarray], kh: int, kw: int, sh: int,
             sw: int, pads: list[int]) -> np.ndarray:
    """Rows of the convolution's input window at output positions (frame, y, x): (rows, C*kh*kw)."""
    f, oy, ox = where
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    c = np.arange(x.shape[1])
    ys = oy[:, None] * sh + np.arange(kh)[None, :]
    xs = ox[:, None] * sw + np.arange(kw)[None, :]
    p = xp[f[:, None, None, None], c[None, :, None, None], ys[:, None, :, None], xs[:, None, None, :]]
    return p.reshape(len(f), -1)


def refit_model(student: onnx.ModelProto, teacher: str | Path, x: np.ndarray, *, rows: int = 24000,
                ridge: float = 0.1, seed: int = 0, progress: bool = False) -> tuple[onnx.ModelProto,
                                                                                      RefitResult]:
    """``student`` with every convolution refitted on the frames ``x`` (N, C, H, W, preprocessed
    as the card says). Raises ModelToolError when the student carries no record of kept channels."""
    import time

    from tqdm import tqdm

    from .distill import OnnxFunction

    t0 = time.monotonic()
    kept = kept_channels(student)
    if not kept:
        raise ModelToolError(f"the student has no {json.dumps('vasdk.kept_channels')} record: feature fit "
                             "needs a model written by vasdk model prune")
    fn = OnnxFunction(student)
    init = {**fn.consts, **fn.params}
    convs = [n for n in student.graph.node if n.op_type == "Conv"]
    if any(len(n.input) < 3 or n.input[1] not in init or n.input[2] not in init for n in convs):
        raise ModelToolError("feature fit needs constant convolution weights and biases")

    # Teacher: outputs of the same convolutions (matched by output name), only at sampled places.
    tm = load_model(teacher)
    t_convs = {n.output[0] for n in tm.graph.node if n.op_type == "Conv"}
    missing = [n.output[0] for n in convs if n.output[0] not in t_convs]
    if missing:
        raise ModelToolError(f"the teacher has no convolution output named {', '.join(missing)}")
    have = {o.name for o in tm.graph.output}
    tm.graph.output.extend(helper.make_tensor_value_info(n.output[0], onnx.TensorProto.FLOAT, None)
                           for n in convs if n.output[0] not in have)
    sess = ort_session(tm.SerializeToString(), threads=2, what="teacher")
    names = [o.name for o in sess.get_outputs()]
    in_name = sess.get_inputs()[0].name
    rng = np.random.default_rng(seed)
    where: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    target: dict[str, list[np.ndarray]] = {n.output[0]: [] for n in convs}
    per_frame = max(1, math.ceil(rows / len(x)))
    for i in tqdm(range(len(x)), desc="teacher features", unit="frame", disable=not progress, leave=False):
        outs = dict(zip(names, sess.run(names, {in_name: x[i:i + 1]}), strict=True))
        for n in convs:
            t = n.output[0]
            y = outs[t][0]
            if t not in where:
                h, w = y.shape[1:]
                # The same places in every frame keeps the gather simple; they are random per layer.
                flat = rng.choice(h * w, size=min(per_frame, h * w), replace=False)
                where[t] = (np.zeros(0, int), flat // w, flat % w)
            _, oy, ox = where[t]
            idx = np.asarray(kept.get(t, np.arange(y.shape[0])))
            target[t].append(y[idx][:, oy, ox].T)
    res = RefitResult()
    env: dict[str, Any] = {fn.input: x}
    uses: dict[str, int] = {}
    for n in student.graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    outputs = set(fn.outputs)
    for n in tqdm(student.graph.node, desc="feature fit", unit="node", disable=not progress, leave=False):
        ins = [env[i] if i in env else init.get(i) if i else None for i in n.input]
        if n.op_type == "Conv":
            t = n.output[0]
            w = np.asarray(init[n.input[1]], np.float32)
            b = np.asarray(init[n.input[2]], np.float32)
            kh, kw, sh, sw, pads = _conv_geometry(n, w)
            _, oy, ox = where[t]
            f = np.repeat(np.arange(len(x)), len(oy))
            a = _patches(np.asarray(env[n.input[0]]), (f, np.tile(oy, len(x)), np.tile(ox, len(x))), kh, kw,
                         sh, sw, pads)
            a1 = np.concatenate([a, np.ones((len(a), 1), np.float32)], axis=1)
            del a
            y = np.concatenate(target.pop(t))
            old = np.concatenate([w.reshape(w.shape[0], -1), b[:, None]], axis=1).T
            resid = y - a1 @ old
            gram = (a1.T @ a1).astype(np.float64)
            lam = ridge * float(np.mean(np.diag(gram)[:-1]))
            reg = np.full(len(gram), lam)
            reg[-1] = 0.0  # the bias is not shrunk
            # Solved as a correction of the pruned weights: the ridge pulls towards them, not to zero.
            delta = np.linalg.solve(gram + np.diag(reg), (a1.T @ resid).astype(np.float64))
            new = (old + delta).astype(np.float32)
            norm = float(np.linalg.norm(y)) or 1.0
            res.layers.append(FitLayer(n.name or t, float(np.linalg.norm(resid)) / norm,
                                       float(np.linalg.norm(a1 @ new - y)) / norm))
            init[n.input[1]] = new[:-1].T.reshape(w.shape)
            init[n.input[2]] = new[-1]
            ins = [ins[0], init[n.input[1]], init[n.input[2]]]
        env[n.output[0]] = np.asarray(OnnxFunction.node(n, ins))
        for i in n.input:
            uses[i] = uses.get(i, 1) - 1
            if uses[i] == 0 and i in env and i not in outputs and i != fn.input:
                del env[i]
    fitted = {i for n in convs for i in n.input[1:3]}
    out = onnx.ModelProto()
    out.CopyFrom(student)
    for t in out.graph.initializer:
        if t.name in fitted:
            t.CopyFrom(numpy_helper.from_array(np.asarray(init[t.name], np.float32), t.name))
    res.seconds = time.monotonic() - t0
    return out, res
