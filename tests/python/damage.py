"""Localised frame damage for best-shot tests and benchmarks.

Each kind imitates what a broken stream leaves in decoded pixels on an otherwise clean frame:

- ``specks``: small bright dots (1-2 px) inside each object's box (bit errors in DC terms).
- ``bright_blocks``: hard-edged rectangles of a saturated colour covering part of each box.
- ``smear``: a macroblock-aligned region of each box where every 16x16 block is either copied
  from a wrong place (a corrupt motion vector) or streaked down from the row above it.
- ``green``: a full-width band of macroblock rows filled with YUV zero (BGR 0, 135, 0), the
  colour of never-decoded memory; the whole frame at strength 3.
- ``grey``: the same with mid grey (128), which FFmpeg uses for a missing reference frame.
- ``half_frame``: everything below a cut row (through one object's box) lost and concealed by
  repeating the last good row downwards, the way a truncated JPEG or slice decodes.

Strength 1 is the mildest, 3 the strongest. :func:`apply` returns the damaged frame and the
mask of pixels it changed, so that callers judge each box by the damage that falls on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

KINDS = ("specks", "bright_blocks", "smear", "green", "grey", "half_frame")
STRENGTHS = (1, 2, 3)

Box = tuple[float, float, float, float]  # x1, y1, x2, y2
Frame = npt.NDArray[np.uint8]

_SPECKS = {1: 4, 2: 12, 3: 40}  # specks per box
_BLOCK_SHARE = {1: 0.06, 2: 0.15, 3: 0.3}  # share of the box under bright rectangles
_SMEAR_SHARE = {1: 0.2, 2: 0.4, 3: 0.7}  # share of the box's height smeared
_BAND_SHARE = {1: 0.25, 2: 0.5}  # share of the box's height under a green or grey band
_CUT_AT = {1: 0.75, 2: 0.5, 3: 0.25}  # the cut row, as a share of the box's height from its top
_BRIGHT = ((255, 255, 255), (0, 255, 255), (255, 255, 0), (255, 0, 255), (235, 235, 235))


def _clip_box(box: Box, w: int, h: int) -> tuple[int, int, int, int] | None:
    x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return (x1, y1, x2, y2) if x2 - x1 >= 4 and y2 - y1 >= 4 else None


def _specks(out: Frame, b: tuple[int, int, int, int], strength: int, rng: np.random.Generator) -> None:
    x1, y1, x2, y2 = b
    for _ in range(_SPECKS[strength]):
        s = int(rng.integers(1, 3))
        x = int(rng.integers(x1, max(x1 + 1, x2 - s)))
        y = int(rng.integers(y1, max(y1 + 1, y2 - s)))
        out[y : y + s, x : x + s] = _BRIGHT[int(rng.integers(len(_BRIGHT)))]


def _bright_blocks(out: Frame, b: tuple[int, int, int, int], strength: int, rng: np.random.Generator) -> None:
    x1, y1, x2, y2 = b
    bw, bh = x2 - x1, y2 - y1
    n = 1 if strength == 1 else 2
    area = _BLOCK_SHARE[strength] * bw * bh / n
    for _ in range(n):
        aspect = float(rng.uniform(0.5, 2.0))
        rw = int(np.clip(round(np.sqrt(area * aspect)), 2, bw))
        rh = int(np.clip(round(area / max(rw, 1)), 2, bh))
        x = int(rng.integers(x1, x2 - rw + 1))
        y = int(rng.integers(y1, y2 - rh + 1))
        out[y : y + rh, x : x + rw] = _BRIGHT[int(rng.integers(len(_BRIGHT)))]


def _smear(
    out: Frame, src: Frame, b: tuple[int, int, int, int], strength: int, rng: np.random.Generator
) -> None:
    x1, y1, x2, y2 = b
    h, w = out.shape[:2]
    bh = y2 - y1
    rows = max(1, round(_SMEAR_SHARE[strength] * bh / 16))
    top = y1 // 16 * 16 + 16 * int(rng.integers(0, max(1, (bh // 16) - rows + 1)))
    for my in range(top, min(top + 16 * rows, h), 16):
        for mx in range(x1 // 16 * 16, min(x2, w), 16):
            ye, xe = min(my + 16, h), min(mx + 16, w)
            if rng.random() < 0.5:  # a wrong motion vector: the block's texture from elsewhere
                dy, dx = (int(rng.choice((-1, 1))) * int(rng.integers(16, 49)) for _ in range(2))
                sy = int(np.clip(my + dy, 0, h - (ye - my)))
                sx = int(np.clip(mx + dx, 0, w - (xe - mx)))
                out[my:ye, mx:xe] = src[sy : sy + ye - my, sx : sx + xe - mx]
            else:  # concealment: the row above the block streaked down
                out[my:ye, mx:xe] = out[max(my - 1, 0), mx:xe][None]


def _band(
    out: Frame,
    boxes: list[tuple[int, int, int, int]],
    colour: tuple[int, int, int],
    strength: int,
    rng: np.random.Generator,
) -> None:
    if strength >= 3:
        out[:] = colour
        return
    for _x1, y1, _x2, y2 in boxes:
        bh = y2 - y1
        rows = max(1, round(_BAND_SHARE[strength] * bh / 16))
        top = y1 // 16 * 16 + 16 * int(rng.integers(0, max(1, (bh // 16) - rows + 1)))
        out[top : top + 16 * rows] = colour


def _half_frame(
    out: Frame, boxes: list[tuple[int, int, int, int]], strength: int, rng: np.random.Generator
) -> None:
    _x1, y1, _x2, y2 = boxes[int(rng.integers(len(boxes)))]
    cut = max(1, y1 + round(_CUT_AT[strength] * (y2 - y1)))
    out[cut:] = out[cut - 1][None]


def apply(
    frame: Frame, kind: str, strength: int, boxes: Sequence[Box], rng: np.random.Generator
) -> tuple[Frame, npt.NDArray[np.bool_]]:
    """A damaged copy of a BGR frame and the mask of the pixels that changed (by more than 8 in
    any channel). Localised kinds hit every box in ``boxes``; frame kinds use them to place the
    damage where it crosses an object. Deterministic for a given ``rng`` state."""
    if kind not in KINDS:
        raise ValueError(f"unknown damage kind {kind!r}; expected one of {KINDS}")
    if strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {STRENGTHS}, not {strength}")
    h, w = frame.shape[:2]
    clipped = [c for c in (_clip_box(b, w, h) for b in boxes) if c is not None]
    out = frame.copy()
    if kind in ("green", "grey") and strength >= 3:
        _band(out, clipped, (0, 135, 0) if kind == "green" else (128, 128, 128), strength, rng)
    elif clipped:
        for b in clipped if kind in ("specks", "bright_blocks", "smear") else []:
            if kind == "specks":
                _specks(out, b, strength, rng)
            elif kind == "bright_blocks":
                _bright_blocks(out, b, strength, rng)
            else:
                _smear(out, frame, b, strength, rng)
        if kind in ("green", "grey"):
            _band(out, clipped, (0, 135, 0) if kind == "green" else (128, 128, 128), strength, rng)
        elif kind == "half_frame":
            _half_frame(out, clipped, strength, rng)
    diff = np.abs(out.astype(np.int16) - frame.astype(np.int16)).max(axis=2)
    return out, diff > 8


def box_damage(mask: npt.NDArray[np.bool_], box: Box) -> int:
    """How many pixels of the box (clipped to the frame) the damage changed."""
    h, w = mask.shape
    c = _clip_box(box, w, h)
    if c is None:
        return 0
    x1, y1, x2, y2 = c
    return int(mask[y1:y2, x1:x2].sum())
