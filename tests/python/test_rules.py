"""Business rules through vasdk.Rules: golden replay of recorded tracks (TUD-Campus ground
truth, as-is and with seeded jitter) against a small Python reference written here, plus
crafted cases and config errors that name the field."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vasdk

FRAME_US = 40_000  # 25 fps

# ---- Python reference: the documented semantics, written independently of the C++ -------------


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(a, b, p) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _inside(p, poly) -> bool:
    inside = False
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[i - 1]
        if _cross(a, b, p) == 0 and _on_segment(a, b, p):
            return True
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if p[0] < x:
                inside = not inside
    return inside


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def _intersect(a, b, c, d) -> bool:
    d1, d2 = _sign(_cross(c, d, a)), _sign(_cross(c, d, b))
    d3, d4 = _sign(_cross(a, b, c)), _sign(_cross(a, b, d))
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return (
        (d1 == 0 and _on_segment(c, d, a))
        or (d2 == 0 and _on_segment(c, d, b))
        or (d3 == 0 and _on_segment(a, b, c))
        or (d4 == 0 and _on_segment(a, b, d))
    )


def _anchor(box: np.ndarray, anchor: str) -> tuple[float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)  # float32 values, computed in double as in C++
    cx = 0.5 * (x1 + x2)
    return {"center": (cx, 0.5 * (y1 + y2)), "top_center": (cx, y1)}.get(anchor, (cx, y2))


class ReferenceRules:
    """Line crossing with hysteresis and segment check, intrusion, loitering, crowding."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.rules = cfg["rules"]
        self.forget = round(cfg.get("forget_after_s", 2.0) * 1e6)
        self.tracks: dict[int, dict[str, Any]] = {}
        self.crowd = [{"since": -1, "active": False} for _ in self.rules]

    def _leave(self, tid: int, t: dict[str, Any], ts: int, out: list) -> None:
        for k, r in enumerate(self.rules):
            st = t["rules"][k]
            if r["type"] == "intrusion" and st["inside"]:
                out.append((r["id"], "exit", tid, t["cls"], ts, st["enter"], 0))
                st["inside"] = False

    def update(self, ids, boxes, classes, ts: int) -> list[tuple]:
        out: list[tuple] = []
        visible = []
        for tid, box, cls in zip(ids.tolist(), boxes, classes.tolist()):
            t = self.tracks.setdefault(
                tid,
                {
                    "frames": 0,
                    "rules": [
                        {"side": 0, "last": None, "inside": False, "enter": -1, "last_in": -1, "rep": False}
                        for _ in self.rules
                    ],
                },
            )
            t["frames"] += 1
            t["seen"] = ts
            t["cls"] = cls
            visible.append((tid, box, cls))
        for k, r in enumerate(self.rules):
            classes_ok = r.get("classes")
            min_age = r.get("min_track_age", 0)
            occupancy = 0
            for tid, box, cls in visible:
                if classes_ok and cls not in classes_ok:
                    continue
                t = self.tracks[tid]
                st = t["rules"][k]
                old = t["frames"] >= min_age
                p = _anchor(box, r.get("anchor", "bottom_center"))
                if r["type"] == "line_crossing":
                    a, b = tuple(r["line"][0]), tuple(r["line"][1])
                    d = -_cross(a, b, p) / math.hypot(b[0] - a[0], b[1] - a[1])
                    h = r.get("hysteresis", 5.0)
                    s = 1 if (d > 0 and d >= h) else (-1 if (d < 0 and -d >= h) else 0)
                    if s == 0:
                        continue
                    if st["side"] != 0 and s != st["side"] and old and _intersect(st["last"], p, a, b):
                        out.append(
                            (r["id"], "cross_in" if st["side"] < 0 else "cross_out", tid, cls, ts, ts, 0)
                        )
                    st["side"], st["last"] = s, p
                    continue
                inside = _inside(p, [tuple(q) for q in r["polygon"]])
                if r["type"] == "intrusion":
                    if inside and not st["inside"] and old:
                        st["inside"], st["enter"] = True, ts
                        out.append((r["id"], "enter", tid, cls, ts, ts, 0))
                    elif not inside and st["inside"]:
                        st["inside"] = False
                        out.append((r["id"], "exit", tid, cls, ts, st["enter"], 0))
                elif r["type"] == "loitering":
                    if inside:
                        if st["enter"] < 0:
                            st["enter"] = ts
                        st["last_in"] = ts
                        if not st["rep"] and old and ts - st["enter"] >= round(r["dwell_s"] * 1e6):
                            st["rep"] = True
                            out.append((r["id"], "loitering", tid, cls, ts, st["enter"], 0))
                    elif st["enter"] >= 0 and ts - st["last_in"] > round(r.get("gap_s", 0) * 1e6):
                        st["enter"], st["rep"] = -1, False
                elif inside and old:
                    occupancy += 1
            if r["type"] == "crowding":
                c = self.crowd[k]
                if occupancy > r["max_count"]:
                    if c["since"] < 0:
                        c["since"] = ts
                    if not c["active"] and ts - c["since"] >= round(r.get("duration_s", 0) * 1e6):
                        c["active"] = True
                        out.append((r["id"], "crowding_start", -1, -1, ts, c["since"], occupancy))
                else:
                    if c["active"]:
                        out.append((r["id"], "crowding_end", -1, -1, ts, c["since"], occupancy))
                    c["since"], c["active"] = -1, False
        for tid in sorted(t for t, v in self.tracks.items() if ts - v["seen"] > self.forget):
            self._leave(tid, self.tracks.pop(tid), ts, out)
        return out

    def flush(self, ts: int) -> list[tuple]:
        out: list[tuple] = []
        for tid in sorted(self.tracks):
            self._leave(tid, self.tracks[tid], ts, out)
        self.tracks.clear()
        for k, c in enumerate(self.crowd):
            if c["active"]:
                out.append((self.rules[k]["id"], "crowding_end", -1, -1, ts, c["since"], 0))
            c["since"], c["active"] = -1, False
        return out


