"""vasdk preprocessing against OpenCV (cv2) and the scalar reference, on odd sizes and strides."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vasdk.errors import InvalidArgumentError, UnsupportedError
from vasdk.preprocess import Preprocessor

IMPLS = (
    ["reference", "portable"]
    + (["avx2"] if Preprocessor.avx2_available() else [])
    + (["avx512"] if Preprocessor.avx512_available() else [])
)
YUV_CODES = {"NV12": cv2.COLOR_YUV2RGB_NV12, "NV21": cv2.COLOR_YUV2RGB_NV21, "I420": cv2.COLOR_YUV2RGB_I420}


def strided(a: np.ndarray, pad: int) -> np.ndarray:
    """The same pixels as a view whose rows are `pad` bytes longer than they need to be."""
    h = a.shape[0]
    row = a[0].size
    big = np.zeros((h, row + pad), np.uint8)
    big[:, :row] = a.reshape(h, row)
    v = big[:, :row]
    return v.reshape(a.shape) if a.ndim == 3 else v


def random_image(fmt: str, w: int, h: int, seed: int) -> tuple[object, np.ndarray]:
    """(vasdk input, RGB uint8 of the same pixels as OpenCV converts them)."""
    rng = np.random.default_rng(seed)
    if fmt in ("BGR", "RGB"):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        rgb = img[:, :, ::-1] if fmt == "BGR" else img
        return strided(img, 5), np.ascontiguousarray(rgb)
    if fmt == "GRAY":
        img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        return strided(img, 3), np.repeat(img[:, :, None], 3, axis=2)
    buf = rng.integers(0, 256, (h * 3 // 2, w), dtype=np.uint8)
    rgb = cv2.cvtColor(buf, YUV_CODES[fmt])
    y = strided(buf[:h], 7)
    if fmt == "I420":
        chroma = buf[h:].reshape(-1)
        u = strided(chroma[: h * w // 4].reshape(h // 2, w // 2), 3)
        v = strided(chroma[h * w // 4 :].reshape(h // 2, w // 2), 9)
        return (y, u, v), rgb
    return (y, strided(buf[h:], 11)), rgb


def letterbox_geometry(w: int, h: int, nw: int, nh: int) -> tuple[int, int, int, int]:
    s = min(np.float32(nw) / np.float32(w), np.float32(nh) / np.float32(h))
    cw = max(1, min(nw, int(np.floor(np.float32(w) * s + 0.5))))
    ch = max(1, min(nh, int(np.floor(np.float32(h) * s + 0.5))))
    return cw, ch, (nw - cw) // 2, (nh - ch) // 2


def cv_reference(rgb: np.ndarray, nw: int, nh: int, interp: int, letterbox: bool, pad: int) -> np.ndarray:
    """OpenCV in float: resize, border, /255, NCHW."""
    h, w = rgb.shape[:2]
    if letterbox:
        cw, ch, x0, y0 = letterbox_geometry(w, h, nw, nh)
    else:
        cw, ch, x0, y0 = nw, nh, 0, 0
    r = cv2.resize(rgb.astype(np.float32), (cw, ch), interpolation=interp)
    r = cv2.copyMakeBorder(r, y0, nh - ch - y0, x0, nw - cw - x0, cv2.BORDER_CONSTANT, value=(pad,) * 3)
    return (r / 255.0).astype(np.float32).transpose(2, 0, 1)[None]


@pytest.mark.parametrize("fmt", ["BGR", "RGB", "GRAY", "NV12", "NV21", "I420"])
@pytest.mark.parametrize("impl", IMPLS)
def test_bilinear_letterbox_matches_opencv(fmt: str, impl: str) -> None:
    for i, (w, h, nw, nh) in enumerate([(97, 61, 48, 40), (38, 22, 71, 53), (250, 120, 64, 64)]):
        if fmt in ("NV12", "NV21", "I420"):
            w, h = w & ~1, h & ~1
        img, rgb = random_image(fmt, w, h, seed=i)
        pre = Preprocessor(nw, nh, letterbox=True, pad_value=114, impl=impl)
        got = pre(img, fmt)
        want = cv_reference(rgb, nw, nh, cv2.INTER_LINEAR, True, 114)
        np.testing.assert_allclose(got, want, atol=1e-3, rtol=0, err_msg=f"{fmt} {w}x{h}->{nw}x{nh}")


@pytest.mark.parametrize("interp,cv_interp", [("area", cv2.INTER_AREA), ("bilinear", cv2.INTER_LINEAR)])
def test_stretch_downscale_matches_opencv(interp: str, cv_interp: int) -> None:
    for i, (w, h, nw, nh) in enumerate([(301, 203, 50, 47), (640, 480, 160, 120), (123, 77, 40, 70)]):
        img, rgb = random_image("BGR", w, h, seed=10 + i)
        for impl in IMPLS:
            got = Preprocessor(nw, nh, letterbox=False, interp=interp, impl=impl)(img, "BGR")
            want = cv_reference(rgb, nw, nh, cv_interp, False, 0)
            np.testing.assert_allclose(got, want, atol=1e-3, rtol=0, err_msg=f"{interp} {impl} {w}x{h}")


@pytest.mark.parametrize("fmt", ["BGR", "NV12", "I420"])
def test_uint8_output_within_one_lsb_of_opencv(fmt: str) -> None:
    img, rgb = random_image(fmt, 214, 130, seed=3)
    for impl in IMPLS:
        pre = Preprocessor(73, 59, letterbox=False, scale=1.0, dtype="uint8", layout="NHWC", impl=impl)
        got = pre(img, fmt)[0].astype(np.int16)
        want = cv2.resize(rgb, (73, 59), interpolation=cv2.INTER_LINEAR).astype(np.int16)
        assert np.abs(got - want).max() <= 1, impl


def test_nearest_uint8_is_exact() -> None:
    img, rgb = random_image("BGR", 200, 90, seed=4)
    for nw, nh in [(50, 30), (100, 45), (333, 171)]:
        for impl in IMPLS:
            pre = Preprocessor(
                nw, nh, letterbox=False, interp="nearest", scale=1.0, dtype="uint8", layout="NHWC", impl=impl
            )
            want = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_NEAREST)
            np.testing.assert_array_equal(pre(img, "BGR")[0], want, err_msg=f"{impl} {nw}x{nh}")


def test_fast_paths_match_reference_for_int8_float16_and_mean_std() -> None:
    img, _ = random_image("NV21", 130, 98, seed=5)
    kw = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), color="BGR")
    for dtype, tol in (("float32", 1e-3), ("float16", 4e-3)):
        ref = Preprocessor(64, 48, dtype=dtype, impl="reference", **kw)(img, "NV21").astype(np.float32)
        for impl in IMPLS[1:]:
            got = Preprocessor(64, 48, dtype=dtype, impl=impl, **kw)(img, "NV21").astype(np.float32)
            np.testing.assert_allclose(got, ref, atol=tol, rtol=0)
    q = dict(scale=1.0, mean=(128.0, 128.0, 128.0), dtype="int8", quant_scale=1.0)
    ref = Preprocessor(64, 48, impl="reference", **q)(img, "NV21").astype(np.int16)
    for impl in IMPLS[1:]:
        got = Preprocessor(64, 48, impl=impl, **q)(img, "NV21").astype(np.int16)
        assert np.abs(got - ref).max() <= 1


def test_letterbox_transform_maps_boxes_back_exactly() -> None:
    img = np.zeros((1080, 1920, 3), np.uint8)
    pre = Preprocessor(640, 640)
    out = pre(img, "BGR")
    assert out.shape == (1, 3, 640, 640) and out.dtype == np.float32
    tf = pre.transform
    assert (tf.offset_x, tf.offset_y) == (0.0, 140.0)
    boxes = np.array([[0, 140, 640, 500], [320, 320, 321, 321]], np.float32)
    np.testing.assert_array_equal(tf.to_source(boxes)[0], [0, 0, 1920, 1080])
    np.testing.assert_allclose(tf.to_source(boxes)[1], [960, 540, 963, 543], atol=1e-3)
    np.testing.assert_allclose(out[0, :, 0, 0], 114 / 255, atol=1e-6)  # pad row


def test_roi_crop_matches_opencv_on_the_crop() -> None:
    img, rgb = random_image("NV12", 160, 120, seed=6)
    pre = Preprocessor(32, 32)
    got = pre(img, "NV12", roi=(40, 20, 64, 48))
    want = cv_reference(rgb[20:68, 40:104], 32, 32, cv2.INTER_LINEAR, True, 114)
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=0)
    tf = pre.transform
    np.testing.assert_allclose(
        tf.to_source(np.array([[0, 4, 32, 28]], np.float32))[0], [40, 20, 104, 68], atol=1e-4
    )


def test_batch_and_out_reuse() -> None:
    a, _ = random_image("BGR", 99, 51, seed=7)
    b, _ = random_image("BGR", 40, 80, seed=8)
    pre = Preprocessor(32, 32, threads=2)
    out = np.empty((2, 3, 32, 32), np.float32)
    res = pre.batch([a, b], "BGR", out=out)
    assert res is out
    np.testing.assert_array_equal(out[0], pre(a, "BGR")[0])
    np.testing.assert_array_equal(out[1], pre(b, "BGR")[0])
    single = np.empty((1, 3, 32, 32), np.float32)
    assert pre(a, "BGR", out=single) is single


def test_bad_input_raises_with_the_cause() -> None:
    pre = Preprocessor(16, 16)
    with pytest.raises(InvalidArgumentError, match="even width and height"):
        pre(np.zeros((15, 9), np.uint8), "NV12")  # 9 columns: odd width
    with pytest.raises(InvalidArgumentError, match="size must be positive"):
        pre(np.zeros((0, 4, 3), np.uint8), "BGR")
    with pytest.raises(InvalidArgumentError, match="smaller than the chroma"):
        pre((np.zeros((8, 8), np.uint8), np.zeros((4, 6), np.uint8)), "NV12")
    with pytest.raises(InvalidArgumentError, match="not a tuple of planes"):
        pre((np.zeros((8, 24), np.uint8),), "BGR")
    with pytest.raises(InvalidArgumentError, match="needs 2 plane"):
        pre((np.zeros((8, 8), np.uint8),), "NV12")
    with pytest.raises(InvalidArgumentError, match="out holds"):
        pre(np.zeros((8, 8, 3), np.uint8), "BGR", out=np.empty((1, 3, 8, 8), np.float32))
    with pytest.raises(InvalidArgumentError, match="dtype"):
        pre(np.zeros((8, 8, 3), np.uint8), "BGR", out=np.empty((1, 3, 16, 16), np.float64))
    with pytest.raises(InvalidArgumentError, match="outside the 8x8 image"):
        pre(np.zeros((8, 8, 3), np.uint8), "BGR", roi=(4, 4, 8, 8))
    with pytest.raises(InvalidArgumentError, match="network input size must be positive"):
        Preprocessor(0, 16)
    with pytest.raises(InvalidArgumentError, match="std\\[2\\]"):
        Preprocessor(16, 16, std=(1, 1, 0))
    with pytest.raises(InvalidArgumentError, match="unknown interpolation"):
        Preprocessor(16, 16, interp="cubic")
    if not Preprocessor.avx2_available():
        with pytest.raises(UnsupportedError):
            Preprocessor(16, 16, impl="avx2")
    if not Preprocessor.avx512_available():
        with pytest.raises(UnsupportedError, match="AVX-512"):
            Preprocessor(16, 16, impl="avx512")


def test_auto_picks_the_fastest_kernel_the_cpu_runs() -> None:
    if Preprocessor.avx512_available():
        want = "avx512"
    elif Preprocessor.avx2_available():
        want = "avx2"
    else:
        want = "portable"
    assert Preprocessor(16, 16).impl == want


def test_memory_floor_touches_every_byte_and_rejects_bad_input() -> None:
    _testing = pytest.importorskip(
        "vasdk._testing", reason="test-only module: build with -DVASDK_BUILD_TEST_MODULE=ON (setup.sh does)"
    )

    rng = np.random.default_rng(3)
    src = rng.integers(0, 256, 10_000, dtype=np.uint8)
    for threads in (1, 2):
        floor = _testing.MemoryFloor(threads)
        dst = np.zeros(6_000, np.uint8)
        assert floor.run(src, dst) is True
        np.testing.assert_array_equal(dst, src[:6_000])
        zeros = np.zeros(10_000, np.uint8)
        zeros[:6_000] = 1
        assert floor.run(zeros, dst) is False  # only the bytes past the copy are ORed
    with pytest.raises(InvalidArgumentError, match="threads must be 1..64"):
        _testing.MemoryFloor(0)
    with pytest.raises(InvalidArgumentError, match="C-contiguous"):
        _testing.MemoryFloor(1).run(src[::2], np.zeros(10, np.uint8))
    with pytest.raises(InvalidArgumentError, match="read-only"):
        ro = np.zeros(10, np.uint8)
        ro.flags.writeable = False
        _testing.MemoryFloor(1).run(src, ro)
