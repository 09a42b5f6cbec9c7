"""Hostile strings at the Python boundary: embedded NUL, file names that are not UTF-8,
C messages that echo them, and empty landmark arrays."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import vasdk
from vasdk import capi


def test_path_with_embedded_nul_is_refused(tmp_path: Path, assets: Path) -> None:
    for bad in (str(assets / "vtest.avi") + "\x00.txt", os.fsencode(assets / "vtest.avi") + b"\x00x"):
        with pytest.raises(vasdk.InvalidArgumentError, match="NUL"):
            vasdk.VideoReader(bad)
    with pytest.raises(vasdk.InvalidArgumentError, match="NUL"):
        vasdk.Detector(str(assets / "yolov3-tiny.onnx") + "\x00")
    with pytest.raises(vasdk.InvalidArgumentError, match="NUL"):
        vasdk.VideoWriter(str(tmp_path / "out") + "\x00.mp4", 64, 48)


def test_non_utf8_file_names_work(tmp_path: Path, assets: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/clip-\xff\xfe.avi"
    shutil.copyfile(assets / "vtest.avi", raw)
    as_str = os.fsdecode(raw)  # surrogate-escaped str, as os.listdir returns it
    for name in (raw, as_str, Path(as_str)):
        with vasdk.VideoReader(name) as reader:
            assert reader.read() is not None


def test_errors_echoing_non_utf8_names_are_vas_errors(tmp_path: Path) -> None:
    missing = os.fsencode(tmp_path) + b"/gone-\xff.avi"
    with pytest.raises(vasdk.NotFoundError, match=r"gone-"):
        vasdk.VideoReader(missing)
    lib = capi.load()
    cfg = capi.ffi.new("vas_video_reader_config_t*")
    lib.vas_video_reader_config_init(cfg)
    url = capi.ffi.new("char[]", missing)
    cfg.url = url
    out = capi.ffi.new("vas_video_reader_t**")
    with pytest.raises(vasdk.NotFoundError, match=r"\\xff"):
        capi.check(lib.vas_video_reader_create(cfg, out))


def test_best_shot_update_accepts_empty_landmarks() -> None:
    sel = vasdk.BestShotSelector()
    frame = np.zeros((48, 64, 3), np.uint8)
    tracks = {"ids": np.zeros(0, np.int64), "boxes": np.zeros((0, 4), np.float32),
              "landmarks": np.zeros((0, 5, 2), np.float32)}
    assert sel.update(frame, tracks, 0) == []
    bad = dict(tracks, ids=np.array([1]), boxes=np.array([[1, 1, 9, 9]], np.float32))
    with pytest.raises(vasdk.InvalidArgumentError, match="landmarks"):
        sel.update(frame, bad, 1)


def test_path_of_wrong_type_is_invalid_argument() -> None:
    with pytest.raises(vasdk.InvalidArgumentError, match="url"):
        vasdk.VideoReader(42)  # type: ignore[arg-type]
