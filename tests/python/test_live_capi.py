"""The live view's C calls through cffi: vas_pipeline_live_watch / vas_pipeline_live_frame on a
pushed channel, their answers to NULLs, short structs, bad timeouts and unknown channels, and
out-parameters left untouched on error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import vasdk
from vasdk import capi


@pytest.fixture(scope="module")
def lib():
    return capi.load()


def test_live_frames_through_the_c_api(lib, assets: Path) -> None:
    ffi = capi.ffi
    cfg_json = json.dumps(
        {
            "models": {
                "detector": {
                    "model": str(assets / "yolov3-tiny.onnx"),
                    "options": {"threads": 1, "input_width": 320, "input_height": 256},
                }
            },
            "channels": [
                {
                    "id": "cam",
                    "push": True,
                    "queue": 4,
                    "policy": "block",
                    "analytics": {
                        "rules": {
                            "rules": [{"id": "door", "type": "line_crossing", "line": [[10, 20], [100, 20]]}]
                        }
                    },
                }
            ],
        }
    ).encode()
    cfg = ffi.new("vas_pipeline_config_t*")
    lib.vas_pipeline_config_init(cfg)
    text = ffi.new("char[]", cfg_json)
    cfg.config_json = text
    out = ffi.new("vas_pipeline_t**")
    capi.check(lib.vas_pipeline_create(cfg, out))
    p = ffi.gc(out[0], lib.vas_pipeline_destroy)
    capi.check(lib.vas_pipeline_start(p))
    frame = ffi.new("vas_live_frame_t*")
    frame.struct_size = ffi.sizeof("vas_live_frame_t")
    frame.seq = 12345  # must survive every failed call
    cam, nosuch = ffi.new("char[]", b"cam"), ffi.new("char[]", b"nosuch")

    def fails(rc: int, err: type[Exception], match: str) -> None:
        with pytest.raises(err, match=match):
            capi.check(rc)
        assert frame.seq == 12345

    # Nobody watches: no picture comes.
    fails(lib.vas_pipeline_live_frame(p, cam, 0, 50, frame), vasdk.VasError, "no new frame")
    fails(lib.vas_pipeline_live_watch(p, cam, 0), vasdk.InvalidArgumentError, "no viewer")
    fails(lib.vas_pipeline_live_watch(p, nosuch, 1), vasdk.NotFoundError, "nosuch")
    fails(lib.vas_pipeline_live_watch(ffi.NULL, cam, 1), vasdk.InvalidArgumentError, "NULL")
    fails(lib.vas_pipeline_live_watch(p, ffi.NULL, 1), vasdk.InvalidArgumentError, "channel_id")
    fails(lib.vas_pipeline_live_frame(p, cam, 0, -1, frame), vasdk.InvalidArgumentError, "timeout_ms")
    fails(lib.vas_pipeline_live_frame(p, cam, 0, 60001, frame), vasdk.InvalidArgumentError, "timeout_ms")
    fails(lib.vas_pipeline_live_frame(p, nosuch, 0, 10, frame), vasdk.NotFoundError, "nosuch")
    fails(lib.vas_pipeline_live_frame(p, cam, 0, 10, ffi.NULL), vasdk.InvalidArgumentError, "frame is NULL")
    short = ffi.new("vas_live_frame_t*")
    short.struct_size = 4
    with pytest.raises(vasdk.InvalidArgumentError, match="struct_size"):
        capi.check(lib.vas_pipeline_live_frame(p, cam, 0, 10, short))

    capi.check(lib.vas_pipeline_live_watch(p, cam, 1))
    img = np.full((240, 320, 3), 100, np.uint8)
    vimg = ffi.new("vas_image_t*")
    lib.vas_image_init(vimg)
    vimg.format = lib.VAS_PIXEL_FORMAT_BGR24
    vimg.width, vimg.height = 320, 240
    vimg.planes[0] = ffi.cast("uint8_t*", img.ctypes.data)
    vimg.strides[0] = 320 * 3
    got = None
    end = time.monotonic() + 10
    pts = 0
    while got is None and time.monotonic() < end:
        capi.check(lib.vas_pipeline_push_frame(p, cam, vimg, pts, ffi.NULL, ffi.NULL))
        pts += 40000
        if lib.vas_pipeline_live_frame(p, cam, 0, 200, frame) == lib.VAS_OK:
            got = bytes(ffi.buffer(frame.jpeg, frame.jpeg_size))
    assert got is not None and got[:2] == b"\xff\xd8"
    assert (frame.width, frame.height) == (320, 240) and frame.seq >= 1
    # An older struct (only the first 16 bytes known) gets only those filled.
    old = ffi.new("vas_live_frame_t*")
    old.struct_size = 16
    capi.check(lib.vas_pipeline_live_frame(p, cam, 0, 10, old))
    assert old.width == 320 and old.seq == 0 and old.jpeg == ffi.NULL
    capi.check(lib.vas_pipeline_live_watch(p, cam, 0))
    capi.check(lib.vas_pipeline_stop(p, 0))