# ---- recorded tracks ----------------------------------------------------------------------------


def _frames(gt: Path, jitter: float, seed: int, drop: float) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """TUD-Campus ground truth as per-frame tracks (optionally jittered, with dropped boxes)."""
    g = np.loadtxt(gt, delimiter=",")
    rng = np.random.default_rng(seed)
    for f in range(int(g[:, 0].min()), int(g[:, 0].max()) + 1):
        rows = g[g[:, 0] == f]
        rows = rows[rng.random(len(rows)) >= drop] if drop else rows
        boxes = np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], 1)
        boxes = (boxes + rng.normal(0, jitter, boxes.shape)).astype(np.float32) if jitter else boxes
        yield (
            f,
            {
                "ids": rows[:, 1].astype(np.int64),
                "boxes": boxes.astype(np.float32),
                "class_ids": (rows[:, 1] % 2).astype(np.int32),  # two "classes" to exercise filters
            },
        )


GOLDEN_CONFIG: dict[str, Any] = {
    "channel": "tud",
    "forget_after_s": 0.2,
    "rules": [
        {"id": "mid", "type": "line_crossing", "line": [[320, 0], [320, 480]], "hysteresis": 6},
        {"id": "mid_old", "type": "line_crossing", "line": [[250, 100], [250, 470]], "hysteresis": 0,
         "min_track_age": 20, "classes": [1]},
        {"id": "right", "type": "intrusion", "polygon": [[330, 300], [640, 300], [640, 480], [330, 480]]},
        {"id": "centre", "type": "intrusion", "anchor": "center",
         "polygon": [[150, 200], [450, 180], [500, 330], [300, 250], [120, 360]]},
        {"id": "bench", "type": "loitering", "dwell_s": 0.8, "gap_s": 0.05,
         "polygon": [[100, 300], [420, 300], [420, 480], [100, 480]]},
        {"id": "crowd", "type": "crowding", "max_count": 2, "duration_s": 0.3,
         "polygon": [[0, 250], [640, 250], [640, 480], [0, 480]]},
    ],
}  # fmt: skip


def _replay(assets: Path, jitter: float, seed: int, drop: float) -> tuple[list[tuple], list[tuple]]:
    rules = vasdk.Rules(GOLDEN_CONFIG)
    ref = ReferenceRules(GOLDEN_CONFIG)
    got: list[tuple] = []
    want: list[tuple] = []
    last = 0
    for f, t in _frames(assets / "TUD-Campus" / "gt.txt", jitter, seed, drop):
        last = f * FRAME_US
        for e in rules.update(t, last):
            assert e.channel == "tud"
            got.append((e.rule_id, e.kind, e.track_id, e.class_id, e.timestamp_us, e.start_us, e.count))
        want += ref.update(t["ids"], t["boxes"], t["class_ids"], last)
    got += [(e.rule_id, e.kind, e.track_id, e.class_id, e.timestamp_us, e.start_us, e.count)
            for e in rules.flush(last + FRAME_US)]  # fmt: skip
    want += ref.flush(last + FRAME_US)
    return sorted(got), sorted(want)


@pytest.mark.parametrize(("jitter", "seed", "drop"), [(0.0, 0, 0.0), (3.0, 1, 0.0), (4.0, 2, 0.15)])
def test_golden_replay_matches_reference(assets: Path, jitter: float, seed: int, drop: float) -> None:
    got, want = _replay(assets, jitter, seed, drop)
    kinds = {k for _, k, *_ in want}
    # The recording must exercise every rule, or the comparison proves little.
    assert {"cross_in", "cross_out", "enter", "exit", "loitering", "crowding_start"} <= kinds, kinds
    assert got == want


# ---- crafted cases ------------------------------------------------------------------------------


