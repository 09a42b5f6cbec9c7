"""Analytics over tracks: best-frame selection, face-to-body association, business rules.

Each class wraps one per-channel C++ module (no threads of its own; one call at a time).
Tracks go in as parallel numpy arrays: a ``vasdk.Tracks`` from ``vasdk.Tracker``, or any object
or mapping with ``ids`` (or ``track_ids``), ``boxes`` (N, 4) and optionally ``class_ids`` (0),
``scores`` (1), ``states`` (``vasdk.TrackState``; confirmed), ``time_since_update`` (0: observed
on this frame) and ``landmarks`` (N, 5, 2; NaN where absent). Results are plain dataclasses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from .detector import Detections
from .errors import InvalidArgumentError, InvalidConfigError
from .track import Tracks, _tracks

__all__ = [
    "Analytics",
    "AnalyticsResult",
    "Associator",
    "BestShot",
    "BestShotSelector",
    "Event",
    "Rules",
    "TrackEvent",
    "encode_jpeg",
    "laplacian_variance",
]


# A vasdk.Tracks (from vasdk.Tracker), or any object or mapping with the same array fields.
TracksLike = Union[Mapping[str, Any], Any]

_TRACK_FIELDS = ("class_ids", "scores", "states", "time_since_update", "landmarks")


def _arrays(tracks: TracksLike) -> tuple[np.ndarray, ...]:
    def get(name: str) -> Any:
        if isinstance(tracks, Mapping):
            return tracks.get(name)
        return getattr(tracks, name, None)

    ids = get("ids")
    if ids is None:
        ids = get("track_ids")
    if ids is None or get("boxes") is None:
        raise TypeError("tracks need 'ids' (or 'track_ids') and 'boxes'")
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    n = ids.shape[0]
    boxes = np.ascontiguousarray(get("boxes"), dtype=np.float32)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    defaults: dict[str, tuple[Any, Any]] = {
        "class_ids": (np.int32, 0),
        "scores": (np.float32, 1.0),
        "states": (np.int32, 1),  # confirmed
        "time_since_update": (np.int32, 0),
    }
    out = [ids, boxes]
    for name in _TRACK_FIELDS[:4]:
        dtype, fill = defaults[name]
        value = get(name)
        out.append(np.full(n, fill, dtype) if value is None else np.ascontiguousarray(value, dtype=dtype))
    lm = get("landmarks")
    if lm is None:
        lm = np.full((n, 10), np.nan, np.float32)
    else:
        lm = np.ascontiguousarray(lm, dtype=np.float32)
        if lm.ndim == 3 and lm.shape[1:] == (5, 2):
            lm = lm.reshape(lm.shape[0], 10)  # (N, 5, 2) -> (N, 10); N may be 0
        if lm.shape != (n, 10):
            raise InvalidArgumentError(f"landmarks must have shape ({n}, 5, 2) or ({n}, 10), got {lm.shape}")
    out.append(lm)
    return tuple(out)


def _json(config: Mapping[str, Any] | str | os.PathLike[str] | None, options: dict[str, Any]) -> str:
    if config is None:
        return json.dumps(options) if options else ""
    if options:
        raise TypeError("pass either a config or keyword options, not both")
    if isinstance(config, Mapping):
        try:
            return json.dumps(dict(config))
        except RecursionError as e:
            raise InvalidConfigError("config: nested too deep (the limit is 64 levels)") from e
    text = os.fspath(config)
    if isinstance(config, os.PathLike) or (not text.lstrip().startswith("{") and os.path.exists(text)):
        with open(text, encoding="utf-8") as f:
            return f.read()
    return text


@dataclass(frozen=True)
class BestShot:
    """One kept crop of one track, as emitted by :class:`BestShotSelector`.

    ``reason`` is ``"track_ended"``, ``"interval"`` or ``"flush"``; ``rank`` 0 is the track's
    best crop in this record. ``crop`` is a BGR (H, W, 3) copy; ``jpeg`` holds its JPEG bytes
    when the selector was made with ``jpeg=True`` (else use :meth:`BestShotSelector.encode_jpeg`).
    """

    track_id: int
    shot_id: int
    class_id: int
    reason: str
    rank: int
    quality: float
    terms: dict[str, float]
    box: tuple[float, float, float, float]
    crop_origin: tuple[int, int]
    timestamp_us: int
    frame_index: int
    first_seen_us: int
    last_seen_us: int
    crop: npt.NDArray[np.uint8] = field(repr=False)
    jpeg: bytes | None = field(default=None, repr=False)


_REASONS = ("track_ended", "interval", "flush")
_TERMS = ("detector", "size", "sharpness", "truncation", "aspect", "frontal")


def _shots(raw: list[tuple[Any, ...]]) -> list[BestShot]:
    out = []
    for tid, sid, cls, reason, rank, q, terms, box, origin, ts, fi, first, last, crop, jpg in raw:
        out.append(
            BestShot(
                track_id=tid,
                shot_id=sid,
                class_id=cls,
                reason=_REASONS[reason],
                rank=rank,
                quality=q,
                terms=dict(zip(_TERMS, terms)),
                box=tuple(box),
                crop_origin=tuple(origin),
                timestamp_us=ts,
                frame_index=fi,
                first_seen_us=first,
                last_seen_us=last,
                crop=crop,
                jpeg=jpg,
            )
        )
    return out


class BestShotSelector:
    """Keeps the top-K crops of every track and emits them when the track ends, every
    ``interval_s`` while it lives (when improved), and at :meth:`flush` (end of stream).

    Options (JSON fields of the C API): ``top_k``, ``interval_s``, ``margin``, ``jpeg``,
    ``jpeg_quality``, ``max_missing``, ``min_quality``, ``classes``, ``pool_mb``, ``size_ref``,
    ``sharpness_ref``, ``edge_margin``, ``aspect``, ``weights``, ``max_transient`` (1.0; 0 turns
    off the check that drops an observation standing apart from the track's observations
    before and after it, or with flat patches, repeated rows or specks in colours they lack
    nearby, unless the track would end with no crop; it keeps crops one observation late),
    ``signature_cell`` (24).
    """

    def __init__(self, config: Mapping[str, Any] | str | None = None, **options: Any) -> None:
        self._impl = _core.BestShotSelector(_json(config, options))

    def update(
        self,
        frame: npt.NDArray[np.uint8],
        tracks: TracksLike,
        timestamp_us: int,
        format: str = "BGR",  # noqa: A002
    ) -> list[BestShot]:
        """Scores this frame's observed tracks; returns the shots of records due now."""
        return _shots(self._impl.update(frame, format, *_arrays(tracks), int(timestamp_us)))

    def flush(self, timestamp_us: int) -> list[BestShot]:
        """End of stream: the shots of every live track."""
        return _shots(self._impl.flush(int(timestamp_us)))

    def current_best(self, track_id: int) -> int | None:
        """``shot_id`` of the best crop held now for a live track, or None."""
        sid = self._impl.current_best(int(track_id))
        return None if sid < 0 else int(sid)

    @property
    def dropped_crops(self) -> int:
        """Crops not kept because the selector's pool (``pool_mb``) was full."""
        return int(self._impl.dropped_crops)

    @staticmethod
    def encode_jpeg(shot: BestShot, quality: int = 90) -> bytes:
        """JPEG bytes of a shot's crop (libjpeg-turbo)."""
        return encode_jpeg(shot.crop, quality)


