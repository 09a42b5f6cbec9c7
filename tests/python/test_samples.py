"""The Python samples run as a user would run them, on a short real clip."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clip(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 30 frames of vtest.avi (3 s at 10 fps), re-encoded once."""
    out = tmp_path_factory.mktemp("clip") / "vtest30.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(assets / "vtest.avi"), "-frames:v", "30",
                    "-c:v", "libx264", "-g", "10", "-bf", "0", str(out)], check=True, timeout=120)
    return out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


def test_line_count_sample_counts_a_real_clip(clip: Path, assets: Path) -> None:
    res = _run(str(ROOT / "samples/python/line_count.py"), str(clip), str(assets / "yolov3-tiny.onnx"), "300")
    assert res.returncode == 0, res.stderr
    words = res.stdout.split()
    assert words[0] == "30" and "crossed in" in res.stdout, res.stdout


def test_board_app_sample_saves_best_shots_privately(clip: Path, assets: Path, tmp_path: Path) -> None:
    cfg = {
        "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"),
                                "options": {"classes": ["person"]}}},
        "channels": [{"id": "cam", "source": {"url": str(clip)}, "policy": "block",
                      "analytics": {"best_shot": {"top_k": 1, "jpeg": True}}}],
    }
    (tmp_path / "board.json").write_text(json.dumps(cfg))
    out = tmp_path / "shots"
    res = _run(str(ROOT / "samples/python/board_app.py"), str(tmp_path / "board.json"), str(out))
    assert res.returncode == 0, res.stderr
    assert "done: 30 frames" in res.stdout, res.stdout
    shots = list(out.glob("*.jpg"))
    assert shots, res.stdout
    assert all(s.read_bytes()[:2] == b"\xff\xd8" for s in shots)
    assert all(stat.S_IMODE(s.stat().st_mode) == 0o600 for s in shots)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
