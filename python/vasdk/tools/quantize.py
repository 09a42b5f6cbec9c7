"""Static post-training quantization to QDQ ONNX, with onnxruntime's quantization tools.

Pipeline (all in a staging folder beside the output, so a failure leaves no partial file):

1. load and check the float model; name unnamed nodes; check the card's input size against
   the model's declared input;
2. ``quant_pre_process`` (shape inference + basic graph optimization such as conv + bn fusion);
3. calibrate on preprocessed frames (:mod:`.calibrate`) with MinMax, Percentile or Entropy;
4. ``quantize_static`` to QDQ from those ranges: int8 weights per channel or per tensor,
   uint8 / int8 (w8a8) or int16 (w8a16) activations; the detection heads (the nodes that
   produce the graph outputs, back to their convolution) stay in float by default, because
   quantizing the raw box and score outputs costs 2-3 AP points;
5. optionally a per-layer sensitivity table (SQNR and cosine of each tensor, float model vs
   quantized model, on a few calibration frames);
6. offline optimization at ORT's extended level, which fuses the QDQ pairs into QLinearConv
   and friends (level ``all`` would write hardware-specific NCHWc layouts);
7. the model and a copy of the float card with ``"precision": "int8"`` are moved into place.

Usage::

    python -m vasdk.tools.quantize yolov3-tiny.onnx yolov3-tiny.int8.onnx \\
        --calib vtest.avi --count 32 --step 20 --method entropy

int16 activations (w8a16) run about 2x slower than FP32 on CPU (ORT runs them as
dequantize -> float conv -> quantize); use them for accuracy studies and NPU targets.

Targets (``--target``, :data:`TARGETS`) say which CPUs the model must stay accurate on:

- ``portable`` (default): int8 weights kept in 7 bits (onnxruntime's ``reduce_range``), so the
  u8s8 kernels of x86 CPUs without VNNI cannot saturate (2 * 255 * 64 < 32768). Accurate on
  AVX2-only x86, VNNI x86 and ARM64 alike.
- ``vnni``: full 8-bit weights, for x86 with AVX-512 VNNI or AVX-VNNI only; ``arm64``: full
  8-bit weights for ARM64. On an AVX2-only x86 CPU such a model loses detections (yolov3-tiny:
  agreement 0.629 against 0.982 for 7-bit weights on a Zen 3), and the engine logs a warning
  when it loads one there.

The target is recorded in the card (``"quantization": {"target": ...}``) and in the model's
``vasdk.quant_target`` metadata, which the engine reads. Why 7-bit weights rather than U8U8
(uint8 weights, the other scheme without saturation): on yolov3-tiny 768x576, one thread, an
AVX-512 VNNI Xeon, FP32 115 ms, 7-bit 61.5 ms (1.88x), full 8-bit 61.6 ms (1.87x), U8U8 160 ms
(0.72x, slower than FP32: onnxruntime has no fast U8U8 kernel on x86). 7-bit weights cost no
speed and, on yolov3-tiny and CenterFace, no measurable agreement (benchmarks/bench_quantize.py).

Presets (``--preset``, :data:`PRESETS`) pick which layers stay in float for a kind of model;
the other options refine them:

- ``default``: everything quantized except the detection heads. For YOLO-style models whose
  raw box and score outputs lose AP when quantized (yolov3-tiny).
- ``mobile``: the stem convolution (3 input channels) stays in float and the heads are
  quantized. For MobileNet-style detectors with heads that tolerate uint8, such as CenterFace:
  ORT runs an int8 convolution with 3 input channels slower than its float NCHWc kernel
  (2.7 ms vs 1.4 ms on CenterFace 640x480), and the float heads cost a dequantize per head.
  CenterFace 640x480 on one thread through the SDK's engine (benchmarks/bench_quantize.py):
  INT8 1.93x FP32 with this preset vs 1.64x with ``default``, agreement 1.000 for both. On
  yolov3-tiny it is slower than ``default`` (1.36x vs 1.94x), because its stem runs at full
  resolution.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx

from . import write_atomic
from .calibrate import METHODS, FrameDataReader, compute_ranges, preprocess, read_frames
from .cards import card_text, load_card
from .onnxutil import ModelToolError, load_model, name_nodes, op_counts, ort_session, staging_dir

__all__ = [
    "ACTIVATION_TYPES",
    "PRESETS",
    "TARGETS",
    "QuantizeConfig",
    "QuantizeResult",
    "first_conv_nodes",
    "head_nodes",
    "main",
    "quantize_model",
    "sensitivity",
]

ACTIVATION_TYPES = ("uint8", "int8", "int16")
QUANT_TARGET_KEY = "vasdk.quant_target"  # csrc/engine/model_scan.h kQuantTargetKey
_COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")

# Which CPUs the model must stay accurate on. x86 CPUs without VNNI (Zen 3 and older, most
# AVX2-only Intel parts) run ONNX Runtime's u8s8 kernels with vpmaddubsw, which sums pairs of
# uint8 x int8 products into a saturating int16: 2 * 255 * 127 overflows it, 2 * 255 * 64 does
# not. So the portable target keeps weights in 7 bits (-64..63); vnni and arm64 use the full
# 8 bits, accurate only where the kernels do not saturate (VNNI x86, ARM64's dot products).
# The measurements behind the choice are in the module doc.
TARGETS: dict[str, int] = {"portable": 7, "vnni": 8, "arm64": 8}

# Layer choices per kind of model (the module doc gives the measurements behind them).
PRESETS: dict[str, dict[str, bool]] = {
    "default": {"float_heads": True, "float_first": False},
    "mobile": {"float_heads": False, "float_first": True},
}


@dataclass
class QuantizeConfig:
    """How to quantize. Defaults: MinMax, per-channel int8 weights, uint8 activations, and the
    ``preset``'s layer choices (``default``: heads in float) for ``float_heads`` and
    ``float_first`` when they are left as None.
    """

    method: str = "minmax"
    per_channel: bool = True
    activation_type: str = "uint8"
    preset: str = "default"
    target: str = "portable"
    # "uint8" (U8U8) is the other scheme that avoids the saturation; kept for the benchmark's
    # comparison (module doc), not offered by the CLI.
    weights: str = "int8"
    float_heads: bool | None = None
    float_first: bool | None = None
    exclude_nodes: list[str] = field(default_factory=list)
    exclude_ops: list[str] = field(default_factory=list)
    percentile: float = 99.999
    num_bins: int = 2048
    num_quantized_bins: int = 128
    optimize: bool = True

    def __post_init__(self) -> None:
        for k, v in PRESETS.get(self.preset, {}).items():
            if getattr(self, k) is None:
                setattr(self, k, v)

    @property
    def weight_bits(self) -> int:
        return TARGETS[self.target]

    def check(self) -> None:
        if self.target not in TARGETS:
            raise ModelToolError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.weights not in ("int8", "uint8"):
            raise ModelToolError(f"weights must be int8 or uint8, got {self.weights!r}")
        if self.preset not in PRESETS:
            raise ModelToolError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.method not in METHODS:
            raise ModelToolError(
                f"calibration method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.activation_type not in ACTIVATION_TYPES:
            raise ModelToolError(
                f"activation type must be one of {', '.join(ACTIVATION_TYPES)}, got {self.activation_type!r}")
        if not 0 < self.percentile <= 100:
            raise ModelToolError(f"percentile must be in (0, 100], got {self.percentile}")


@dataclass
class QuantizeResult:
    """What :func:`quantize_model` wrote and how."""

    model: Path
    card: Path | None
    config: QuantizeConfig
    calibration_frames: int
    float_nodes: list[str]
    op_counts: dict[str, int]
    seconds: float
    sensitivity: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"], d["card"] = str(self.model), str(self.card) if self.card else None
        return d


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {o: n for n in graph.node for o in n.output}


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Nodes from each graph output back to (and including) the convolution that feeds it.

    For yolov3-tiny these are the two 1x1 head convolutions; for CenterFace the four head
    convolutions and the heatmap's Sigmoid.
    """
    prod = _producers(model.graph)
    out: list[str] = []
    for o in model.graph.output:
        node = prod.get(o.name)
        while node is not None:
            if node.name not in out:
                out.append(node.name)
            if node.op_type in _COMPUTE_OPS or not node.input:
                break
            node = prod.get(node.input[0])
    return out


