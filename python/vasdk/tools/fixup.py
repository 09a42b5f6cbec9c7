"""ONNX fix-up passes for third-party models.

Exported models often carry the shapes they were traced with (CenterFace declares a fixed
10x3x32x32 input) and ONNX Runtime enforces declared input shapes. The passes here rewrite
the graph's interface without touching its weights or operators. Each pass returns a new
model and leaves its argument unchanged.

Usage::

    python -m vasdk.tools.fixup centerface centerface.onnx out/centerface.onnx
    python -m vasdk.tools.fixup dynamic in.onnx out.onnx --dim input.1=N,3,H,W
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import onnx

from . import write_atomic
from .cards import card_text, centerface_card, validate_card

__all__ = [
    "MAX_IR_VERSION",
    "drop_initializer_inputs",
    "fix_centerface",
    "main",
    "make_dynamic",
    "prune_initializers",
    "rename_io",
    "set_batch",
]

# IR versions newer than this are refused by older ONNX Runtime builds.
MAX_IR_VERSION = 8

Dim = int | str | None
CENTERFACE_OUTPUTS = {
    "heatmap": "537",
    "scale": "538",
    "offset": "539",
    "landmarks": "540",
}


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def _cap_ir(model: onnx.ModelProto) -> None:
    model.ir_version = min(model.ir_version, MAX_IR_VERSION)


def _initializer_names(graph: onnx.GraphProto) -> set[str]:
    return {t.name for t in graph.initializer} | {
        t.name for t in graph.sparse_initializer
    }


def _real_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    # IR < 4 models list every weight as a graph input too; those are not the interface.
    inits = _initializer_names(graph)
    return [v for v in graph.input if v.name not in inits]


def _set_dim(dim: onnx.TensorShapeProto.Dimension, value: Dim) -> None:
    if value is None:
        dim.Clear()  # unknown, neither fixed nor named
    elif isinstance(value, str):
        dim.dim_param = value
    else:
        dim.dim_value = int(value)


def _set_shape(value_info: onnx.ValueInfoProto, dims: Sequence[Dim]) -> None:
    shape = value_info.type.tensor_type.shape
    shape.ClearField("dim")
    for d in dims:
        _set_dim(shape.dim.add(), d)


def _shape(value_info: onnx.ValueInfoProto) -> list[Dim]:
    out: list[Dim] = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def make_dynamic(
    model: onnx.ModelProto,
    dims: Mapping[str, Sequence[Dim]] | None = None,
    *,
    outputs: Mapping[str, Sequence[Dim]] | None = None,
    batch: str = "N",
) -> onnx.ModelProto:
    """Replace fixed interface dims by symbolic ones.

    ``dims`` gives new shapes for named inputs; inputs not listed get ``batch`` as dim 0 and,
    when they are 4-D, ``H`` and ``W`` as dims 2 and 3. Outputs listed in ``outputs`` get those
    shapes; the others keep their channel dim, take dim 0 from the first input and get
    unknown spatial dims.
    Intermediate ``value_info`` shapes are dropped because they still hold the traced sizes.
    """
    m = _copy(model)
    g = m.graph
    dims = dict(dims or {})
    outputs = dict(outputs or {})
    known = {v.name for v in g.input} | {v.name for v in g.output}
    unknown = sorted((set(dims) | set(outputs)) - known)
    if unknown:
        raise ValueError(f"no graph input/output named {', '.join(unknown)}")
    out_batch: Dim = batch
    for k, v in enumerate(_real_inputs(g)):
        old = _shape(v)
        if v.name in dims:
            new = list(dims[v.name])
            if old and len(new) != len(old):
                raise ValueError(
                    f"input {v.name}: rank {len(old)} but {len(new)} dims given"
                )
        elif len(old) == 4:
            new = [batch, old[1], "H", "W"]
        else:
            new = [batch, *old[1:]] if old else old
        _set_shape(v, new)
        if k == 0 and new:
            out_batch = new[0]  # outputs follow the (first) input's batch
    for v in g.output:
        old = _shape(v)
        if v.name in outputs:
            new = list(outputs[v.name])
        elif old:
            new = [out_batch, *(old[1:2]), *([None] * (len(old) - 2))]
        else:
            new = old
        _set_shape(v, new)
    g.ClearField("value_info")
    _cap_ir(m)
    return m


def set_batch(model: onnx.ModelProto, n: int | str) -> onnx.ModelProto:
    """Set dim 0 of every graph input and output to ``n`` (a size or a symbolic name)."""
    m = _copy(model)
    for v in [*_real_inputs(m.graph), *m.graph.output]:
        shape = v.type.tensor_type.shape
        if len(shape.dim):
            _set_dim(shape.dim[0], n)
    m.graph.ClearField("value_info")
    _cap_ir(m)
    return m


def rename_io(model: onnx.ModelProto, mapping: Mapping[str, str]) -> onnx.ModelProto:
    """Rename graph inputs/outputs (and every reference to them)."""
    m = _copy(model)
    g = m.graph
    interface = {v.name for v in g.input} | {v.name for v in g.output}
    missing = sorted(set(mapping) - interface)
    if missing:
        raise ValueError(f"no graph input/output named {', '.join(missing)}")
    taken = interface | _initializer_names(g) | {o for n in g.node for o in n.output}
    for old, new in mapping.items():
        if new != old and new in taken:
            raise ValueError(f"cannot rename {old!r} to {new!r}: name already used")

    def ren(name: str) -> str:
        return mapping.get(name, name)

    for v in [*g.input, *g.output, *g.value_info]:
        v.name = ren(v.name)
    for t in g.initializer:
        t.name = ren(t.name)
    for node in g.node:
        node.input[:] = [ren(t) for t in node.input]
        node.output[:] = [ren(t) for t in node.output]
        # Subgraphs (If/Loop bodies) may capture outer names; plain vision models have none.
        if any(
            a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for a in node.attribute
        ):
            raise ValueError(
                f"node {node.name or node.op_type}: subgraphs are not supported"
            )
    _cap_ir(m)
    return m


def drop_initializer_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove weights from the graph inputs (IR >= 4), so runtimes may constant-fold them."""
    m = _copy(model)
    if m.ir_version < 4:
        return m
    keep = _real_inputs(m.graph)
    m.graph.ClearField("input")
    m.graph.input.extend(keep)
    return m


