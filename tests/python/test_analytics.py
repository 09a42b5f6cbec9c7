"""Best-frame selection and association through vasdk: crafted sequences where the sharp,
large, frontal frame wins, JPEG output that OpenCV decodes to the crop's size, the Laplacian
kernel against OpenCV, emission on track end / interval / flush, and face-to-body links."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import vasdk
from vasdk.analytics import encode_jpeg, laplacian_variance

H, W = 240, 320


def _scene(seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _face(tid: int, x1: float, y1: float, x2: float, y2: float, nose_dx: float = 0.0) -> dict:
    """A face track with 5 landmarks; nose_dx turns the head (fraction of the box width)."""
    cx, cy, s = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1
    lm = np.array(
        [
            [cx - 0.2 * s, cy - 0.1 * s],
            [cx + 0.2 * s, cy - 0.1 * s],
            [cx + nose_dx * s, cy + 0.05 * s],
            [cx - 0.15 * s, cy + 0.2 * s],
            [cx + 0.15 * s, cy + 0.2 * s],
        ],
        np.float32,
    )
    return {
        "ids": [tid],
        "boxes": [[x1, y1, x2, y2]],
        "class_ids": [1],
        "scores": [0.9],
        "landmarks": lm[None],
    }


def test_laplacian_variance_matches_opencv() -> None:
    gray = cv2.cvtColor(_scene(), cv2.COLOR_BGR2GRAY)
    for crop in (gray, gray[10:50, 20:97], gray[:3, :3]):
        lap = cv2.Laplacian(crop, cv2.CV_64F, ksize=1)[1:-1, 1:-1]
        assert laplacian_variance(crop) == pytest.approx(float(lap.var()), rel=1e-9)
    assert laplacian_variance(cv2.GaussianBlur(gray, (9, 9), 3)) < 0.05 * laplacian_variance(gray)


def test_sharp_large_frontal_frame_beats_blurred_truncated_small_and_turned() -> None:
    sharp = _scene()
    blurred = sharp.copy()
    blurred[60:160, 100:200] = cv2.GaussianBlur(sharp, (9, 9), 3)[60:160, 100:200]
    sequence = [
        (blurred, _face(7, 100, 60, 200, 160), "blurred"),
        (sharp, _face(7, -40, 60, 60, 160), "truncated"),
        (sharp, _face(7, 135, 95, 165, 125), "small"),
        (sharp, _face(7, 100, 60, 200, 160, nose_dx=0.25), "turned"),
        (sharp, _face(7, 100, 60, 200, 160), "best"),
        (blurred, _face(7, 100, 60, 200, 160), "blurred again"),
    ]
    # The box jumps between unrelated places, which no real track does: the temporal damage
    # check (max_transient) would take those jumps for damage, so this ranking test turns it off.
    sel = vasdk.BestShotSelector(top_k=3, jpeg=True, jpeg_quality=85, max_transient=0)
    for i, (frame, tracks, _) in enumerate(sequence):
        assert sel.update(frame, tracks, i * 40_000) == []
    shots = sel.update(sharp, {**_face(7, 100, 60, 200, 160), "states": [vasdk.TrackState.REMOVED]}, 240_000)
    assert [s.rank for s in shots] == [0, 1, 2]
    best = shots[0]
    assert sequence[best.frame_index][2] == "best"
    assert best.reason == "track_ended" and best.track_id == 7 and best.class_id == 1
    assert best.quality > shots[1].quality >= shots[2].quality
    assert best.terms["frontal"] == pytest.approx(1.0)
    for s in shots[1:]:
        assert sequence[s.frame_index][2] != "blurred"
    # The crop is the box plus a 15 % margin, copied from that frame; its JPEG decodes to it.
    x0, y0 = best.crop_origin
    assert best.crop.shape == (130, 130, 3)
    np.testing.assert_array_equal(best.crop, sharp[y0 : y0 + 130, x0 : x0 + 130])
    decoded = cv2.imdecode(np.frombuffer(best.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == best.crop.shape
    # Noise is hard on JPEG, but the luma must be far closer to this crop than to its neighbour.
    gray = cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY).astype(int)
    same = np.abs(gray - cv2.cvtColor(best.crop, cv2.COLOR_BGR2GRAY)).mean()
    other = np.abs(gray - cv2.cvtColor(sharp[y0 + 1 : y0 + 131, x0 : x0 + 130], cv2.COLOR_BGR2GRAY)).mean()
    assert same < 0.5 * other, (same, other)


def test_interval_and_flush_emit_and_the_last_tracks_are_not_lost() -> None:
    frame = _scene()
    sel = vasdk.BestShotSelector(interval_s=0.5, max_missing=5)
    got = []
    for f in range(20):  # 25 fps, two tracks; track 2 starts later
        tracks = {"ids": [1], "boxes": [[10, 10, 60, 70]]}
        if f >= 5:
            tracks = {"ids": [1, 2], "boxes": [[10, 10, 60, 70], [150, 50, 210, 130]]}
        got += [(s.track_id, s.reason, s.timestamp_us) for s in sel.update(frame, tracks, f * 40_000)]
    # Each track's first interval record comes 0.5 s after it appeared (its shot never improves
    # afterwards, so no second one).
    assert got == [(1, "interval", 0), (2, "interval", 200_000)]
    final = sel.flush(800_000)
    assert sorted((s.track_id, s.reason) for s in final) == [(1, "flush"), (2, "flush")]
    assert final[0].jpeg is None
    jpg = vasdk.BestShotSelector.encode_jpeg(final[1], quality=70)
    assert cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR).shape == final[1].crop.shape
    assert sel.flush(900_000) == []


def test_crops_live_in_a_bounded_pool() -> None:
    sel = vasdk.BestShotSelector(pool_mb=0.0625)  # 64 KiB: one 115x115 BGR crop, not two
    tracks = {"ids": [1, 2], "boxes": [[10, 10, 110, 110], [150, 10, 250, 110]]}
    assert sel.update(_scene(), tracks, 0) == []
    assert sel.dropped_crops == 1
    assert [s.track_id for s in sel.flush(1)] == [1]


def test_yuv_frames_and_bad_input() -> None:
    bgr = _scene()
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    sel = vasdk.BestShotSelector()
    sel.update(yuv, {"ids": [3], "boxes": [[40, 40, 120, 120]]}, 0, format="I420")
    (shot,) = sel.flush(1)
    x0, y0 = shot.crop_origin
    ref = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)[
        y0 : y0 + shot.crop.shape[0], x0 : x0 + shot.crop.shape[1]
    ]
    assert np.abs(shot.crop.astype(int) - ref).mean() < 3
    with pytest.raises(vasdk.InvalidConfigError, match="top_k"):
        vasdk.BestShotSelector(top_k=0)
    with pytest.raises(vasdk.InvalidConfigError, match="weights.colour: unknown field"):
        vasdk.BestShotSelector(weights={"colour": 1})
    with pytest.raises(vasdk.InvalidArgumentError, match="boxes must have shape"):
        sel.update(bgr, {"ids": [1, 2], "boxes": [[1, 1, 5, 5]]}, 2)
    with pytest.raises(vasdk.InvalidArgumentError, match="quality"):
        encode_jpeg(bgr, quality=0)


def test_associator_links_faces_to_bodies_by_majority() -> None:
    assoc = vasdk.Associator(parent_class=0, child_class=1)
    body_a = [0, 0, 100, 300]
    body_b = [20, 0, 100, 300]  # overlaps A and sits better under the face
    face = [40, 20, 80, 70]
    parents = []
    for f in range(12):
        ids, boxes, classes = [1, 10, 11], [body_a, face, [300, 20, 330, 60]], [0, 1, 1]
        if f >= 6:
            ids, boxes, classes = [*ids, 2], [*boxes, body_b], [*classes, 0]
        parents.append(assoc.update({"ids": ids, "boxes": boxes, "class_ids": classes}).tolist())
    assert parents[0] == [-1, 1, -1]  # bodies have no parent; the far face has none either
    assert [p[1] for p in parents] == [1] * 11 + [2]  # B needs more votes than A's 6 first
    # A body where a linked face was on the last call gets no parent from that face.
    swapped = {"ids": [10, 1], "boxes": [face, body_a], "class_ids": [1, 0]}
    assert assoc.update(swapped).tolist() == [1, -1]  # A is back ahead: 7 votes to 6
    with pytest.raises(vasdk.InvalidConfigError, match="region"):
        vasdk.Associator(region=[0.6, 0.2])


_ANALYTICS = {
    "channel": "cam1",
    "tracker": {"type": "bytetrack", "min_hits": 2, "max_age": 4},
    "best_shot": {"top_k": 2, "max_missing": 3},
    "associator": {"parent_class": 0, "child_class": 1},
    "rules": {
        "rules": [
            {"id": "door", "type": "line_crossing", "line": [[160, 0], [160, 240]], "classes": [0]},
            {"id": "yard", "type": "intrusion", "polygon": [[100, 0], [220, 0], [220, 240], [100, 240]]},
        ]
    },
}


def _walkers(f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two people crossing x = 160 in opposite directions, each with a face in its box top."""
    boxes, classes = [], []
    for first, last, x0, y, speed in ((0, 30, 40.0, 70.0, 6.0), (4, 40, 280.0, 160.0, -5.0)):
        if first <= f <= last:
            x = x0 + speed * (f - first)
            boxes += [[x - 15, y - 40, x + 15, y + 40], [x - 7, y - 38, x + 7, y - 22]]
            classes += [0, 1]
    b = np.array(boxes, np.float32).reshape(-1, 4)
    return b, np.full(len(b), 0.9, np.float32), np.array(classes, np.int32)


