"""The `vasdk detect` command end to end on the real clip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import vasdk


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vasdk", *args], capture_output=True, text=True)


def test_detect_writes_video_jsonl_and_summary(tmp_path: Path, assets: Path) -> None:
    video, jsonl = tmp_path / "annotated.mp4", tmp_path / "dets.jsonl"
    res = run_cli("detect", str(assets / "vtest.avi"), "--model", str(assets / "yolov3-tiny.onnx"),
                  "--classes", "person,car,truck", "--out", str(video), "--jsonl", str(jsonl),
                  "--max-frames", "12", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "frames    12" in res.stdout and "person" in res.stdout
    lines = [json.loads(ln) for ln in jsonl.read_text().splitlines()]
    assert [ln["frame"] for ln in lines] == list(range(12))
    assert all({d["class"] for d in ln["detections"]} <= {"person", "car", "truck"} for ln in lines)
    assert sum(d["class"] == "person" for d in lines[0]["detections"]) >= 3
    with vasdk.VideoReader(video) as r:
        assert (r.width, r.height) == (768, 576)
        assert sum(1 for _ in r) == 12


def test_detect_reports_bad_input(tmp_path: Path, assets: Path) -> None:
    res = run_cli("detect", str(tmp_path / "missing.avi"), "--model", str(assets / "yolov3-tiny.onnx"))
    assert res.returncode == 1 and "missing.avi" in res.stderr
    res = run_cli("detect", str(assets / "vtest.avi"), "--model", str(assets / "yolov3-tiny.onnx"),
                  "--classes", "unicorn")
    assert res.returncode == 1 and "unicorn" in res.stderr