def first_conv_nodes(model: onnx.ModelProto) -> list[str]:
    """The convolution(s) that read a graph input directly."""
    inputs = {i.name for i in model.graph.input}
    return [n.name for n in model.graph.node
            if n.op_type in _COMPUTE_OPS and n.input and n.input[0] in inputs]


def _input_spec_check(model: onnx.ModelProto, spec: dict[str, Any], what: str) -> str:
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ModelToolError(f"{what}: expected one image input, found {len(inputs)}")
    inp = inputs[0]
    if inp.name != spec["name"]:
        raise ModelToolError(f"{what}: card input '{spec['name']}' is not the model's input '{inp.name}'")
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ModelToolError(f"{what}: input '{inp.name}' has rank {len(dims)}, expected NCHW")
    want = {1: 3, 2: int(spec["height"]), 3: int(spec["width"])}
    for axis, v in want.items():
        if dims[axis].HasField("dim_value") and dims[axis].dim_value != v:
            shape = "x".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                             for d in dims)
            raise ModelToolError(
                f"{what}: mismatched input size: input '{inp.name}' is {shape} but the card and "
                f"calibration frames are 3x{spec['height']}x{spec['width']}")
    return inp.name


def _find_card(src: Path, card: str | os.PathLike[str] | None) -> tuple[dict[str, Any], Path]:
    path = Path(card) if card else src.with_suffix(".json")
    if not path.is_file():
        raise ModelToolError(f"{src.name}: no model card at {path} (pass card=...)")
    try:
        return load_card(path), path
    except (ValueError, OSError) as e:
        raise ModelToolError(f"{path}: {e}") from None


