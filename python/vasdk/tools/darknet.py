"""Convert a darknet YOLO network (``.cfg`` + ``.weights``) to ONNX.

The graph ends at the raw YOLO heads: one output per ``[yolo]`` layer, named ``yolo_0``,
``yolo_1``, ... in cfg order, each ``[N, anchors * (5 + classes), H / stride, W / stride]``.
Box decoding and NMS are left to the runtime, which reads anchors and strides from the model
card written next to the ONNX file. Input is ``images``: RGB, scaled to 0..1, NCHW, with
dynamic batch, height and width. Preprocessing is not part of the graph.

Usage::

    python -m vasdk.tools.darknet yolov3-tiny.cfg yolov3-tiny.weights yolov3-tiny.onnx \\
        --names coco.names
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import write_atomic
from .cards import card_text, validate_card, yolo_darknet_card

__all__ = [
    "BN_EPS",
    "INPUT_NAME",
    "IR_VERSION",
    "OPSET",
    "DarknetModel",
    "Section",
    "build_model",
    "convert_darknet",
    "main",
    "parse_cfg",
]

OPSET = 13
# onnx >= 1.15 stamps IR versions that older ONNX Runtime builds refuse to load.
IR_VERSION = 8
INPUT_NAME = "images"
# Darknet divides by sqrt(var) + 1e-6; OpenCV's importer (our reference) uses sqrt(var + 1e-6).
# The two agree to well below float32 noise for every layer of the shipped weights.
BN_EPS = 1e-6
LEAKY_ALPHA = 0.1

_SUPPORTED = (
    "convolutional",
    "maxpool",
    "upsample",
    "route",
    "shortcut",
    "yolo",
    "dropout",
)


@dataclass
class Section:
    """One ``[kind]`` block of a cfg file."""

    kind: str
    line: int
    options: dict[str, str] = field(default_factory=dict)
    index: int = -1  # layer index as darknet counts it ([net] excluded)

    def where(self) -> str:
        return f"layer {self.index} [{self.kind}] (cfg line {self.line})"

    def _raw(self, key: str) -> str | None:
        return self.options.get(key)

    def get_int(self, key: str, default: int) -> int:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"{self.where()}: {key}={raw!r} is not an integer"
            ) from None

    def get_float(self, key: str, default: float) -> float:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{self.where()}: {key}={raw!r} is not a number") from None

    def get_str(self, key: str, default: str) -> str:
        raw = self._raw(key)
        return default if raw is None else raw

    def get_ints(self, key: str) -> list[int] | None:
        raw = self._raw(key)
        if raw is None:
            return None
        try:
            return [int(v) for v in raw.split(",") if v.strip()]
        except ValueError:
            raise ValueError(
                f"{self.where()}: {key}={raw!r} is not a list of integers"
            ) from None


def parse_cfg(path: Path) -> list[Section]:
    """Parse a darknet cfg into sections; the first one must be ``[net]``."""
    path = Path(path)
    sections: list[Section] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(
                    f"{path.name}:{lineno}: malformed section header {raw.strip()!r}"
                )
            sections.append(Section(line[1:-1].strip().lower(), lineno))
            continue
        if "=" not in line:
            raise ValueError(
                f"{path.name}:{lineno}: expected key=value, got {raw.strip()!r}"
            )
        if not sections:
            raise ValueError(f"{path.name}:{lineno}: option before the first [section]")
        key, value = line.split("=", 1)
        sections[-1].options[key.strip()] = value.strip()
    if not sections or sections[0].kind not in ("net", "network"):
        raise ValueError(f"{path.name}: the first section must be [net]")
    for i, sec in enumerate(sections[1:]):
        sec.index = i
    return sections


class _WeightsReader:
    """Sequential float32 reader that reports which layer ran out of data."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.buf = self.path.read_bytes()
        self.pos = 0
        if len(self.buf) < 16:
            raise ValueError(
                f"{self.path.name}: weights file is truncated: no complete header"
            )
        major, minor, revision = np.frombuffer(self.buf, dtype="<i4", count=3).tolist()
        self.version = (major, minor, revision)
        # Since darknet 0.2 the 'images seen' counter is 64-bit.
        self.pos = 12 + (8 if major * 10 + minor >= 2 else 4)

    def floats(self, count: int, what: str) -> np.ndarray:
        end = self.pos + 4 * count
        if end > len(self.buf):
            left = (len(self.buf) - self.pos) // 4
            raise ValueError(
                f"{self.path.name}: weights file is truncated: {what} needs {count} floats "
                f"at byte {self.pos}, only {left} left"
            )
        arr = np.frombuffer(self.buf, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return arr.astype(np.float64)

    def finish(self) -> None:
        left = len(self.buf) - self.pos
        if left:
            raise ValueError(
                f"{self.path.name}: {left} bytes left over after the last layer; "
                "the weights do not belong to this cfg"
            )


@dataclass
class _Out:
    tensor: str
    channels: int
    stride: Fraction  # input size / this layer's spatial size


@dataclass
class DarknetModel:
    """Result of :func:`build_model`."""

    model: onnx.ModelProto
    heads: list[dict[str, Any]]
    classes: int
    weights_version: tuple[int, int, int]


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(
            helper.make_node(op, list(inputs), [output], name=output, **attrs)
        )
        return output

    def activation(self, kind: str, x: str, base: str, sec: Section) -> str:
        if kind == "linear":
            return x
        if kind == "leaky":
            return self.node("LeakyRelu", [x], f"{base}.leaky", alpha=LEAKY_ALPHA)
        if kind == "relu":
            return self.node("Relu", [x], f"{base}.relu")
        if kind == "logistic":
            return self.node("Sigmoid", [x], f"{base}.sigmoid")
        if kind == "swish":
            s = self.node("Sigmoid", [x], f"{base}.sigmoid")
            return self.node("Mul", [x, s], f"{base}.swish")
        if kind == "mish":
            sp = self.node("Softplus", [x], f"{base}.softplus")
            t = self.node("Tanh", [sp], f"{base}.tanh")
            return self.node("Mul", [x, t], f"{base}.mish")
        raise ValueError(f"{sec.where()}: activation '{kind}' is not supported")


def _reject(sec: Section, key: str, default: str, why: str) -> None:
    # Options that change inference results; silently ignoring them would give wrong outputs.
    value = sec.options.get(key)
    if value is not None and value != default:
        raise ValueError(f"{sec.where()}: {key}={value} is not supported ({why})")


def _resolve(sec: Section, ref: int, n_layers: int) -> int:
    j = sec.index + ref if ref < 0 else ref
    if not 0 <= j < n_layers:
        raise ValueError(f"{sec.where()}: layer reference {ref} is out of range")
    return j


def build_model(cfg: Path, weights: Path) -> DarknetModel:
    """Build the ONNX graph for ``cfg`` with parameters from ``weights`` (BN folded into conv)."""
    cfg, weights = Path(cfg), Path(weights)
    sections = parse_cfg(cfg)
    net = sections[0]
    channels = net.get_int("channels", 3)
    reader = _WeightsReader(weights)
    g = _Builder()
    layers: list[_Out] = []
    heads: list[dict[str, Any]] = []

    for sec in sections[1:]:
        i = sec.index
        prev = layers[-1] if layers else _Out(INPUT_NAME, channels, Fraction(1))
        base = f"layer{i}"
        try:
            if sec.kind == "convolutional":
                out = _conv(g, reader, sec, prev, base)
            elif sec.kind == "maxpool":
                out = _maxpool(g, sec, prev, base)
            elif sec.kind == "upsample":
                out = _upsample(g, sec, prev, base)
            elif sec.kind == "route":
                out = _route(g, sec, layers, base)
            elif sec.kind == "shortcut":
                out = _shortcut(g, sec, prev, layers, base)
            elif sec.kind == "yolo":
                out = prev
                heads.append(_yolo(sec, prev, len(heads)))
            elif sec.kind == "dropout":
                out = prev  # identity at inference
            else:
                raise ValueError(
                    f"{sec.where()}: layer type [{sec.kind}] is not supported "
                    f"(supported: {', '.join(_SUPPORTED)})"
                )
        except ValueError as e:
            raise ValueError(f"{cfg.name}: {e}") from None
        layers.append(out)

    reader.finish()
    if not heads:
        raise ValueError(f"{cfg.name}: no [yolo] layer found")
    n_classes = {h["classes"] for h in heads}
    if len(n_classes) != 1:
        raise ValueError(
            f"{cfg.name}: [yolo] layers disagree on classes: {sorted(n_classes)}"
        )

    # Give each head its public name by renaming the tensor everywhere it appears.
    rename: dict[str, str] = {}
    for h in heads:
        if h["tensor"] in rename or h["tensor"] == INPUT_NAME:
            g.node("Identity", [h["tensor"]], h["name"])
        else:
            rename[h["tensor"]] = h["name"]
    for node in g.nodes:
        node.input[:] = [rename.get(t, t) for t in node.input]
        node.output[:] = [rename.get(t, t) for t in node.output]
        node.name = rename.get(node.name, node.name)

    inp = helper.make_tensor_value_info(
        INPUT_NAME, TensorProto.FLOAT, ["N", channels, "H", "W"]
    )
    outs = [
        helper.make_tensor_value_info(
            h["name"],
            TensorProto.FLOAT,
            ["N", h["channels"], f"H/{h['stride']}", f"W/{h['stride']}"],
        )
        for h in heads
    ]
    graph = helper.make_graph(g.nodes, cfg.stem, [inp], outs, initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="vasdk.tools.darknet",
        doc_string=f"darknet {cfg.name} + {weights.name}; outputs are raw YOLO heads",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    public = [
        {k: h[k] for k in ("name", "stride", "anchors", "classes", "channels")}
        for h in heads
    ]
    return DarknetModel(model, public, n_classes.pop(), reader.version)


def _conv(
    g: _Builder, reader: _WeightsReader, sec: Section, prev: _Out, base: str
) -> _Out:
    filters = sec.get_int("filters", 1)
    size = sec.get_int("size", 1)
    stride = sec.get_int("stride", 1)
    padding = size // 2 if sec.get_int("pad", 0) else sec.get_int("padding", 0)
    groups = sec.get_int("groups", 1)
    bn = sec.get_int("batch_normalize", 0)
    act = sec.get_str("activation", "logistic")  # darknet's default
    for key in ("stride_x", "stride_y"):
        _reject(sec, key, str(stride), "non-square strides")
    _reject(sec, "dilation", "1", "dilated convolution")
    _reject(sec, "binary", "0", "binary weights")
    _reject(sec, "xnor", "0", "XNOR layers")
    _reject(sec, "antialiasing", "0", "antialiasing")
    if filters < 1 or size < 1 or stride < 1 or groups < 1:
        raise ValueError(
            f"{sec.where()}: filters, size, stride and groups must be positive"
        )
    if prev.channels % groups or filters % groups:
        raise ValueError(
            f"{sec.where()}: channels {prev.channels} -> {filters} not divisible by groups={groups}"
        )
    cin = prev.channels // groups
    what = f"{sec.where()}"
    if bn:
        beta = reader.floats(filters, f"{what} bn biases")
        gamma = reader.floats(filters, f"{what} bn scales")
        mean = reader.floats(filters, f"{what} bn mean")
        var = reader.floats(filters, f"{what} bn variance")
    else:
        bias = reader.floats(filters, f"{what} biases")
    w = reader.floats(filters * cin * size * size, f"{what} weights").reshape(
        filters, cin, size, size
    )
    if bn:
        # Fold in float64 so the only rounding is the final cast to float32.
        k = gamma / np.sqrt(var + BN_EPS)
        w = w * k[:, None, None, None]
        bias = beta - mean * k
    wname = g.const(f"{base}.weight", w.astype(np.float32))
    bname = g.const(f"{base}.bias", bias.astype(np.float32))
    attrs: dict[str, Any] = {
        "kernel_shape": [size, size],
        "strides": [stride, stride],
        "pads": [padding] * 4,
    }
    if groups > 1:
        attrs["group"] = groups
    y = g.node("Conv", [prev.tensor, wname, bname], f"{base}.conv", **attrs)
    y = g.activation(act, y, base, sec)
    return _Out(y, filters, prev.stride * stride)


def _maxpool(g: _Builder, sec: Section, prev: _Out, base: str) -> _Out:
    stride = sec.get_int("stride", 1)
    size = sec.get_int("size", stride)
    padding = sec.get_int("padding", size - 1)
    for key in ("stride_x", "stride_y"):
        _reject(sec, key, str(stride), "non-square strides")
    _reject(sec, "maxpool_depth", "0", "channel-wise pooling")
    if size < 1 or stride < 1 or padding < 0:
        raise ValueError(f"{sec.where()}: size and stride must be positive")
    # Darknet shifts the window by -padding/2, so odd padding lands on the right/bottom
    # (size=2 stride=1 keeps the spatial size by padding only the far edges).
    begin, end = padding // 2, padding - padding // 2
    y = g.node(
        "MaxPool",
        [prev.tensor],
        f"{base}.maxpool",
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[begin, begin, end, end],
    )
    return _Out(y, prev.channels, prev.stride * stride)


def _upsample(g: _Builder, sec: Section, prev: _Out, base: str) -> _Out:
    stride = sec.get_int("stride", 2)
    scale = sec.get_float("scale", 1.0)
    if stride < 1:
        raise ValueError(
            f"{sec.where()}: stride={stride} (downsampling) is not supported"
        )
    scales = g.const(
        f"{base}.scales", np.array([1, 1, stride, stride], dtype=np.float32)
    )
    # asymmetric + floor is exact pixel replication for integer factors.
    y = g.node(
        "Resize",
        [prev.tensor, "", scales],
        f"{base}.upsample",
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )
    if scale != 1.0:
        k = g.const(f"{base}.scale", np.array(scale, dtype=np.float32))
        y = g.node("Mul", [y, k], f"{base}.mul")
    return _Out(y, prev.channels, prev.stride / stride)


def _route(g: _Builder, sec: Section, layers: list[_Out], base: str) -> _Out:
    refs = sec.get_ints("layers")
    if not refs:
        raise ValueError(f"{sec.where()}: 'layers' is missing")
    groups = sec.get_int("groups", 1)
    group_id = sec.get_int("group_id", 0)
    if groups < 1 or not 0 <= group_id < groups:
        raise ValueError(f"{sec.where()}: bad groups={groups} group_id={group_id}")
    parts: list[_Out] = []
    for n, ref in enumerate(refs):
        src = layers[_resolve(sec, ref, len(layers))]
        if groups > 1:
            if src.channels % groups:
                raise ValueError(
                    f"{sec.where()}: {src.channels} channels not divisible by groups={groups}"
                )
            c = src.channels // groups
            name = f"{base}.slice{n}"
            starts = g.const(f"{name}.starts", np.array([group_id * c], dtype=np.int64))
            ends = g.const(
                f"{name}.ends", np.array([(group_id + 1) * c], dtype=np.int64)
            )
            axes = g.const(f"{name}.axes", np.array([1], dtype=np.int64))
            src = _Out(
                g.node("Slice", [src.tensor, starts, ends, axes], name), c, src.stride
            )
        parts.append(src)
    if len({p.stride for p in parts}) != 1:
        raise ValueError(f"{sec.where()}: routed layers have different spatial sizes")
    if len(parts) == 1:
        return parts[0]
    y = g.node("Concat", [p.tensor for p in parts], f"{base}.concat", axis=1)
    return _Out(y, sum(p.channels for p in parts), parts[0].stride)


def _shortcut(
    g: _Builder, sec: Section, prev: _Out, layers: list[_Out], base: str
) -> _Out:
    refs = sec.get_ints("from")
    if not refs or len(refs) != 1:
        raise ValueError(f"{sec.where()}: exactly one 'from' layer is supported")
    _reject(sec, "weights_type", "none", "weighted shortcuts")
    src = layers[_resolve(sec, refs[0], len(layers))]
    if src.channels != prev.channels or src.stride != prev.stride:
        raise ValueError(f"{sec.where()}: shortcut between tensors of different shapes")
    y = g.node("Add", [prev.tensor, src.tensor], f"{base}.add")
    y = g.activation(sec.get_str("activation", "linear"), y, base, sec)
    return _Out(y, prev.channels, prev.stride)


def _yolo(sec: Section, prev: _Out, k: int) -> dict[str, Any]:
    anchors = sec.get_ints("anchors") or []
    if not anchors or len(anchors) % 2:
        raise ValueError(
            f"{sec.where()}: 'anchors' must be a non-empty list of w,h pairs"
        )
    pairs = [(anchors[j], anchors[j + 1]) for j in range(0, len(anchors), 2)]
    num = sec.get_int("num", len(pairs))
    mask = sec.get_ints("mask") or list(range(num))
    if any(not 0 <= m < len(pairs) for m in mask):
        raise ValueError(
            f"{sec.where()}: mask {mask} refers past the {len(pairs)} anchors"
        )
    classes = sec.get_int("classes", 20)
    # These change the box formula; the yolo_darknet decoder implements plain YOLOv3 only.
    if sec.get_float("scale_x_y", 1.0) != 1.0:
        raise ValueError(
            f"{sec.where()}: scale_x_y is not supported by the yolo_darknet decoder"
        )
    _reject(sec, "new_coords", "0", "the yolo_darknet decoder has no new_coords")
    expected = len(mask) * (5 + classes)
    if prev.channels != expected:
        raise ValueError(
            f"{sec.where()}: input has {prev.channels} channels, "
            f"{len(mask)} anchors x (5 + {classes}) = {expected} expected"
        )
    if prev.stride.denominator != 1:
        raise ValueError(f"{sec.where()}: head stride {prev.stride} is not an integer")
    return {
        "tensor": prev.tensor,
        "name": f"yolo_{k}",
        "stride": int(prev.stride),
        "anchors": [list(pairs[m]) for m in mask],
        "classes": classes,
        "channels": expected,
    }


def _read_names(path: Path) -> list[str]:
    return [
        s.strip()
        for s in Path(path).read_text(encoding="utf-8").splitlines()
        if s.strip()
    ]


def convert_darknet(
    cfg: Path,
    weights: Path,
    out: Path,
    names: Path | None = None,
    input_size: tuple[int, int] = (768, 576),
) -> Path:
    """Convert ``cfg`` + ``weights`` to ``out`` (ONNX) plus its card ``<out stem>.json``.

    ``input_size`` is (width, height) recorded in the card; the graph itself stays dynamic.
    Returns ``out``. Raises ValueError for unsupported cfgs and weights that do not match.
    """
    out = Path(out)
    width, height = (int(v) for v in input_size)
    built = build_model(cfg, weights)
    top = max(h["stride"] for h in built.heads)
    if width <= 0 or height <= 0 or width % top or height % top:
        raise ValueError(
            f"input size {width}x{height} must be a positive multiple of {top}"
        )
    if names is not None:
        classes = _read_names(names)
        if len(classes) != built.classes:
            raise ValueError(
                f"{Path(names).name}: {len(classes)} names for {built.classes} classes"
            )
    else:
        classes = [f"class{i}" for i in range(built.classes)]
    card = yolo_darknet_card(
        out.stem,
        out.name,
        input_name=INPUT_NAME,
        width=width,
        height=height,
        heads=built.heads,
        classes=classes,
    )
    validate_card(card)
    data = built.model.SerializeToString(deterministic=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        [(out, data), (out.with_suffix(".json"), card_text(card).encode("utf-8"))]
    )
    return out


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, got {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vasdk.tools.darknet",
        description="Convert a darknet YOLO cfg + weights to ONNX (raw heads) plus a model card.",
    )
    p.add_argument("cfg", type=Path)
    p.add_argument("weights", type=Path)
    p.add_argument(
        "out", type=Path, help="output .onnx; the card goes next to it as .json"
    )
    p.add_argument("--names", type=Path, help="class names, one per line")
    p.add_argument(
        "--size", type=_size, default=(768, 576), help="card input WIDTHxHEIGHT"
    )
    args = p.parse_args(argv)
    try:
        out = convert_darknet(args.cfg, args.weights, args.out, args.names, args.size)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
