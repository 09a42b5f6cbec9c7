"""The C ABI seen from outside: cffi over libvasdk.so, and the C sample compiled against the
installed package, both agreeing with the Python API."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import vasdk
from vasdk import capi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lib():
    return capi.load()


def test_version_matches_package(lib) -> None:
    assert capi.ffi.string(lib.vas_version()).decode() == vasdk.__version__
    assert capi.ffi.string(lib.vas_status_str(lib.VAS_ERR_INVALID_CONFIG)) == b"VAS_ERR_INVALID_CONFIG"


def _c_detect_frame(lib, assets: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    ffi = capi.ffi
    cfg = ffi.new("vas_detector_config_t*")
    lib.vas_detector_config_init(cfg)
    model = ffi.new("char[]", str(assets / "yolov3-tiny.onnx").encode())
    opts = ffi.new("char[]", b'{"threads": 2}')
    cfg.model_path, cfg.options_json = model, opts
    det_p = ffi.new("vas_detector_t**")
    capi.check(lib.vas_detector_create(cfg, det_p))
    det = ffi.gc(det_p[0], lib.vas_detector_destroy)

    rcfg = ffi.new("vas_video_reader_config_t*")
    lib.vas_video_reader_config_init(rcfg)
    url = ffi.new("char[]", str(assets / "vtest.avi").encode())
    rcfg.url = url
    rd_p = ffi.new("vas_video_reader_t**")
    capi.check(lib.vas_video_reader_create(rcfg, rd_p))
    reader = ffi.gc(rd_p[0], lib.vas_video_reader_destroy)
    frame = ffi.new("vas_image_t*")
    lib.vas_image_init(frame)
    for _ in range(index + 1):
        assert capi.check(lib.vas_video_reader_read(reader, frame, ffi.NULL)) == lib.VAS_OK
    items = ffi.new("vas_detection_t**")
    count = ffi.new("size_t*")
    capi.check(lib.vas_detector_detect(det, frame, items, count))
    n = count[0]
    buf = ffi.buffer(items[0], n * ffi.sizeof("vas_detection_t"))
    rec = np.frombuffer(buf, dtype=np.dtype([("box", "<f4", 4), ("score", "<f4"), ("cls", "<i4"),
                                             ("nlm", "<i4"), ("lm", "<f4", 10)]))
    return rec["box"].copy(), rec["score"].copy()


def test_c_abi_agrees_with_python_api(lib, assets: Path) -> None:
    boxes, scores = _c_detect_frame(lib, assets, 300)
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(f for i, f in enumerate(r) if i == 300)
    py = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2)(frame)
    np.testing.assert_allclose(boxes, py.boxes, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(scores, py.scores, rtol=1e-5)


def test_errors_carry_status_and_message(lib) -> None:
    ffi = capi.ffi
    cfg = ffi.new("vas_detector_config_t*")
    lib.vas_detector_config_init(cfg)
    out = ffi.new("vas_detector_t**")
    with pytest.raises(vasdk.InvalidArgumentError, match="model_path"):
        capi.check(lib.vas_detector_create(cfg, out))
    assert out[0] == ffi.NULL
    with pytest.raises(vasdk.InvalidArgumentError, match="config is NULL"):
        capi.check(lib.vas_detector_create(ffi.NULL, out))
    lib.vas_detector_destroy(ffi.NULL)


def _compiler() -> str:
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return cc
    pytest.fail("no C compiler: scripts/setup.sh installs build-essential")


def test_c_sample_builds_against_the_package_and_agrees(tmp_path: Path, assets: Path) -> None:
    libdir = capi.library_path().parent
    include = capi.header_path().parents[1]
    exe = tmp_path / "detect_video"
    subprocess.run(
        [_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{include}",
         str(ROOT / "samples/c/detect_video.c"), f"-L{libdir}", "-lvasdk", f"-Wl,-rpath,{libdir}",
         "-o", str(exe)],
        check=True)
    out = subprocess.run([str(exe), str(assets / "yolov3-tiny.onnx"), str(assets / "vtest.avi"),
                          '{"threads": 2}', "21"], capture_output=True, text=True, check=True)
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.startswith("frame 20 ")]
    c_boxes = np.array([[float(v) for v in r[4:8]] for r in rows], np.float32)
    c_scores = np.array([float(r[3]) for r in rows], np.float32)
    assert "21 frames" in out.stderr
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(f for i, f in enumerate(r) if i == 20)
    py = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2)(frame)
    assert [r[2] for r in rows] == py.names
    np.testing.assert_allclose(c_boxes, py.boxes, atol=0.006)  # printed with 2 decimals
    np.testing.assert_allclose(c_scores, py.scores, atol=6e-5)
    assert sum(1 for r in rows if r[2] == "person" and float(r[3]) >= 0.5) == 4

    bad = subprocess.run([str(exe), str(tmp_path / "none.onnx"), str(assets / "vtest.avi")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "VAS_ERR_NOT_FOUND" in bad.stderr


def test_preprocess_c_api_matches_python_api(lib) -> None:
    """vas_preprocess() through cffi gives the bytes and box mapping vasdk.preprocess gives,
    for a letterboxed NV12 frame, and reports a bad field by name."""
    from vasdk.preprocess import Preprocessor

    ffi = capi.ffi
    rng = np.random.default_rng(5)
    h, w = 180, 322
    nv12 = rng.integers(0, 256, (h * 3 // 2, w), dtype=np.uint8)
    want = Preprocessor(128, 96, letterbox=True, threads=1)(nv12, "NV12")

    img = ffi.new("vas_image_t*")
    lib.vas_image_init(img)
    img.format, img.width, img.height = lib.VAS_PIXEL_FORMAT_NV12, w, h
    img.planes[0] = ffi.cast("const uint8_t*", nv12.ctypes.data)
    img.planes[1] = ffi.cast("const uint8_t*", nv12[h:].ctypes.data)
    img.strides[0] = img.strides[1] = w
    spec = ffi.new("vas_preprocess_spec_t*")
    lib.vas_preprocess_spec_init(spec)
    spec.width, spec.height, spec.resize_mode = 128, 96, lib.VAS_RESIZE_LETTERBOX
    pp_p = ffi.new("vas_preprocessor_t**")
    capi.check(lib.vas_preprocessor_create(ffi.NULL, pp_p))
    pp = ffi.gc(pp_p[0], lib.vas_preprocessor_destroy)
    out = np.empty((1, 3, 96, 128), np.float32)
    tf = ffi.new("vas_box_transform_t*")
    capi.check(lib.vas_preprocess(pp, img, spec, ffi.cast("void*", out.ctypes.data), out.nbytes, tf))
    np.testing.assert_array_equal(out, want)
    assert (tf.scale_x, tf.offset_x) == pytest.approx((128 / 322, 0.0), abs=2e-3)
    assert tf.offset_y > 0  # 322x180 letterboxed into 128x96 leaves bands above and below

    spec.pad_value = 256
    with pytest.raises(vasdk.VasError, match=r"vas_preprocess_spec_t\.pad_value is 256"):
        capi.check(lib.vas_preprocess(pp, img, spec, ffi.cast("void*", out.ctypes.data), out.nbytes, tf))
