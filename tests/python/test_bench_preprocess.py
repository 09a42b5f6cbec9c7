"""The preprocessing benchmark's memory floor is a floor: it reads every byte vasdk's kernel
needs (bytes outside its spans can change without changing vasdk's output), and the C++ floor
reads exactly those spans and writes the whole output."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from vasdk.errors import InvalidArgumentError, UnsupportedError
from vasdk.preprocess import Preprocessor

_testing = pytest.importorskip(
    "vasdk._testing", reason="test-only module: build with -DVASDK_BUILD_TEST_MODULE=ON (setup.sh does)"
)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_preprocess as bench  # noqa: E402


def _outside(spans: np.ndarray, size: int) -> np.ndarray:
    mask = np.ones(size, bool)
    for off, n in spans:
        mask[off : off + n] = False
    return mask


@pytest.mark.parametrize("fmt", ["bgr", "nv12"])
@pytest.mark.parametrize(("w", "h", "net"), [(640, 360, 208), (600, 360, 200), (1280, 720, 416)])
@pytest.mark.parametrize("impl", ["auto", "portable"])
def test_bytes_outside_the_floor_spans_do_not_change_the_output(
    fmt: str, w: int, h: int, net: int, impl: str
) -> None:
    bgr, nv12 = bench.make_inputs(w, h)
    frame = bgr if fmt == "bgr" else nv12
    spans, info = bench.touched_spans(w, h, net, fmt)
    assert info["frame_bytes"] == frame.nbytes
    pre = Preprocessor(net, net, impl=impl)
    want = pre(frame, fmt.upper()).copy()
    flat = frame.reshape(-1).copy()
    out = _outside(spans, flat.size)
    assert out.any()  # the floor reads less than the whole frame, so this proves something
    flat[out] = np.random.default_rng(0).integers(0, 256, int(out.sum()), dtype=np.uint8)
    np.testing.assert_array_equal(pre(flat.reshape(frame.shape), fmt.upper()), want)
    # And the spans are needed: changing the bytes inside them changes the output.
    flat = frame.reshape(-1).copy()
    flat[~out] ^= 0x55
    assert not np.array_equal(pre(flat.reshape(frame.shape), fmt.upper()), want)


def test_exact_three_to_one_reads_a_third_of_the_rows() -> None:
    _, info = bench.touched_spans(1920, 1080, 640, "bgr")
    assert info["source_rows_read"] == 360
    _, info = bench.touched_spans(1920, 1080, 608, "bgr")
    assert info["source_rows_read"] > 600  # both taps of every row weigh


def test_span_floor_reads_the_spans_and_writes_all_of_dst() -> None:
    src = np.zeros(1000, np.uint8)
    src[500] = 7
    spans = np.array([[0, 100], [450, 20]], np.int64)
    for threads in (1, 2):
        floor = _testing.SpanFloor(threads)
        dst = np.zeros(3000, np.uint8)
        assert floor.run(src, spans, dst) is False  # byte 500 lies outside both spans
        assert (dst != 0).all()
        assert floor.run(src, np.array([[490, 20]], np.int64), dst) is True
    with pytest.raises(InvalidArgumentError, match="outside src"):
        _testing.SpanFloor(1).run(src, np.array([[990, 20]], np.int64), dst)
    with pytest.raises(InvalidArgumentError, match="N x 2"):
        _testing.SpanFloor(1).run(src, np.zeros((2, 3), np.int64), dst)


def test_evict_keeps_the_data() -> None:
    a = np.arange(100_000, dtype=np.int32)
    try:
        _testing.evict(a)
    except UnsupportedError as e:  # only x86-64 implements it
        pytest.skip(str(e))
    np.testing.assert_array_equal(a, np.arange(100_000, dtype=np.int32))