def test_analytics_gives_what_the_modules_give_by_hand() -> None:
    analytics = vasdk.Analytics(_ANALYTICS)
    tracker = vasdk.Tracker(**_ANALYTICS["tracker"])
    assoc = vasdk.Associator(_ANALYTICS["associator"])
    shots = vasdk.BestShotSelector(_ANALYTICS["best_shot"])
    rules = vasdk.Rules({"channel": "cam1", **_ANALYTICS["rules"]})
    rng = np.random.default_rng(1)
    kinds: list[str] = []
    confirmed: set[int] = set()
    starts = ends = 0
    for f in range(50):
        ts = f * 100_000
        frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        boxes, scores, classes = _walkers(f)
        if f % 3 == 2:  # detection skipped
            got = analytics.predict(frame, timestamp_us=ts)
            tracks = tracker.predict(timestamp_us=ts)
        else:
            got = analytics.update(frame, boxes, scores, classes, timestamp_us=ts)
            tracks = tracker.update(boxes, scores, classes, timestamp_us=ts)
        np.testing.assert_array_equal(got.tracks.ids, tracks.ids)
        np.testing.assert_array_equal(got.tracks.boxes, tracks.boxes)
        np.testing.assert_array_equal(got.tracks.states, tracks.states)
        np.testing.assert_array_equal(got.parent_ids, assoc.update(tracks))
        want_shots = shots.update(frame, tracks, ts)
        assert [(s.track_id, s.shot_id) for s in got.best_shots] == [
            (s.track_id, s.shot_id) for s in want_shots
        ]
        for g, w in zip(got.best_shots, want_shots):
            np.testing.assert_array_equal(g.crop, w.crop)
        assert got.events == rules.update(tracks, ts, shots)
        kinds += [e.kind for e in got.events]
        confirmed |= set(tracks.ids[tracks.states == vasdk.TrackState.CONFIRMED].tolist())
        starts += sum(e.kind == "track_start" for e in got.track_events)
        ends += sum(e.kind == "track_end" for e in got.track_events)
    end = analytics.flush(50 * 100_000)
    assert end.events == rules.flush(50 * 100_000)
    assert [s.shot_id for s in end.best_shots] == [s.shot_id for s in shots.flush(50 * 100_000)]
    ends += len(end.track_events)
    assert sorted(set(kinds)) == ["cross_in", "cross_out", "enter", "exit"]
    assert starts == ends == len(confirmed) >= 4  # at least two bodies and two faces
    assert analytics.line_counts("door") == rules.line_counts("door") == (1, 1)