@dataclass(frozen=True)
class Event:
    """A business-rule event. ``kind`` is ``cross_in``, ``cross_out``, ``enter``, ``exit``,
    ``loitering``, ``crowding_start`` or ``crowding_end``; ``track_id`` and ``class_id`` are -1
    for crowding; ``best_shot_id`` is the track's best shot when a selector was given."""

    channel: str
    rule_id: str
    rule_type: str
    kind: str
    track_id: int
    class_id: int
    timestamp_us: int
    start_us: int
    count: int
    best_shot_id: int


class Rules:
    """The business rules of one channel (a dict, JSON text or a JSON file path)."""

    def __init__(self, config: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        self._impl = _core.RulesEngine(_json(config, {}))

    def update(
        self, tracks: TracksLike, timestamp_us: int, shots: BestShotSelector | None = None
    ) -> list[Event]:
        """Feeds one frame's tracks; returns this frame's events."""
        sel = shots._impl if shots is not None else None
        return [Event(*e) for e in self._impl.update(*_arrays(tracks), int(timestamp_us), sel)]

    def flush(self, timestamp_us: int) -> list[Event]:
        """End of stream: open zone stays exit and open crowding ends."""
        return [Event(*e) for e in self._impl.flush(int(timestamp_us))]

    def line_counts(self, rule_id: str) -> tuple[int, int]:
        """(in, out) counts of a line_crossing rule."""
        return tuple(self._impl.line_counts(rule_id))  # type: ignore[return-value]


class Associator:
    """Links child tracks to parent tracks (faces to bodies) by majority vote over frames.

    Options: ``parent_class`` (0), ``child_class`` (1), ``region`` ([top, bottom] of the
    parent's height, [0, 0.5]), ``min_containment`` (0.6), ``forget_after`` (60 updates).
    """

    def __init__(self, config: Mapping[str, Any] | str | None = None, **options: Any) -> None:
        self._impl = _core.Associator(_json(config, options))

    def update(self, tracks: TracksLike) -> npt.NDArray[np.int64]:
        """Parent track id of every track (-1 for none or for non-child classes)."""
        return self._impl.update(*_arrays(tracks))


def laplacian_variance(gray: npt.NDArray[np.uint8]) -> float:
    """Variance of the 4-neighbour Laplacian over the interior of a gray image (sharpness)."""
    return float(_core.laplacian_variance(np.ascontiguousarray(gray, dtype=np.uint8)))


def encode_jpeg(bgr: npt.NDArray[np.uint8], quality: int = 90) -> bytes:
    """JPEG-encodes a BGR (H, W, 3) uint8 image with libjpeg-turbo."""
    return bytes(_core.encode_jpeg(np.ascontiguousarray(bgr), int(quality)))


@dataclass(frozen=True)
class TrackEvent:
    """A track's confirmed life: ``kind`` ``track_start`` on the first frame it is confirmed,
    ``track_end`` when it is removed or at :meth:`Analytics.flush`. Tracks never confirmed get
    neither, so every start has one end; ``start_us`` is when the track started."""

    kind: str
    track_id: int
    class_id: int
    timestamp_us: int
    start_us: int


@dataclass(frozen=True)
class AnalyticsResult:
    """One frame of :class:`Analytics`: every track the tracker reported (``parent_ids`` (N,)
    holds each track's parent from the associator, -1 for none), track start/end events, rule
    events and the best shots emitted on this frame."""

    tracks: Tracks
    parent_ids: npt.NDArray[np.int64]
    track_events: list[TrackEvent]
    events: list[Event]
    best_shots: list[BestShot]


class Analytics:
    """One channel's analytics composed in the core: tracker, then (each optional) associator,
    best-shot selector and business rules, on every frame.

    ``config`` is a dict, JSON text or a JSON file path: ``{"channel": "cam1", "tracker": {...},
    "best_shot": {...}, "associator": {...}, "rules": {...}}``, each member the options of the
    matching class (:class:`Tracker`, :class:`BestShotSelector`, :class:`Associator`,
    :class:`Rules`). Only ``channel`` is required. Not thread-safe: one call at a time.
    """

    def __init__(self, config: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        self._impl = _core.Analytics(_json(config, {}))

    def update(
        self,
        frame: npt.NDArray[np.uint8] | None,
        boxes: npt.ArrayLike | Detections | None = None,
        scores: npt.ArrayLike | None = None,
        class_ids: npt.ArrayLike | None = None,
        *,
        timestamp_us: int,
        format: str = "BGR",  # noqa: A002
    ) -> AnalyticsResult:
        """A frame on which detection ran. ``frame`` gives the best-shot crops (None: none);
        ``boxes`` (N, 4) or a :class:`vasdk.Detections`; scores default to ones, classes to 0."""
        if isinstance(boxes, Detections):
            if scores is not None or class_ids is not None:
                raise TypeError("pass either Detections or boxes/scores/class_ids, not both")
            boxes, scores, class_ids = boxes.boxes, boxes.scores, boxes.class_ids
        b = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32)
        if b.ndim == 1 and b.size == 0:
            b = b.reshape(0, 4)
        n = b.shape[0] if b.ndim == 2 else 0
        s = np.ones(n, np.float32) if scores is None else np.asarray(scores, np.float32)
        c = np.zeros(n, np.int32) if class_ids is None else np.asarray(class_ids, np.int32)
        return _result(self._impl.update(frame, format, b, s, c, int(timestamp_us)))

    def predict(
        self,
        frame: npt.NDArray[np.uint8] | None,
        *,
        timestamp_us: int,
        format: str = "BGR",  # noqa: A002
    ) -> AnalyticsResult:
        """A frame on which detection was skipped: the tracks coast, then the same steps."""
        return _result(self._impl.predict(frame, format, int(timestamp_us)))

    def flush(self, timestamp_us: int) -> AnalyticsResult:
        """End of stream: held best shots, open rule stays and live tracks all end."""
        return _result(self._impl.flush(int(timestamp_us)))

    def update_rules(self, rules: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        """Replaces the rules while running. A rule given with the same fields as a running one
        keeps its state and line counts; other rules start fresh. A bad config raises and keeps
        the old rules."""
        self._impl.update_rules(_json(rules, {}))

    def line_counts(self, rule_id: str) -> tuple[int, int]:
        """(in, out) counts of a line_crossing rule."""
        return tuple(self._impl.line_counts(rule_id))  # type: ignore[return-value]


def _result(raw: tuple[Any, ...]) -> AnalyticsResult:
    (ids, boxes, scores, class_ids, info, parents), track_events, events, shots = raw
    return AnalyticsResult(
        tracks=_tracks((ids, boxes, scores, class_ids, info)),
        parent_ids=parents,
        track_events=[TrackEvent(*e) for e in track_events],
        events=[Event(*e) for e in events],
        best_shots=_shots(shots),
    )
