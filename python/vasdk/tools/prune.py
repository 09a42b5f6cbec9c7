"""Structured (filter) pruning of an ONNX model into a smaller dense model.

Each prunable convolution keeps its most important filters (L1 or L2 norm of the filter, the
|scale| of a BatchNormalization right after it, or the first-order Taylor estimate of how much
the model's own outputs change without it, measured on frames: ``--importance taylor --frames``,
see ``taylor.py``), and every layer that reads those channels loses
the matching input channels. Channels are followed through the graph, so that layers stay
consistent: through channel-wise ops (activations, pooling, resizing) they pass unchanged, a
Concat along channels offsets each input's kept channels, and a convolution reading the result
drops the input channels that are gone. A convolution whose output reaches anything else (an Add,
a Reshape, a graph output such as a YOLO head) is not pruned, so the heads keep their layout and
the model card and decoders still apply. The result is an ordinary ONNX model with fewer
filters: `vasdk detect`, the pipeline and `model quantize` take it as it is.

Ratios are per layer: one ``--ratio`` for every prunable layer, or a JSON file of
``{"layer name": ratio}`` (``--ratios``). Kept counts are rounded up to a multiple of
``--round`` (8 by default: SIMD kernels run full vectors). Without fine-tuning, accuracy drops:
distillation (``vasdk model distill``) is the step that recovers it.

    vasdk model prune yolov3-tiny.onnx yolov3-tiny.p30.onnx --ratio 0.3
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .cards import write_model_with_card
from .onnxutil import ModelToolError, load_model, parameter_count

__all__ = ["CHANNELWISE", "KEPT_KEY", "PruneResult", "kept_channels", "main", "prunable_convs", "prune"]

# Metadata key: for each pruned convolution's output, the original filters it keeps (JSON), so
# that later steps (distill's feature fit) can pair the student's channels with the teacher's.
KEPT_KEY = "vasdk.kept_channels"

# Ops whose output channel c depends only on input channel c (first input; others constant).
CHANNELWISE = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Clip", "Elu",
               "Selu", "MaxPool", "AveragePool", "Resize", "Upsample", "Identity", "Dropout"}
IMPORTANCE = ("l1", "l2", "bn", "taylor")


@dataclass
class LayerPrune:
    name: str
    filters: int
    kept: int


@dataclass
class PruneResult:
    layers: list[LayerPrune]
    skipped: dict[str, str]  # convolution -> why it was not pruned
    params_before: int
    params_after: int
    conv_flops_before: int
    conv_flops_after: int
    extra: dict = field(default_factory=dict)

    def table(self) -> str:
        rows = [f"{'layer':<16} {'filters':>8} {'kept':>6}"]
        rows += [f"{p.name:<16} {p.filters:>8} {p.kept:>6}" for p in self.layers]
        rows += [f"{name:<16} {'-':>8} {'-':>6}  kept whole: {why}" for name, why in self.skipped.items()]
        rows.append(f"parameters {self.params_before / 1e6:.2f} M -> {self.params_after / 1e6:.2f} M; conv "
                    f"FLOPs {self.conv_flops_before / 1e9:.2f} G -> {self.conv_flops_after / 1e9:.2f} G "
                    f"({self.conv_flops_after / max(self.conv_flops_before, 1):.2f}x)")
        return "\n".join(rows)


def kept_channels(model: onnx.ModelProto) -> dict[str, list[int]]:
    """{convolution output: original channel indices} recorded by prune ({} when none)."""
    for p in model.metadata_props:
        if p.key == KEPT_KEY:
            try:
                data = json.loads(p.value)
            except json.JSONDecodeError as e:
                raise ModelToolError(f"metadata {KEPT_KEY} is not JSON ({e})") from None
            if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
                raise ModelToolError(f"metadata {KEPT_KEY}: expected an object of index lists")
            return {str(k): [int(i) for i in v] for k, v in data.items()}
    return {}


def _consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        for i in n.input:
            out.setdefault(i, []).append(n)
    return out


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def prunable_convs(model: onnx.ModelProto) -> tuple[list[onnx.NodeProto], dict[str, str]]:
    """The convolutions whose filters can go, and why each other one cannot."""
    init = {t.name for t in model.graph.initializer}
    outputs = {o.name for o in model.graph.output}
    cons = _consumers(model)
    ok, skipped = [], {}

    def why_not(tensor: str, seen: set[str]) -> str:
        """Why channels of `tensor` cannot be dropped ('' when they can)."""
        if tensor in outputs:
            return f"reaches the graph output {tensor}"
        if tensor in seen:
            return ""
        seen.add(tensor)
        for n in cons.get(tensor, []):
            if n.op_type == "Conv" and n.input[0] == tensor and _attrs(n).get("group", 1) == 1 and \
                    n.input[1] in init:
                continue
            passes = (n.op_type in CHANNELWISE and n.input[0] == tensor) or (
                n.op_type == "Concat" and _attrs(n).get("axis") == 1)
            reason = why_not(n.output[0], seen) if passes else f"read by {n.op_type} {n.name or n.output[0]}"
            if reason:
                return reason
        return ""

    for n in model.graph.node:
        if n.op_type != "Conv":
            continue
        name = n.name or n.output[0]
        if n.input[1] not in init or _attrs(n).get("group", 1) != 1:
            skipped[name] = "grouped or non-constant weights"
            continue
        reason = why_not(n.output[0], set())
        if reason:
            skipped[name] = reason
        else:
            ok.append(n)
    return ok, skipped


def _importance(model: onnx.ModelProto, conv: onnx.NodeProto, w: np.ndarray, how: str) -> np.ndarray:
    if how == "l1":
        return np.abs(w).reshape(w.shape[0], -1).sum(axis=1)
    if how == "l2":
        return np.sqrt((w.astype(np.float64) ** 2).reshape(w.shape[0], -1).sum(axis=1))
    init = {t.name: t for t in model.graph.initializer}
    for n in _consumers(model).get(conv.output[0], []):
        if n.op_type == "BatchNormalization" and n.input[1] in init:
            return np.abs(numpy_helper.to_array(init[n.input[1]]))
    raise ModelToolError(f"importance 'bn': convolution {conv.name or conv.output[0]} is not followed "
                         "by a BatchNormalization (folded models: use l1 or l2)")


def _channels(model: onnx.ModelProto) -> dict[str, int]:
    """Channel count (dim 1) of every tensor whose shape inference knows it."""
    inferred = onnx.shape_inference.infer_shapes(model)
    out = {}
    for v in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = v.type.tensor_type.shape.dim
        if len(dims) >= 2 and dims[1].dim_value > 0:
            out[v.name] = dims[1].dim_value
    return out


def _conv_flops(model: onnx.ModelProto, width: int, height: int) -> int:
    from .lowrank import conv_layers

    return sum(p.flops for p in conv_layers(model, width, height, svd=False))


def prune(src: str | Path, dst: str | Path, *, ratio: float | None = None,
          ratios: Mapping[str, float] | None = None, importance: str = "l1", round_to: int = 8,
          width: int = 0, height: int = 0, frames: Sequence[str | Path] = (), count: int = 8) -> PruneResult:
    """Write ``src`` with filters pruned to ``dst`` (and its card). Raises ModelToolError on bad
    input, and then writes nothing. Taylor importance reads ``count`` frames of ``frames``
    (videos, image folders or images) at the card's input size."""
    src, dst = Path(src), Path(dst)
    if importance not in IMPORTANCE:
        raise ModelToolError(f"importance must be one of {', '.join(IMPORTANCE)}, got {importance!r}")
    if (ratio is None) == (ratios is None):
        raise ModelToolError("give one of ratio or ratios")
    if round_to < 1:
        raise ModelToolError(f"round must be at least 1, got {round_to}")
    if importance == "taylor" and (not frames or count < 2):
        raise ModelToolError("importance 'taylor' needs frames (videos, image folders or images) and a "
                             "count of at least 2")
    model = load_model(src)
    convs, skipped = prunable_convs(model)
    names = {c.name or c.output[0] for c in convs}
    per_layer = dict.fromkeys(names, ratio) if ratio is not None else dict(ratios or {})
    unknown = set(per_layer) - names - set(skipped)
    if unknown:
        raise ModelToolError(f"ratios name no convolution of the model: {', '.join(sorted(unknown))}")
    for name, r in per_layer.items():
        if name in skipped and r:
            raise ModelToolError(f"{name} cannot be pruned: it is {skipped[name]}")
        if not 0 <= r < 1:
            raise ModelToolError(f"ratio for {name} must be in [0, 1), got {r}")
    card_path = src.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else None
    if not width or not height:
        spec = (card or {}).get("input", {})
        width, height = int(spec.get("width", 0)), int(spec.get("height", 0))

    taylor: dict[str, np.ndarray] = {}
    if importance == "taylor":
        from .taylor import frames_for, taylor_importance

        if card is None:
            raise ModelToolError(f"importance 'taylor': {card_path.name} is missing (the frames' "
                                 "preprocessing comes from the card)")
        pruned = [c for c in convs if per_layer.get(c.name or c.output[0], 0) > 0]
        taylor = taylor_importance(model, pruned, frames_for(frames, count, dict(card["input"])), card)

    out = onnx.ModelProto()
    out.CopyFrom(model)
    init = {t.name: t for t in out.graph.initializer}
    channels = _channels(out)
    kept: dict[str, np.ndarray] = {}  # tensor -> original channel indices it keeps
    layers = []
    for n in out.graph.node:
        name = n.name or n.output[0]
        if n.op_type == "Conv" and n.input[1] in init:
            w = numpy_helper.to_array(init[n.input[1]])
            if n.input[0] in kept:  # its input lost channels
                w = w[:, kept[n.input[0]]]
            r = per_layer.get(name, 0.0) if name in names else 0.0
            if r > 0:
                full = numpy_helper.to_array(init[n.input[1]])
                score = taylor[name] if taylor else _importance(out, n, full, importance)
                k = min(w.shape[0], max(1, math.ceil(w.shape[0] * (1 - r) / round_to) * round_to))
                keep = np.sort(np.argsort(-score, kind="stable")[:k])
                w = w[keep]
                if len(n.input) > 2 and n.input[2] in init:
                    b = numpy_helper.to_array(init[n.input[2]])[keep]
                    init[n.input[2]].CopyFrom(numpy_helper.from_array(b, n.input[2]))
                kept[n.output[0]] = keep
                layers.append(LayerPrune(name, int(score.shape[0]), int(k)))
            init[n.input[1]].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w), n.input[1]))
        elif n.op_type in CHANNELWISE and n.input and n.input[0] in kept:
            kept[n.output[0]] = kept[n.input[0]]
        elif n.op_type == "BatchNormalization" and n.input[0] in kept:
            for i in n.input[1:5]:
                v = numpy_helper.to_array(init[i])[kept[n.input[0]]]
                init[i].CopyFrom(numpy_helper.from_array(v, i))
            kept[n.output[0]] = kept[n.input[0]]
        elif n.op_type == "Concat" and any(i in kept for i in n.input):
            parts, offset = [], 0
            for i in n.input:
                if i not in channels:
                    raise ModelToolError(f"{name}: the channel count of {i} is unknown to shape inference")
                parts.append(kept.get(i, np.arange(channels[i])) + offset)
                offset += channels[i]
            kept[n.output[0]] = np.concatenate(parts)
    # Shapes recorded in the graph are stale now: let consumers infer them again.
    del out.graph.value_info[:]
    # Composed with an earlier prune's record, indices stay those of the original model.
    before = kept_channels(model)
    record = {}
    for n in out.graph.node:
        if n.op_type != "Conv":
            continue
        t = n.output[0]
        idx = kept.get(t, np.arange(numpy_helper.to_array(init[n.input[1]]).shape[0]))
        record[t] = (np.asarray(before[t])[idx] if t in before else idx).tolist()
    props = [p for p in out.metadata_props if p.key != KEPT_KEY]
    del out.metadata_props[:]
    out.metadata_props.extend(props)
    out.metadata_props.add(key=KEPT_KEY, value=json.dumps(record, separators=(",", ":")))
    onnx.checker.check_model(out)
    flops_before = _conv_flops(model, width, height) if width and height else 0
    flops_after = _conv_flops(out, width, height) if width and height else 0
    res = PruneResult(layers, skipped, parameter_count(model), parameter_count(out), flops_before,
                      flops_after)
    write_model_with_card(dst, out.SerializeToString(), card)
    return res


