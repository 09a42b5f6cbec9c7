"""Truncated and corrupt video: reader stats, error classes and the `vasdk detect` verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import vasdk


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vasdk", *args], capture_output=True, text=True)


@pytest.fixture
def truncated(tmp_path: Path, assets: Path) -> Path:
    path = tmp_path / "head.avi"
    path.write_bytes((assets / "vtest.avi").read_bytes()[:100_000])
    return path


def test_reader_counts_a_truncated_file(truncated: Path) -> None:
    with vasdk.VideoReader(truncated) as reader:
        frames = sum(1 for _ in reader)
        stats = reader.stats()
    assert reader.frame_count == 795
    assert stats.decoded == frames
    assert 0 < frames < 20
    assert stats.truncated or stats.damaged + stats.rejected_packets > 0
    assert reader.stats() == stats  # still readable after close


def test_reader_on_clean_file_is_complete(assets: Path) -> None:
    with vasdk.VideoReader(assets / "vtest.avi") as reader:
        frames = sum(1 for _ in reader)
        stats = reader.stats()
    assert frames == stats.decoded == reader.frame_count
    assert (stats.damaged, stats.rejected_packets, stats.truncated) == (0, 0, False)


@pytest.mark.parametrize("data", [b"", b"RIFF\x10\x00\x00\x00AVI LIST", bytes(4096)])
def test_empty_or_corrupt_container_is_io_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.avi"
    path.write_bytes(data)
    with pytest.raises(vasdk.IoError):
        vasdk.VideoReader(path)


def test_detect_fails_on_a_truncated_file_unless_partial_is_allowed(
    tmp_path: Path, assets: Path, truncated: Path
) -> None:
    jsonl = tmp_path / "dets.jsonl"
    common = ("--model", str(assets / "yolov3-tiny.onnx"), "--quiet", "--jsonl", str(jsonl))
    res = run_cli("detect", str(truncated), *common)
    assert res.returncode == 3, res.stderr
    decoded = len(jsonl.read_text().splitlines())
    summary = f"{decoded} of 795 frames decoded"
    assert summary in res.stdout
    assert "missing" in res.stdout
    assert "--allow-partial" in res.stderr
    ok = run_cli("detect", str(truncated), *common, "--allow-partial")
    assert ok.returncode == 0, ok.stderr
    assert summary in ok.stdout
