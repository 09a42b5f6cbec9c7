"""Model cards: the JSON file next to each ONNX model that tells the runtime how to feed it
and how to decode its outputs.

The schema lives in one place, the C++ card reader (csrc/models/model_card.cpp and each decoder's
section reader in csrc/models/decoders/); :func:`validate_card` runs that reader through
``vasdk._core``, so the tools never write a card the runtime would refuse. This module only
builds and writes cards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import write_atomic

__all__ = [
    "card_text",
    "write_model_with_card",
    "centerface_card",
    "decoder_types",
    "input_spec",
    "load_card",
    "validate_card",
    "write_card",
    "yolo_darknet_card",
]


def decoder_types() -> list[str]:
    """The decoder types the runtime registers (csrc/models/decoders/), sorted."""
    from .. import _core  # only here and in validate_card: building cards needs no extension

    return list(_core.decoder_types())


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


def validate_card(card: Mapping[str, Any], origin: str = "<memory>") -> None:
    """Check ``card`` with the runtime's own reader.

    Raises :class:`vasdk.InvalidConfigError` (a ``ValueError``) naming the first field's full
    path, e.g. ``card.decoder.outputs[1].stride: expected an integer >= 1, got 0``.
    """
    from .. import _core

    _core.validate_model_card(json.dumps(card), origin)


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


def write_model_with_card(dst: Path, model: bytes, card: Mapping[str, Any] | None) -> None:
    """Write a derived model and, for an .onnx ``dst``, a copy of its source's card naming it,
    both or neither (the model tools' common last step)."""
    items = [(Path(dst), model)]
    if card is not None and Path(dst).suffix == ".onnx":
        named = {**card, "model": Path(dst).name}
        items.append((Path(dst).with_suffix(".json"), card_text(named).encode("utf-8")))
    write_atomic(items)


def load_card(path: Path) -> dict[str, Any]:
    """Read and validate a card."""
    card = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_card(card, str(path))
    return card