def main(argv: Sequence[str] | None = None, prog: str = "vasdk model prune") -> int:
    p = argparse.ArgumentParser(prog=prog,
                                description="Structured filter pruning into a smaller dense model.")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--ratio", type=float, help="share of filters to remove from every prunable conv")
    how.add_argument("--ratios", type=Path, help='JSON file {"layer": ratio, ...}')
    p.add_argument("--importance", choices=IMPORTANCE, default="l1",
                   help="filter importance: l1 or l2 norm, bn (|scale| of the BatchNormalization "
                   "after it), or taylor (first-order change of the model's outputs; needs --frames)")
    p.add_argument("--frames", nargs="+", default=[], help="videos, image folders or images (taylor)")
    p.add_argument("--count", type=int, default=8, help="frames read for taylor (default 8)")
    p.add_argument("--round", type=int, default=8, help="kept filters rounded up to a multiple of this")
    args = p.parse_args(argv)
    try:
        ratios = None
        if args.ratios:
            ratios = json.loads(args.ratios.read_text())
            if not isinstance(ratios, dict):
                raise ModelToolError(f"{args.ratios}: expected a JSON object of layer: ratio")
        res = prune(args.src, args.dst, ratio=args.ratio, ratios=ratios, importance=args.importance,
                    round_to=args.round, frames=args.frames, count=args.count)
    except (ModelToolError, OSError, json.JSONDecodeError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    print(res.table())
    return 0