def sensitivity(float_model: str | os.PathLike[str], qdq_model: str | os.PathLike[str],
                blobs: Sequence[npt.NDArray[np.float32]], input_name: str,
                work_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Per-tensor SQNR (dB) and cosine similarity, float model vs QDQ model, in graph order.

    Errors accumulate through the network, so a sudden drop marks a sensitive layer.
    """
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        create_activation_matching,
        modify_model_output_intermediate_tensors,
    )

    work = Path(work_dir)
    acts = {}
    for tag, path in (("float", float_model), ("qdq", qdq_model)):
        aug = work / f"{tag}.debug.onnx"
        modify_model_output_intermediate_tensors(str(path), str(aug))
        acts[tag] = collect_activations(str(aug), FrameDataReader(input_name, blobs),
                                        execution_providers=["CPUExecutionProvider"])
    match = create_activation_matching(acts["qdq"], acts["float"])
    graph = onnx.load(str(float_model)).graph
    order = {o: k for k, n in enumerate(graph.node) for o in n.output}
    pairs = [(name, v["float"], v["post_qdq"]) for name, v in match.items()
             if "float" in v and v.get("post_qdq") is not None and name in order]
    # The graph outputs themselves (float heads stay unquantized but still carry the error).
    seen = {p[0] for p in pairs}
    pairs += [(o.name, acts["float"][o.name], acts["qdq"][o.name]) for o in graph.output
              if o.name not in seen and o.name in acts["float"] and o.name in acts["qdq"]]
    rows = []
    for name, fv, qv in pairs:
        f = np.concatenate([a.ravel() for a in fv]).astype(np.float64)
        q = np.concatenate([a.ravel() for a in qv]).astype(np.float64)
        noise = float(np.sum((f - q) ** 2))
        sqnr = float("inf") if noise == 0 else 10.0 * np.log10(float(np.sum(f * f)) / noise)
        denom = float(np.linalg.norm(f) * np.linalg.norm(q))
        cos = float(np.dot(f, q) / denom) if denom else 1.0
        rows.append({"tensor": name, "sqnr_db": round(sqnr, 2), "cosine": round(cos, 6),
                     "_k": order.get(name, len(order))})
    rows.sort(key=lambda r: r["_k"])
    for r in rows:
        del r["_k"]
    return rows


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _upgrade_opset(model: onnx.ModelProto, minimum: int, what: str) -> onnx.ModelProto:
    """Per-channel QDQ needs opset 13 (DequantizeLinear ``axis``), int16 QDQ needs opset 21."""
    if _opset(model) >= minimum:
        return model
    try:
        return onnx.version_converter.convert_version(model, minimum)
    except Exception as e:
        raise ModelToolError(f"{what}: cannot convert opset {_opset(model)} to {minimum}, which "
                             f"quantization needs ({type(e).__name__}: {e})") from None


def _pre_process(src: Path, dst: Path) -> None:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # It writes temporary files (sym_shape_infer_temp.onnx, *.data) into the current
    # directory, so run it from the staging folder that holds src.
    cwd = os.getcwd()
    os.chdir(src.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                quant_pre_process(str(src), str(dst))
            except Exception:
                # Symbolic shape inference gives up on some graphs; ONNX's own inference is enough.
                quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    finally:
        os.chdir(cwd)


def quantize_model(src: str | os.PathLike[str], dst: str | os.PathLike[str], frames: Sequence[Any],
                   config: QuantizeConfig | None = None, *, card: str | os.PathLike[str] | None = None,
                   sensitivity_frames: int = 0, progress: bool = False) -> QuantizeResult:
    """Quantize ``src`` to ``dst`` (QDQ, saved at ORT's extended level) plus ``dst``'s card.

    ``frames`` are BGR uint8 images (see :func:`.calibrate.read_frames`); they are preprocessed
    with the card of ``src`` (``card`` or the ``.json`` beside ``src``). Raises
    :class:`ModelToolError` on bad input and then writes nothing.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static, save_tensors_data

    cfg = config or QuantizeConfig()
    cfg.check()
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    model = load_model(src)
    card_doc, _ = _find_card(src, card)
    spec = card_doc["input"]
    input_name = _input_spec_check(model, spec, src.name)
    if not frames:
        raise ModelToolError(f"{src.name}: no calibration frames")
    name_nodes(model)
    model = _upgrade_opset(model, 21 if cfg.activation_type == "int16" else 13, src.name)

    exclude = list(cfg.exclude_nodes)
    names = {n.name for n in model.graph.node}
    unknown = [n for n in exclude if n not in names]
    if unknown:
        raise ModelToolError(f"{src.name}: no node named {', '.join(map(repr, unknown))} to keep in float")
    if cfg.float_heads:
        exclude += head_nodes(model)
    if cfg.float_first:
        exclude += first_conv_nodes(model)
    exclude += [n.name for n in model.graph.node if n.op_type in cfg.exclude_ops]
    exclude = list(dict.fromkeys(exclude))

    with staging_dir(dst) as work:
        named = work / "named.onnx"
        onnx.save(model, str(named))
        pre = work / "pre.onnx"
        _pre_process(named, pre)
        ort_session(str(pre), what=src.name)  # fails here, with the cause, on ops ORT cannot run

        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(frames), unit="frame", desc=f"calibrate {cfg.method}", leave=False)
        blobs = [preprocess(f, spec) for f in frames]
        reader = FrameDataReader(input_name, blobs, progress=bar)
        try:
            ranges = compute_ranges(pre, reader, cfg.method, work_dir=work, num_bins=cfg.num_bins,
                                    num_quantized_bins=cfg.num_quantized_bins, percentile=cfg.percentile)
        except ModelToolError:
            raise
        except Exception as e:
            raise ModelToolError(f"{src.name}: calibration failed ({type(e).__name__}: {e})") from None
        finally:
            if bar is not None:
                bar.close()
        cache = work / "ranges.json"
        save_tensors_data(ranges, cache)

        act = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8, "int16": QuantType.QInt16}
        qdq = work / "qdq.onnx"
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(
                str(pre), str(qdq), None,
                quant_format=QuantFormat.QDQ,
                per_channel=cfg.per_channel,
                reduce_range=cfg.weight_bits == 7,
                activation_type=act[cfg.activation_type],
                weight_type=QuantType.QInt8 if cfg.weights == "int8" else QuantType.QUInt8,
                nodes_to_exclude=exclude,
                calibrate_method=ranges.calibration_method,
                calibration_cache_path=str(cache),
                extra_options={"ActivationSymmetric": cfg.activation_type == "int16",
                               "WeightSymmetric": cfg.weights == "int8"},
            )
        rows: list[dict[str, Any]] = []
        if sensitivity_frames > 0:
            rows = sensitivity(pre, qdq, blobs[:sensitivity_frames], input_name, work)

        final = work / "final.onnx"
        if cfg.optimize:
            ort_session(str(qdq), level="extended", optimized_path=final, what=f"{src.name} quantized")
        else:
            shutil.copyfile(qdq, final)
        out_model = onnx.load(str(final))
        counts = op_counts(out_model)
        # The engine reads the target from the file itself and warns on a CPU that does not fit.
        del out_model.metadata_props[:]
        out_model.metadata_props.add(key=QUANT_TARGET_KEY, value=cfg.target)
        qcard = dict(card_doc)
        qcard["model"] = dst.name
        qcard["precision"] = "int8"
        qcard["quantization"] = {"target": cfg.target, "weight_bits": cfg.weight_bits,
                                 "activations": cfg.activation_type, "method": cfg.method}
        write_atomic([(dst, out_model.SerializeToString()),
                      (dst.with_suffix(".json"), card_text(qcard).encode("utf-8"))])
    return QuantizeResult(dst, dst.with_suffix(".json"), cfg, len(frames), exclude, counts,
                          time.perf_counter() - t0, rows)


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser(prog: str = "python -m vasdk.tools.quantize") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Static PTQ of an ONNX model to QDQ (int8 weights).")
    p.add_argument("src", type=Path, help="float ONNX model (its card .json beside it, or --card)")
    p.add_argument("dst", type=Path, help="quantized ONNX to write (card written beside it)")
    p.add_argument("--card", type=Path, help="model card of SRC (default: SRC with .json)")
    p.add_argument("--calib", type=Path, required=True, help="folder of images, an image, or a video")
    p.add_argument("--count", type=int, default=32, help="calibration frames (default 32)")
    p.add_argument("--start", type=int, default=0, help="first video frame (default 0)")
    p.add_argument("--step", type=int, default=10, help="take every STEP-th video frame (default 10)")
    p.add_argument("--method", choices=METHODS, default="minmax", help="calibration method (default minmax)")
    p.add_argument("--percentile", type=float, default=99.999, help="for --method percentile")
    p.add_argument("--activations", choices=ACTIVATION_TYPES, default="uint8",
                   help="activation type: uint8/int8 (w8a8) or int16 (w8a16) (default uint8)")
    p.add_argument("--preset", choices=list(PRESETS), default="default",
                   help="layer choices for a kind of model: default (heads in float; YOLO) or mobile "
                        "(stem conv in float, heads quantized; MobileNet-style such as CenterFace)")
    p.add_argument("--target", choices=list(TARGETS), default="portable",
                   help="CPUs the model must stay accurate on: portable (default; 7-bit weights, "
                        "any x86 or ARM64), vnni (full 8-bit weights; x86 with AVX-512 VNNI or "
                        "AVX-VNNI only), arm64 (full 8-bit weights; ARM64 only)")
    p.add_argument("--per-tensor", action="store_true", help="per-tensor weights (default per-channel)")
    heads = p.add_mutually_exclusive_group()
    heads.add_argument("--quantize-heads", dest="float_heads", action="store_false", default=None,
                       help="also quantize the detection heads (preset default: float)")
    heads.add_argument("--float-heads", dest="float_heads", action="store_true", default=None,
                       help="keep the detection heads in float (preset mobile: quantized)")
    first = p.add_mutually_exclusive_group()
    first.add_argument("--float-first", dest="float_first", action="store_true", default=None,
                       help="keep the first convolution in float (preset mobile does)")
    first.add_argument("--quantize-first", dest="float_first", action="store_false", default=None,
                       help="quantize the first convolution (preset default does)")
    p.add_argument("--exclude", type=_csv, default=[], help="comma-separated node names to keep in float")
    p.add_argument("--exclude-ops", type=_csv, default=[], help="comma-separated op types to keep in float")
    p.add_argument("--no-optimize", action="store_true", help="write the plain QDQ graph")
    p.add_argument("--sensitivity", type=int, default=0, metavar="N",
                   help="print per-layer SQNR/cosine on N calibration frames")
    p.add_argument("--json", type=Path, help="write the result (and sensitivity table) as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m vasdk.tools.quantize") -> int:
    args = build_parser(prog).parse_args(argv)
    cfg = QuantizeConfig(method=args.method, per_channel=not args.per_tensor,
                         activation_type=args.activations, preset=args.preset, target=args.target,
                         float_heads=args.float_heads, float_first=args.float_first,
                         exclude_nodes=args.exclude, exclude_ops=args.exclude_ops,
                         percentile=args.percentile, optimize=not args.no_optimize)
    try:
        cfg.check()
        frames = read_frames(args.calib, count=args.count, start=args.start, step=args.step)
        res = quantize_model(args.src, args.dst, frames, cfg, card=args.card,
                             sensitivity_frames=args.sensitivity,
                             progress=not args.quiet and sys.stderr.isatty())
    except ModelToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = sys.stdout
    out.write(f"wrote {res.model} and {res.card}\n")
    weights = "per-channel" if cfg.per_channel else "per-tensor"
    out.write(f"  target {cfg.target}, preset {cfg.preset}, {cfg.method}, "
              f"weights int8 ({cfg.weight_bits}-bit range) {weights}, "
              f"activations {cfg.activation_type}, {res.calibration_frames} calibration frames, "
              f"{res.seconds:.1f} s\n")
    out.write(f"  kept in float: {', '.join(res.float_nodes) or '(none)'}\n")
    out.write("  ops: " + ", ".join(f"{k} {v}" for k, v in res.op_counts.items()) + "\n")
    if res.sensitivity:
        out.write("\n  tensor                                  SQNR dB   cosine\n")
        for r in res.sensitivity:
            out.write(f"  {r['tensor'][:38]:38s} {r['sqnr_db']:8.2f} {r['cosine']:9.6f}\n")
    if args.json:
        write_atomic([(args.json, (json.dumps(res.to_json(), indent=2) + "\n").encode("utf-8"))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
