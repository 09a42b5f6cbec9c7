"""`vasdk run` on damaged and truncated files: the source reports the damage before its end,
the end says why, and the run exits 3 unless --accept-damaged; a clean file still exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from vasdk.cli import EXIT_DAMAGED, source_verdicts


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vasdk", *args], capture_output=True, text=True)


def ev(channel: str, subkind: str, message: str = "") -> SimpleNamespace:
    return SimpleNamespace(channel=channel, kind="source", subkind=subkind, message=message)


def test_verdicts_follow_the_end_reason_and_damage_events() -> None:
    events = [
        ev("a", "end_of_stream", "complete: video_reader 'a.avi': end of stream"),
        ev("b", "damaged", "source 'b.avi': 3 corrupt packet(s) or damaged frame(s) skipped"),
        ev("b", "end_of_stream", "damaged: video_reader 'b.avi': end of stream"),
        ev("c", "damaged", "source 'c.avi': ...; the file is truncated"),
        ev("c", "end_of_stream", "truncated: video_reader 'c.avi': end of stream"),
        ev("d", "damaged", "2 corrupt packet(s) or damaged frame(s) skipped (2 in all)"),
        SimpleNamespace(channel="e", kind="track_start", subkind="", message=""),
    ]
    assert source_verdicts(events) == {"a": "complete", "b": "damaged", "c": "truncated", "d": "damaged"}


def write_config(tmp_path: Path, assets: Path, videos: dict[str, Path]) -> Path:
    cfg = {
        "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"), "options": {"threads": 1}}},
        "channels": [{"id": cid, "source": {"url": str(v)}, "detect_interval": 25, "policy": "block"}
                     for cid, v in videos.items()],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_run_exits_3_on_a_damaged_file_unless_accepted(tmp_path: Path, assets: Path, damage: str) -> None:
    data = bytearray((assets / "vtest.avi").read_bytes()[: 3 << 20])
    if damage == "garbage":
        data = bytearray((assets / "Megamind.avi").read_bytes())  # the shorter clip: 270 frames
        at = len(data) // 2
        data[at:at + (64 << 10)] = bytes((i * 131) & 0xFF for i in range(64 << 10))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    cfg = write_config(tmp_path, assets, {"bad": bad})
    summary = tmp_path / "summary.json"
    res = run_cli("run", str(cfg), "--interval", "5", "--summary", str(summary))
    assert res.returncode == EXIT_DAMAGED, res.stderr
    want = "truncated" if damage == "cut" else "damaged"
    assert f"bad {want}" in res.stderr and "--accept-damaged" in res.stderr
    assert json.loads(summary.read_text())["sources"] == {"bad": want}
    ok = run_cli("run", str(cfg), "--interval", "5", "--accept-damaged")
    assert ok.returncode == 0, ok.stderr


def test_damage_event_comes_before_end_of_stream(tmp_path: Path, assets: Path) -> None:
    import vasdk

    bad = tmp_path / "cut.avi"
    bad.write_bytes((assets / "vtest.avi").read_bytes()[: 1 << 20])
    events: list[tuple[str, str]] = []
    cfg = {"channels": [{"id": "cut", "source": {"url": str(bad)}, "policy": "block", "detect_interval": 25}],
           "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx")}}}
    with vasdk.Pipeline(cfg) as pipe:
        pipe.on_result(lambda r: None)
        pipe.on_event(lambda e: events.append((e.subkind, e.message)) if e.kind == "source" else None)
        pipe.start()
        assert pipe.wait(timeout=120)
        pipe.stop(drain=True)
    kinds = [k for k, _ in events]
    assert "damaged" in kinds and kinds[-1] == "end_of_stream", events
    assert kinds.index("damaged") < kinds.index("end_of_stream")
    assert events[-1][1].startswith("truncated: "), events[-1]
    assert "truncated" in events[kinds.index("damaged")][1]


def test_run_on_a_clean_file_exits_0(tmp_path: Path, assets: Path) -> None:
    cfg = write_config(tmp_path, assets, {"clean": assets / "Megamind.avi"})
    res = run_cli("run", str(cfg), "--interval", "5")
    assert res.returncode == 0, res.stderr
    assert "damaged" not in res.stderr
