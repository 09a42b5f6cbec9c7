"""Model cards: the JSON file next to each ONNX model that tells the runtime how to feed it
and how to decode its outputs.

The C++ core parses these files, so the schema here is a contract: add keys freely, but do
not rename or drop the ones checked by :func:`validate_card`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import write_atomic

__all__ = [
    "DECODER_TYPES",
    "card_text",
    "centerface_card",
    "input_spec",
    "load_card",
    "validate_card",
    "write_card",
    "yolo_darknet_card",
]

DECODER_TYPES = ("yolo_darknet", "yolov5", "yolov8", "centerface")
_CENTERFACE_OUTPUTS = ("heatmap", "scale", "offset", "landmarks")


def input_spec(
    name: str,
    width: int,
    height: int,
    *,
    scale: float,
    color: str = "RGB",
    resize: str = "stretch",
    mean: Sequence[float] = (0, 0, 0),
    std: Sequence[float] = (1, 1, 1),
    pad_value: float = 0,
) -> dict[str, Any]:
    """Input block of a card. The model sees ``(pixel * scale - mean) / std``."""
    return {
        "name": name,
        "width": int(width),
        "height": int(height),
        "layout": "NCHW",
        "color": color,
        "resize": resize,
        "scale": scale,
        "mean": list(mean),
        "std": list(std),
        "pad_value": pad_value,
    }


def yolo_darknet_card(
    name: str,
    model_file: str,
    *,
    input_name: str,
    width: int,
    height: int,
    heads: Sequence[Mapping[str, Any]],
    classes: Sequence[str],
    score_threshold: float = 0.25,
    nms_iou: float = 0.45,
    precision: str = "fp32",
) -> dict[str, Any]:
    """Card for raw darknet YOLO heads; ``heads`` items hold name, stride and anchors."""
    outputs = [
        {
            "name": str(h["name"]),
            "stride": int(h["stride"]),
            "anchors": [[int(a[0]), int(a[1])] for a in h["anchors"]],
        }
        for h in heads
    ]
    return {
        "name": name,
        "model": model_file,
        "precision": precision,
        # darknet trains on plain resized RGB in 0..1 (no letterbox, no mean).
        "input": input_spec(input_name, width, height, scale=1.0 / 255.0),
        "decoder": {"type": "yolo_darknet", "outputs": outputs},
        "classes": list(classes),
        "score_threshold": score_threshold,
        "nms_iou": nms_iou,
    }


def centerface_card(
    model_file: str,
    *,
    input_name: str = "input.1",
    width: int = 640,
    height: int = 480,
    outputs: Mapping[str, str] | None = None,
    precision: str = "fp32",
) -> dict[str, Any]:
    """Card for CenterFace: RGB in 0..255, four maps at stride 4."""
    names = dict(
        outputs
        or {"heatmap": "537", "scale": "538", "offset": "539", "landmarks": "540"}
    )
    return {
        "name": "centerface",
        "model": model_file,
        "precision": precision,
        "input": input_spec(input_name, width, height, scale=1.0),
        "decoder": {"type": "centerface", "outputs": names, "stride": 4},
        "classes": ["face"],
        "score_threshold": 0.5,
        "nms_iou": 0.3,
    }


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(f"invalid model card: {what}")


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_card(card: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first field that breaks the schema the C++ reader expects."""
    _require(isinstance(card, Mapping), "top level must be an object")
    for key, typ in (
        ("name", str),
        ("model", str),
        ("precision", str),
        ("input", dict),
        ("decoder", dict),
        ("classes", list),
    ):
        _require(isinstance(card.get(key), typ), f"'{key}' must be {typ.__name__}")
    _require(
        card["precision"] in ("fp32", "fp16", "int8"),
        "'precision' must be fp32|fp16|int8",
    )
    _require(_is_num(card.get("score_threshold")), "'score_threshold' must be a number")
    _require(_is_num(card.get("nms_iou")), "'nms_iou' must be a number")
    _require(
        len(card["classes"]) > 0 and all(isinstance(c, str) for c in card["classes"]),
        "'classes' must be a non-empty list of strings",
    )

    inp = card["input"]
    _require(isinstance(inp.get("name"), str), "'input.name' must be a string")
    for key in ("width", "height"):
        v = inp.get(key)
        _require(
            isinstance(v, int) and not isinstance(v, bool) and v > 0,
            f"'input.{key}' must be a positive integer",
        )
    _require(inp.get("layout") == "NCHW", "'input.layout' must be NCHW")
    _require(inp.get("color") in ("RGB", "BGR"), "'input.color' must be RGB or BGR")
    _require(
        inp.get("resize") in ("stretch", "letterbox"),
        "'input.resize' must be stretch|letterbox",
    )
    _require(_is_num(inp.get("scale")), "'input.scale' must be a number")
    _require(_is_num(inp.get("pad_value")), "'input.pad_value' must be a number")
    for key in ("mean", "std"):
        v = inp.get(key)
        _require(
            isinstance(v, list) and len(v) == 3 and all(_is_num(x) for x in v),
            f"'input.{key}' must be 3 numbers",
        )
    _require(all(s != 0 for s in inp["std"]), "'input.std' must not contain 0")

    dec = card["decoder"]
    _require(
        dec.get("type") in DECODER_TYPES,
        f"'decoder.type' must be one of {DECODER_TYPES}",
    )
    if dec["type"] == "yolo_darknet":
        outs = dec.get("outputs")
        _require(
            isinstance(outs, list) and len(outs) > 0,
            "'decoder.outputs' must be a non-empty list",
        )
        for i, o in enumerate(outs):
            _require(
                isinstance(o, dict) and isinstance(o.get("name"), str),
                f"'decoder.outputs[{i}].name' must be a string",
            )
            s = o.get("stride")
            _require(
                isinstance(s, int) and not isinstance(s, bool) and s > 0,
                f"'decoder.outputs[{i}].stride' must be a positive integer",
            )
            anchors = o.get("anchors")
            _require(
                isinstance(anchors, list)
                and len(anchors) > 0
                and all(
                    isinstance(a, list) and len(a) == 2 and all(_is_num(x) for x in a)
                    for a in anchors
                ),
                f"'decoder.outputs[{i}].anchors' must be a list of [w, h]",
            )
    elif dec["type"] in ("yolov5", "yolov8"):
        outs = dec.get("outputs")
        _require(
            isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], dict)
            and set(outs[0]) == {"name"} and isinstance(outs[0]["name"], str),
            "'decoder.outputs' must hold exactly one {\"name\": ...} for yolov5/yolov8",
        )
    else:
        outs = dec.get("outputs")
        _require(
            isinstance(outs, dict)
            and all(isinstance(outs.get(k), str) for k in _CENTERFACE_OUTPUTS),
            f"'decoder.outputs' must map {_CENTERFACE_OUTPUTS} to tensor names",
        )
        s = dec.get("stride")
        _require(
            isinstance(s, int) and not isinstance(s, bool) and s > 0,
            "'decoder.stride' must be a positive integer",
        )