def prune_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop initializers no node reads (e.g. PyTorch's BatchNorm ``num_batches_tracked``)."""
    m = _copy(model)
    g = m.graph
    used = {t for n in g.node for t in n.input} | {v.name for v in g.output}
    dropped = {t.name for t in g.initializer if t.name not in used}
    keep = [t for t in g.initializer if t.name in used]
    g.ClearField("initializer")
    g.initializer.extend(keep)
    # IR < 4 models also list weights as inputs; those entries go with their initializer.
    inputs = [v for v in g.input if v.name not in dropped]
    g.ClearField("input")
    g.input.extend(inputs)
    return m


def fix_centerface(
    src: Path, dst: Path, *, width: int = 640, height: int = 480
) -> Path:
    """Make CenterFace's input ``N x 3 x H x W`` and write it with its card (``.json``).

    The card's width/height must be multiples of 32 (the backbone's total stride).
    """
    src, dst = Path(src), Path(dst)
    if width % 32 or height % 32:
        raise ValueError(
            f"CenterFace input {width}x{height}: both sides must be multiples of 32"
        )
    model = onnx.load(str(src))
    names = {v.name for v in model.graph.input} | {v.name for v in model.graph.output}
    expected = {"input.1", *CENTERFACE_OUTPUTS.values()}
    if not expected <= names:
        raise ValueError(
            f"{src.name}: not the expected CenterFace graph (missing {sorted(expected - names)})"
        )
    model = prune_initializers(drop_initializer_inputs(model))
    channels = {v.name: _shape(v)[1] for v in model.graph.output}
    model = make_dynamic(
        model,
        {"input.1": ["N", 3, "H", "W"]},
        outputs={
            name: ["N", channels[name], "H/4", "W/4"]
            for name in CENTERFACE_OUTPUTS.values()
        },
    )
    onnx.checker.check_model(model)
    card = centerface_card(
        dst.name, width=width, height=height, outputs=CENTERFACE_OUTPUTS
    )
    validate_card(card)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        [
            (dst, model.SerializeToString(deterministic=True)),
            (dst.with_suffix(".json"), card_text(card).encode("utf-8")),
        ]
    )
    return dst


def _dim_spec(text: str) -> tuple[str, list[Dim]]:
    name, sep, rest = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=D0,D1,..., got {text!r}")
    dims: list[Dim] = []
    for d in rest.split(","):
        d = d.strip()
        dims.append(int(d) if d.isdigit() else (d or None))
    return name, dims


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vasdk.tools.fixup", description="ONNX fix-up passes."
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    cf = sub.add_parser("centerface", help="dynamic-shape CenterFace + model card")
    cf.add_argument("src", type=Path)
    cf.add_argument("dst", type=Path)
    dy = sub.add_parser(
        "dynamic", help="make interface dims symbolic (also drops unused weights)"
    )
    dy.add_argument("src", type=Path)
    dy.add_argument("dst", type=Path)
    dy.add_argument(
        "--dim", type=_dim_spec, action="append", default=[], help="NAME=N,3,H,W"
    )
    args = p.parse_args(argv)
    try:
        if args.cmd == "centerface":
            out = fix_centerface(args.src, args.dst)
        else:
            model = drop_initializer_inputs(onnx.load(str(args.src)))
            model = make_dynamic(prune_initializers(model), dict(args.dim))
            onnx.checker.check_model(model)
            write_atomic([(args.dst, model.SerializeToString(deterministic=True))])
            out = args.dst
    except (ValueError, OSError, onnx.checker.ValidationError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
