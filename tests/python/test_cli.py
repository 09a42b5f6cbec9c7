"""The `vasdk detect` command end to end on the real clip."""

from __future__ import annotations

import json
import re
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


def test_run_prints_plain_stats_lines_when_piped(tmp_path: Path, assets: Path) -> None:
    cfg = {
        "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"), "options": {"threads": 2}}},
        "channels": [{"id": "cam1", "source": {"url": "vtest.avi", "realtime": True}, "detect_interval": 3}],
    }
    (tmp_path / "vtest.avi").symlink_to(assets / "vtest.avi")  # relative to the config file
    (tmp_path / "p.json").write_text(json.dumps(cfg))
    res = run_cli("run", str(tmp_path / "p.json"), "--duration", "2.5", "--interval", "0.5")
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout  # no ANSI when piped
    assert re.search(r"^inference: ort \d+\.\d+\.\d+, 1 lane\(s\)$", res.stdout, re.M), res.stdout[:300]
    tables = len(re.findall(r"^channel +state +fps", res.stdout, re.M))
    assert tables >= 3  # refreshed while running, plus the final table
    final = res.stdout.split("vasdk run:")[-1]
    row = next(ln for ln in final.splitlines() if ln.startswith("cam1"))
    processed = int(row.split()[4])
    assert 3 <= processed <= 40  # paced at 10 fps for about 2.5 s (fewer when the CPU is busy)


def test_run_reports_bad_config(tmp_path: Path, assets: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        f"models:\n  detector:\n    model: {assets / 'yolov3-tiny.onnx'}\n"
        "channels:\n  - id: cam1\n    push: true\n    policy: sometimes\n"
    )
    res = run_cli("run", str(tmp_path / "p.yaml"), "--duration", "1")
    assert res.returncode == 1
    assert "channels[0].policy" in res.stderr
def test_assets_path_resolves_in_the_cache_and_fetch_is_a_development_step(assets: Path) -> None:
    res = run_cli("assets", "path", "vtest.avi")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()) == assets / "vtest.avi"
    res = run_cli("assets", "path", "yolov3-tiny.cfg")  # a unique bare name under sources/
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()).is_file()
    res = run_cli("assets", "path", "nope.avi")
    assert res.returncode == 1 and "scripts/setup.sh" in res.stderr
    res = run_cli("assets", "fetch")
    assert res.returncode == 2 and "scripts/assets.py fetch" in res.stderr