def _one(tid: int, x: float, y: float, cls: int = 0, state: int = 1) -> dict[str, np.ndarray]:
    return {
        "ids": np.array([tid]),
        "boxes": np.array([[x - 10, y - 40, x + 10, y]], np.float32),
        "class_ids": np.array([cls]),
        "states": np.array([state]),
    }


def test_line_counts_jitter_and_direction() -> None:
    rules = vasdk.Rules(
        {"rules": [{"id": "door", "type": "line_crossing", "line": [[0, 100], [200, 100]], "hysteresis": 5}]}
    )
    events = []
    ts = 0
    for y in [140, 120, 104, 97, 103, 96, 104, 90, 60]:  # jitter around y = 100, then up
        ts += FRAME_US
        events += rules.update(_one(1, 100, y), ts)
    assert [e.kind for e in events] == ["cross_in"]
    assert rules.line_counts("door") == (1, 0)
    with pytest.raises(vasdk.NotFoundError, match="'nope'"):
        rules.line_counts("nope")


def test_tentative_and_lost_tracks_do_not_trigger_by_default() -> None:
    zone = [[0, 0], [100, 0], [100, 100], [0, 100]]
    rules = vasdk.Rules({"rules": [{"id": "z", "type": "intrusion", "polygon": zone}]})
    assert rules.update(_one(1, 50, 50, state=0), 0) == []
    assert rules.update(_one(1, 50, 50, state=2), 1) == []
    (e,) = rules.update(_one(1, 50, 50, state=1), 2)
    assert (e.kind, e.rule_type, e.track_id, e.best_shot_id) == ("enter", "intrusion", 1, -1)
    (e,) = rules.update(_one(1, 50, 50, state=3), 3)
    assert e.kind == "exit" and e.start_us == 2
    loose = vasdk.Rules(
        {"confirmed_only": False, "rules": [{"id": "z", "type": "intrusion", "polygon": zone}]}
    )
    assert [e.kind for e in loose.update(_one(1, 50, 50, state=0), 0)] == ["enter"]


def test_events_refer_to_best_shots() -> None:
    # A smooth scene (pure noise reads as impulse damage), seen twice: the selector holds an
    # observation until the track's next one has been compared with it.
    y, x = np.mgrid[0:200, 0:200]
    frame = np.dstack([x, y, (x + y) // 2]).astype(np.uint8)
    shots = vasdk.BestShotSelector()
    rules = vasdk.Rules(
        {"rules": [{"id": "z", "type": "intrusion", "polygon": [[0, 0], [200, 0], [200, 200]]}]}
    )
    t = _one(4, 150, 100)
    assert shots.update(frame, t, 0) == []
    assert shots.current_best(4) is None  # held for one observation
    assert shots.update(frame, t, 1) == []
    (e,) = rules.update(t, 1, shots=shots)
    assert e.best_shot_id == shots.current_best(4) is not None


BOWTIE = [[0, 0], [4, 4], [4, 0], [0, 4]]
TRI = [[0, 0], [9, 0], [9, 9]]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "a", "type": "intrusion", "polygon": BOWTIE}, r"rules\[1\]\.polygon: self-intersecting"),
        ({"id": "a", "type": "line_crossing", "line": [[3, 3], [3, 3]]}, r"rules\[1\]\.line: zero-length"),
        ({"id": "a", "type": "tripwire"}, r"rules\[1\]\.type: unknown rule type 'tripwire'"),
        ({"id": "a", "type": "crowding", "polygon": TRI}, r"rules\[1\]\.max_count: missing"),
        ({"id": "a", "type": "intrusion", "polygon": TRI, "dwell_s": 1},
         r"rules\[1\]\.dwell_s: unknown field for rule type 'intrusion'"),
        ({"id": "ok", "type": "intrusion", "polygon": TRI}, r"rules\[1\]\.id: duplicate"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_field(rule: dict[str, Any], message: str) -> None:
    ok = {"id": "ok", "type": "intrusion", "polygon": [[0, 0], [9, 0], [9, 9]]}
    with pytest.raises(vasdk.InvalidConfigError, match=message):
        vasdk.Rules({"rules": [ok, rule]})


def test_config_from_file_and_bad_tracks(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"channel": "c9", "rules": []}))
    rules = vasdk.Rules(path)
    assert rules.update({"ids": np.zeros(0), "boxes": np.zeros((0, 4))}, 0) == []
    with pytest.raises(vasdk.InvalidArgumentError, match=r"boxes\[0\] must be finite"):
        rules.update({"ids": [1], "boxes": [[5, 5, 1, 1]]}, 1)
    with pytest.raises(vasdk.InvalidArgumentError, match=r"before the previous"):
        rules.update({"ids": [], "boxes": np.zeros((0, 4))}, -5)
    with pytest.raises(vasdk.InvalidArgumentError, match=r"states\[0\]"):
        rules.update({"ids": [1], "boxes": [[1, 1, 5, 5]], "states": [7]}, 2)