def test_analytics_rules_replaced_while_running_and_errors() -> None:
    analytics = vasdk.Analytics({"channel": "c", "tracker": {"min_hits": 1}})
    with pytest.raises(vasdk.NotFoundError, match="'door'"):
        analytics.line_counts("door")
    analytics.update_rules(
        {"rules": [{"id": "door", "type": "line_crossing", "line": [[160, 0], [160, 240]]}]}
    )
    events = []
    for f in range(15):
        x = 10.0 + 20 * f
        got = analytics.update(None, [[x, 100, x + 80, 140]], timestamp_us=f * 100_000)
        events += got.events
        assert got.best_shots == []
    assert [(e.channel, e.rule_id, e.rule_type) for e in events] == [("c", "door", "line_crossing")]
    assert sum(analytics.line_counts("door")) == 1
    with pytest.raises(vasdk.InvalidConfigError, match=r"rules\[0\]\.type: unknown rule type 'zone'"):
        analytics.update_rules({"rules": [{"id": "z", "type": "zone"}]})
    assert sum(analytics.line_counts("door")) == 1  # the old rules stay
    door = {"line": [[160, 0], [160, 240]], "type": "line_crossing", "id": "door"}
    analytics.update_rules({"rules": [door]})
    assert sum(analytics.line_counts("door")) == 1  # the same rule keeps its count
    analytics.update_rules(
        {"rules": [{"id": "yard", "type": "intrusion", "polygon": [[0, 0], [9, 0], [9, 9]]}]}
    )
    with pytest.raises(vasdk.InvalidArgumentError, match="'yard' has type intrusion"):
        analytics.line_counts("yard")
    with pytest.raises(vasdk.InvalidConfigError, match="tracker: "):
        vasdk.Analytics({"channel": "c", "tracker": {"min_hits": 0}})
    with pytest.raises(vasdk.InvalidConfigError, match="channel: missing"):
        vasdk.Analytics({"tracker": {}})
