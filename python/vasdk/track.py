"""Multi-object tracking: ``vasdk.Tracker(type="bytetrack", **options)``.

A tracker turns per-frame detections into tracks with ids that are unique within the tracker
and never reused. Call :meth:`Tracker.update` on frames where detection ran and
:meth:`Tracker.predict` on frames where it was skipped, so detection can run every Nth frame.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .detector import Detections

__all__ = ["TrackState", "Tracker", "Tracks"]


class TrackState(enum.IntEnum):
    """Lifecycle of a track; the values equal ``vas_track_state_t``."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2
    REMOVED = 3


@dataclass(frozen=True)
class Tracks:
    """Tracks reported on one frame, as parallel numpy arrays ordered by id.

    ``ids`` (N,) int64; ``boxes`` (N, 4) float32 x1, y1, x2, y2 (the Kalman filter's box);
    ``scores`` (N,) float32, the matched detection's score or 0 when only predicted;
    ``class_ids``, ``states`` (:class:`TrackState` values), ``hits``, ``ages`` and
    ``time_since_update`` (N,) int32; ``landmarks`` (N, 5, 2) float32, the matched detection's
    landmarks, NaN when it had none or the track was not matched on this frame. Every live
    track is reported, plus each track removed on this frame once with state ``REMOVED``.
    """

    ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    states: npt.NDArray[np.int32]
    hits: npt.NDArray[np.int32]
    ages: npt.NDArray[np.int32]
    time_since_update: npt.NDArray[np.int32]
    landmarks: npt.NDArray[np.float32] = field(default_factory=lambda: np.full((0, 5, 2), np.nan, np.float32))

    def __post_init__(self) -> None:
        # Built without landmarks (e.g. by hand): NaN rows, one per track.
        if self.landmarks.shape[0] != self.ids.shape[0]:
            object.__setattr__(self, "landmarks", np.full((self.ids.shape[0], 5, 2), np.nan, np.float32))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> Tracks:
        """The tracks where ``mask`` is true."""
        return Tracks(
            self.ids[mask],
            self.boxes[mask],
            self.scores[mask],
            self.class_ids[mask],
            self.states[mask],
            self.hits[mask],
            self.ages[mask],
            self.time_since_update[mask],
            self.landmarks[mask],
        )

    def confirmed(self, *, matched_only: bool = True) -> Tracks:
        """Confirmed tracks; with ``matched_only`` only those matched on this frame."""
        mask = self.states == TrackState.CONFIRMED
        if matched_only:
            mask &= self.time_since_update == 0
        return self.select(mask)


class Tracker:
    """SORT or ByteTrack over a constant-velocity Kalman filter, one per video channel.

    ``type`` is ``"bytetrack"`` (default) or ``"sort"``. Keyword options are the tracker's
    JSON config: ``min_hits``, ``max_age``, ``per_class``, ``confirm_first_frame``; for SORT ``min_score`` and
    ``iou_threshold``; for ByteTrack ``track_thresh``, ``low_thresh``, ``high_thresh``,
    ``match_thresh``, ``second_match_thresh``, ``unconfirmed_match_thresh`` and
    ``fuse_score``. Unknown options raise :class:`vasdk.InvalidConfigError` naming the field.

    Optional costs beyond IoU (both types; off by default): ``center_weight`` mixes in the
    centre distance (DIoU's rho^2 / c^2, which still ranks boxes that do not overlap) and
    ``appearance_weight`` the cosine distance of embeddings passed to :meth:`update`; with
    either on, ``center_gate`` (track diagonals) and ``appearance_gate`` (cosine distance)
    refuse far-away or different-looking matches. ``appearance_momentum`` smooths each
    track's embedding; ``embedding_dim`` fixes D (else the first embeddings fix it). See
    ``vas_tracker_config_t`` in vasdk.h for the exact cost.

    Not thread-safe: use one Tracker per channel and thread. Timestamps default to the
    frame number; when given they must not go backwards.
    """

    def __init__(self, type: str = "bytetrack", **options: Any) -> None:  # noqa: A002
        config = {"type": type, **options}
        self.config: dict[str, Any] = config
        self._impl = _core.Tracker(json.dumps(config))
        self._last_ts = -1

    @property
    def frame_count(self) -> int:
        """Frames processed so far (update and predict calls)."""
        return int(self._impl.frame_count)

    @property
    def embedding_dim(self) -> int:
        """Embedding length D in use (0 until known)."""
        return int(self._impl.embedding_dim)

    def _timestamp(self, timestamp_us: int | None) -> int:
        ts = self._last_ts + 1 if timestamp_us is None else int(timestamp_us)
        return ts

    def update(
        self,
        boxes: npt.ArrayLike | Detections | None = None,
        scores: npt.ArrayLike | None = None,
        class_ids: npt.ArrayLike | None = None,
        *,
        timestamp_us: int | None = None,
        embeddings: npt.ArrayLike | None = None,
        landmarks: npt.ArrayLike | None = None,
    ) -> Tracks:
        """Matches one frame's detections and returns the tracks.

        ``boxes`` is (N, 4) x1, y1, x2, y2 in pixels, or a :class:`vasdk.Detections`
        (then ``scores`` and ``class_ids`` come from it). ``scores`` defaults to ones and
        ``class_ids`` to zeros. ``update()`` with no boxes is a frame where nothing was seen.
        ``embeddings`` (N, D) float, one appearance vector per detection (any scale), needs
        ``appearance_weight`` > 0; D must stay the same for the tracker's lifetime.
        ``landmarks`` (N, 5, 2), NaN rows where absent, come from Detections when given those;
        each track reports its matched detection's landmarks.
        """
        if isinstance(boxes, Detections):
            if scores is not None or class_ids is not None or landmarks is not None:
                raise TypeError("pass either Detections or boxes/scores/class_ids/landmarks, not both")
            boxes, scores, class_ids, landmarks = boxes.boxes, boxes.scores, boxes.class_ids, boxes.landmarks
        b = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32)
        if b.ndim == 1 and b.size == 0:
            b = b.reshape(0, 4)
        s = np.ones(len(b), np.float32) if scores is None else np.asarray(scores, np.float32)
        c = None if class_ids is None else np.asarray(class_ids, np.int32)
        ts = self._timestamp(timestamp_us)
        lm = None if landmarks is None else np.asarray(landmarks, np.float32)
        emb = None if embeddings is None else np.asarray(embeddings, np.float32)
        out = self._impl.update(b, s, c, ts, emb, lm)
        self._last_ts = ts
        return _tracks(out)

    def predict(self, *, timestamp_us: int | None = None) -> Tracks:
        """Advances one frame on which detection was skipped; tracks coast on their motion."""
        ts = self._timestamp(timestamp_us)
        out = self._impl.predict(ts)
        self._last_ts = ts
        return _tracks(out)


def _tracks(out: tuple[Any, ...]) -> Tracks:
    ids, boxes, scores, class_ids, info, *rest = out
    # Landmarks come from Tracker; callers without them get NaN rows (see Tracks).
    landmarks = rest[0] if rest else np.full((len(ids), 5, 2), np.nan, np.float32)
    return Tracks(ids, boxes, scores, class_ids, info[:, 0], info[:, 1], info[:, 2], info[:, 3], landmarks)
