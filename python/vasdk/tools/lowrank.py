"""Low-rank factorisation of a model's heaviest convolutions (truncated SVD).

A convolution with weights W (Cout x Cin x K x K) is the product of two smaller ones: W,
flattened to Cout x (Cin K K), is U S V^T, and keeping the r largest singular values gives a
K x K convolution with r filters (the rows of V^T, same stride, padding and dilation) followed by
a 1 x 1 convolution with Cout filters (U S, and the original bias). It costs r (Cin K K + Cout)
multiply-adds per output pixel instead of Cout Cin K K, so it pays when r is well below
Cout Cin K K / (Cin K K + Cout). The graph's inputs, outputs and every other node are unchanged:
the card still applies, and `vasdk detect`, the pipeline and `model quantize` take the result.

The rank of each layer is the smallest that keeps ``--energy`` of its squared singular values,
or, with ``--flops-ratio``, one energy for all layers found by bisection so that the model's
convolution FLOPs fall to that share. Layers are taken heaviest first (FLOPs at the card's input
size) while their share of the model's FLOPs is at least ``--min-share``; a layer whose rank
saves less than ``--min-saving`` of its FLOPs is left as it is. Without fine-tuning, accuracy
drops with the energy: ``vasdk model distill`` is the step that recovers it.

    vasdk model lowrank yolov3-tiny.onnx yolov3-tiny.lr.onnx --energy 0.9
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .cards import write_model_with_card
from .onnxutil import ModelToolError, load_model, parameter_count

__all__ = ["LayerPlan", "LowRankResult", "conv_layers", "factorize", "main"]


@dataclass
class LayerPlan:
    """One convolution: its cost at the input size, and the rank chosen for it (0: kept)."""

    name: str
    weight: str
    cout: int
    fan_in: int  # Cin K K / groups
    pixels: int  # output pixels at the input size
    singular: np.ndarray = field(repr=False)
    rank: int = 0
    energy: float = 1.0

    @property
    def flops(self) -> int:
        return self.cout * self.fan_in * self.pixels

    def flops_at(self, rank: int) -> int:
        return rank * (self.fan_in + self.cout) * self.pixels if rank else self.flops

    def rank_for(self, energy: float) -> int:
        e = np.cumsum(self.singular.astype(np.float64) ** 2)
        return int(np.searchsorted(e / e[-1], min(energy, 1.0) - 1e-12) + 1)


@dataclass
class LowRankResult:
    layers: list[LayerPlan]
    conv_flops_before: int
    conv_flops_after: int
    params_before: int
    params_after: int
    max_abs_diff: float = 0.0
    rel_l2: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        head = ("layer", "Cout", "fan-in", "rank", "energy", "MFLOPs", "after")
        rows = ["{:<16} {:>5} {:>6} {:>5} {:>7} {:>9} {:>9}".format(*head)]
        for p in self.layers:
            rows.append(f"{p.name:<16} {p.cout:>5} {p.fan_in:>6} {p.rank or '-':>5} "
                        f"{p.energy:>7.3f} {p.flops / 1e6:>9.1f} {p.flops_at(p.rank) / 1e6:>9.1f}")
        rows.append(f"conv FLOPs {self.conv_flops_before / 1e9:.2f} G -> {self.conv_flops_after / 1e9:.2f} G "
                    f"({self.conv_flops_after / self.conv_flops_before:.2f}x); parameters "
                    f"{self.params_before / 1e6:.2f} M -> {self.params_after / 1e6:.2f} M; outputs on a "
                    f"random input: max |diff| {self.max_abs_diff:.4g}, relative L2 {self.rel_l2:.4g}")
        return "\n".join(rows)


def _fixed_input(model: onnx.ModelProto, width: int, height: int) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    channels = dims[1].dim_value if len(dims) > 1 and dims[1].dim_value > 0 else 3
    for d, v in zip(dims, (1, channels, height, width), strict=False):
        d.ClearField("dim_param")
        d.dim_value = v
    return m


def conv_layers(model: onnx.ModelProto, width: int, height: int, *, svd: bool = True) -> list[LayerPlan]:
    """Every factorisable convolution (group 1, weights an initializer), heaviest first; without
    ``svd`` the singular values are left empty (for counting FLOPs only)."""
    inferred = onnx.shape_inference.infer_shapes(_fixed_input(model, width, height))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    init = {t.name: t for t in model.graph.initializer}
    plans = []
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in init:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("group", 1) != 1:
            continue
        w = numpy_helper.to_array(init[node.input[1]])
        out = shapes.get(node.output[0], [])
        if w.ndim != 4 or len(out) != 4 or min(out) <= 0:
            continue
        cout, fan_in = w.shape[0], int(np.prod(w.shape[1:]))
        s = (np.linalg.svd(w.reshape(cout, fan_in).astype(np.float64), compute_uv=False) if svd
             else np.zeros(0))
        plans.append(LayerPlan(node.name or node.output[0], node.input[1], cout, fan_in,
                               out[2] * out[3], s))
    return sorted(plans, key=lambda p: -p.flops)


def _choose(plans: list[LayerPlan], energy: float, min_share: float, min_saving: float) -> None:
    total = sum(p.flops for p in plans)
    for p in plans:
        p.rank, p.energy = 0, 1.0
        if p.flops < min_share * total:
            continue
        r = p.rank_for(energy)
        if p.flops_at(r) <= (1 - min_saving) * p.flops:
            p.rank = r
            e = p.singular.astype(np.float64) ** 2
            p.energy = float(e[:r].sum() / e.sum())


def _rewrite(model: onnx.ModelProto, plans: list[LayerPlan]) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    init = {t.name: t for t in m.graph.initializer}
    by_weight = {p.weight: p for p in plans if p.rank}
    nodes = []
    for node in m.graph.node:
        plan = by_weight.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if plan is None:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(init[node.input[1]]).astype(np.float64)
        u, s, vt = np.linalg.svd(w.reshape(plan.cout, plan.fan_in), full_matrices=False)
        r = plan.rank
        # sqrt(S) on both sides keeps the two factors' scales alike (better for int8 later).
        root = np.sqrt(s[:r])
        first = (vt[:r] * root[:, None]).reshape((r, *w.shape[1:])).astype(np.float32)
        second = (u[:, :r] * root[None, :]).reshape(plan.cout, r, 1, 1).astype(np.float32)
        base = node.name or node.output[0]
        f_name, s_name, mid = f"{base}.lr_first", f"{base}.lr_second", f"{base}.lr_mid"
        m.graph.initializer.extend([numpy_helper.from_array(first, f_name),
                                    numpy_helper.from_array(second, s_name)])
        conv1 = helper.make_node("Conv", [node.input[0], f_name], [mid], name=f"{base}.lr1")
        conv1.attribute.extend(a for a in node.attribute if a.name != "group")
        inputs2 = [mid, s_name, *node.input[2:3]]
        conv2 = helper.make_node("Conv", inputs2, list(node.output), name=f"{base}.lr2",
                                 kernel_shape=[1, 1])
        nodes.extend([conv1, conv2])
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    used = {i for n in m.graph.node for i in n.input}
    keep = [t for t in m.graph.initializer if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    onnx.checker.check_model(m)
    return m


def _compare(a: onnx.ModelProto, b: onnx.ModelProto, width: int, height: int) -> tuple[float, float]:
    from .onnxutil import ort_session

    sa = ort_session(a.SerializeToString(), what="original")
    sb = ort_session(b.SerializeToString(), what="factorised")
    name, shape = sa.get_inputs()[0].name, sa.get_inputs()[0].shape
    channels = shape[1] if len(shape) > 1 and isinstance(shape[1], int) else 3
    x = np.random.default_rng(0).random((1, channels, height, width), dtype=np.float32)
    oa, ob = sa.run(None, {name: x}), sb.run(None, {name: x})
    diff = max(float(np.max(np.abs(p - q))) for p, q in zip(oa, ob, strict=True))
    num = sum(float(np.sum((p - q) ** 2)) for p, q in zip(oa, ob, strict=True))
    den = sum(float(np.sum(p**2)) for p in oa) or 1.0
    return diff, (num / den) ** 0.5


def factorize(src: str | Path, dst: str | Path, *, energy: float | None = None,
              flops_ratio: float | None = None, min_share: float = 0.05,
              min_saving: float = 0.1, width: int = 0, height: int = 0) -> LowRankResult:
    """Write ``src`` with its heaviest convolutions factorised to ``dst`` (and its card).

    Give ``energy`` (0..1] or ``flops_ratio`` (0..1): the share of the convolution FLOPs to keep.
    Raises ModelToolError on bad input, and then writes nothing.
    """
    src, dst = Path(src), Path(dst)
    if (energy is None) == (flops_ratio is None):
        raise ModelToolError("give one of energy or flops_ratio")
    if energy is not None and not 0 < energy <= 1:
        raise ModelToolError(f"energy must be in (0, 1], got {energy}")
    if flops_ratio is not None and not 0 < flops_ratio < 1:
        raise ModelToolError(f"flops ratio must be in (0, 1), got {flops_ratio}")
    card_path = src.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else None
    if not width or not height:
        spec = (card or {}).get("input", {})
        width, height = int(spec.get("width", 0)), int(spec.get("height", 0))
    if width <= 0 or height <= 0:
        raise ModelToolError(f"{src.name}: no card with an input size beside it; give --input-size WxH")
    model = load_model(src)
    plans = conv_layers(model, width, height)
    if not plans:
        raise ModelToolError(f"{src.name}: no convolution with constant weights to factorise")
    before = sum(p.flops for p in plans)
    if energy is not None:
        _choose(plans, energy, min_share, min_saving)
    else:
        lo, hi = 0.0, 1.0  # the energy whose FLOPs meet the ratio: FLOPs grow with energy
        for _ in range(30):
            mid = (lo + hi) / 2
            _choose(plans, mid, min_share, min_saving)
            if sum(p.flops_at(p.rank) for p in plans) <= flops_ratio * before:
                lo = mid
            else:
                hi = mid
        _choose(plans, lo, min_share, min_saving)
        if sum(p.flops_at(p.rank) for p in plans) > flops_ratio * before:
            raise ModelToolError(f"{src.name}: no energy brings the convolutions to {flops_ratio:.2f} of "
                                 f"their FLOPs with min share {min_share} (lower --min-share)")
    out = _rewrite(model, plans)
    res = LowRankResult(plans, before, sum(p.flops_at(p.rank) for p in plans), parameter_count(model),
                        parameter_count(out))
    res.max_abs_diff, res.rel_l2 = _compare(model, out, width, height)
    write_model_with_card(dst, out.SerializeToString(), card)
    return res


def main(argv: Sequence[str] | None = None, prog: str = "vasdk model lowrank") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Factorise the heaviest convolutions with a "
                                "truncated SVD (a KxK conv of rank r, then a 1x1 conv).")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--energy", type=float, help="share of each layer's squared singular values to keep")
    how.add_argument("--flops-ratio", type=float, help="share of the convolution FLOPs to keep")
    p.add_argument("--min-share", type=float, default=0.05,
                   help="factorise layers holding at least this share of the FLOPs (default 0.05)")
    p.add_argument("--min-saving", type=float, default=0.1,
                   help="skip a layer whose rank saves less than this share of its FLOPs")
    p.add_argument("--input-size", help="WxH the FLOPs are counted at (default: the card's)")
    p.add_argument("--json", type=Path, help="write the per-layer plan and totals here")
    args = p.parse_args(argv)
    w = h = 0
    if args.input_size:
        ws, _, hs = args.input_size.partition("x")
        w, h = int(ws), int(hs)
    try:
        res = factorize(args.src, args.dst, energy=args.energy, flops_ratio=args.flops_ratio,
                        min_share=args.min_share, min_saving=args.min_saving, width=w, height=h)
    except (ModelToolError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    print(res.table())
    if args.json:
        doc = {"layers": [{"name": q.name, "cout": q.cout, "fan_in": q.fan_in, "rank": q.rank,
                           "energy": q.energy, "flops": q.flops, "flops_after": q.flops_at(q.rank)}
                          for q in res.layers],
               "conv_flops_before": res.conv_flops_before, "conv_flops_after": res.conv_flops_after,
               "params_before": res.params_before, "params_after": res.params_after,
               "max_abs_diff": res.max_abs_diff, "rel_l2": res.rel_l2}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0