def _is_leaf(v: object) -> bool:
    return not isinstance(v, (dict, list))


def _format(v: object, depth: int) -> str:
    # Like json.dumps(indent=2), but short lists of scalars (anchors, mean, std) stay on one line.
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k))}: {_format(x, depth + 1)}"
            for k, x in v.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list):
        flat = all(
            _is_leaf(x) or (isinstance(x, list) and all(map(_is_leaf, x))) for x in v
        )
        one_line = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
        if flat and len(one_line) + len(inner) <= 100:
            return one_line
        if not v:
            return "[]"
        return (
            "[\n"
            + ",\n".join(inner + _format(x, depth + 1) for x in v)
            + "\n"
            + pad
            + "]"
        )
    return json.dumps(v, ensure_ascii=False)


def card_text(card: Mapping[str, Any]) -> str:
    """Stable, readable text form: same card, same bytes."""
    return _format(dict(card), 0) + "\n"


def write_card(path: Path, card: Mapping[str, Any]) -> Path:
    """Validate and write ``card`` atomically (temp file + rename)."""
    validate_card(card)
    path = Path(path)
    write_atomic([(path, card_text(card).encode("utf-8"))])
    return path


def load_card(path: Path) -> dict[str, Any]:
    """Read and validate a card."""
    card = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_card(card)
    return card
