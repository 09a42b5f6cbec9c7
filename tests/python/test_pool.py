"""Memory pools through the Python binding: bounds, reuse, ref-counted return, stats."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from vasdk.errors import InvalidArgumentError, PoolExhaustedError, RuntimeFailureError
from vasdk.preprocess import Pool, Preprocessor


def test_block_pool_reuses_blocks_and_is_bounded() -> None:
    pool = Pool("frames", block_size=4096, max_blocks=2)
    a = pool.acquire(4096)
    b = pool.acquire(100)
    assert a.dtype == np.uint8 and a.shape == (4096,) and b.shape == (100,)
    a[:] = 7
    with pytest.raises(PoolExhaustedError, match="pool 'frames' exhausted"):
        pool.acquire(1)
    with pytest.raises(PoolExhaustedError, match="larger than its largest block"):
        pool.acquire(4097)
    addr = a.__array_interface__["data"][0]
    del a
    gc.collect()
    c = pool.acquire(4096)
    assert c.__array_interface__["data"][0] == addr  # the same block came back
    s = pool.stats()
    assert (s["misses"], s["hits"], s["failed"]) == (2, 1, 2)
    assert s["capacity_bytes"] == 8192 and s["in_use_buffers"] == 2 and s["high_water_bytes"] == 8192
    del b, c


def test_views_keep_the_block_alive() -> None:
    pool = Pool("views", block_size=1024, max_blocks=1, thread_safe=False)
    t = pool.acquire_array((4, 8), np.float32)
    assert t.shape == (4, 8) and t.flags.c_contiguous
    view = t[1:3]
    del t
    gc.collect()
    assert pool.stats()["in_use_buffers"] == 1  # the view still holds the block
    with pytest.raises(RuntimeFailureError, match="1 buffer"):
        pool.check_idle()
    del view
    gc.collect()
    pool.check_idle()


def test_arena_size_classes() -> None:
    pool = Pool("arena", min_block=1024, max_block=16384, capacity_bytes=32768)
    small = pool.acquire(1000)
    big = pool.acquire(9000)
    assert pool.stats()["in_use_bytes"] == 1024 + 16384
    del small, big
    gc.collect()
    pool.trim()
    assert pool.stats()["reserved_bytes"] == 0
    with pytest.raises(InvalidArgumentError, match="capacity_bytes"):
        Pool("bad", min_block=4096, max_block=4096, capacity_bytes=100)


def test_close_with_buffers_out_is_reported_and_safe(capfd: pytest.CaptureFixture[str]) -> None:
    pool = Pool("leaky", block_size=256, max_blocks=4)
    arr = pool.acquire(256)
    pool.close()
    assert "pool 'leaky' destroyed with 1 buffer(s) still out" in capfd.readouterr().err
    arr[:] = 3  # still valid memory
    assert int(arr.sum()) == 3 * 256
    with pytest.raises(InvalidArgumentError, match="closed"):
        pool.acquire(1)
    del arr
    gc.collect()


def test_preprocessing_into_a_pool_buffer_reuses_it() -> None:
    pool = Pool("tensors", block_size=3 * 64 * 64 * 4, max_blocks=1)
    pre = Preprocessor(64, 64)
    frame = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    out = pool.acquire_array((1, 3, 64, 64), np.float32)
    for _ in range(5):
        assert pre(frame, "BGR", out=out) is out
    s = pool.stats()
    assert (s["misses"], s["hits"], s["failed"]) == (1, 0, 0)
