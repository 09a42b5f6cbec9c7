"""vasdk.Pipeline: configs (dict, JSON, YAML), callbacks from native threads, the results
iterator, zero-copy pushes and object lifetimes, on real frames of vtest.avi."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vasdk
from vasdk.pipeline import load_config

N = 6


def config(assets: Path, **channel: Any) -> dict[str, Any]:
    ch = {"id": "cam1", "push": True, "queue": 8, "policy": "block", "pool_frames": 8, **channel}
    return {
        "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"),
                                "options": {"threads": 2, "classes": ["person", "car", "truck"]}}},
        "channels": [ch],
    }


@pytest.fixture(scope="module")
def frames(assets: Path) -> list[np.ndarray]:
    out = []
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        for f in r:
            out.append(f)
            if len(out) == N:
                break
    return out


def test_load_config_dict_json_yaml(tmp_path: Path, assets: Path) -> None:
    cfg = config(assets)
    assert load_config(cfg) == cfg and load_config(cfg) is not cfg
    (tmp_path / "p.json").write_text(json.dumps(cfg))
    assert load_config(tmp_path / "p.json") == cfg
    assert load_config(json.dumps(cfg)) == cfg
    # Relative paths in a file are relative to the file.
    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "p.yaml").write_text(
        "models:\n  detector:\n    model: m.onnx\nchannels:\n"
        "  - id: cam1\n    source: {url: clip.avi, loop: true}\n"
    )
    doc = load_config(str(tmp_path / "p.yaml"))
    assert doc["models"]["detector"]["model"] == str(tmp_path / "m.onnx")
    assert doc["channels"][0]["source"] == {"url": "clip.avi", "loop": True}  # no such file: kept
    (tmp_path / "bad.yaml").write_text("channels: [unclosed\n")
    with pytest.raises(vasdk.InvalidConfigError, match="bad.yaml"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(vasdk.InvalidConfigError, match="missing.json"):
        load_config(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(vasdk.InvalidConfigError, match="mapping"):
        load_config(tmp_path / "list.json")


def test_bad_config_names_the_field(assets: Path) -> None:
    cfg = config(assets)
    cfg["chanels"] = []
    with pytest.raises(vasdk.InvalidConfigError, match="chanels"):
        vasdk.Pipeline(cfg)
    with pytest.raises(vasdk.InvalidConfigError, match=r"channels\[0\]\.policy"):
        vasdk.Pipeline(config(assets, policy="sometimes"))


def test_results_iterator_in_frame_order(assets: Path, frames: list[np.ndarray]) -> None:
    with vasdk.Pipeline(config(assets)) as pipe:
        pipe.start()
        for i, f in enumerate(frames):
            pipe.push("cam1", f, pts_us=i * 100_000)
        got = []
        for r in pipe.results(timeout=30):
            got.append(r)
            if len(got) == N:
                break
        pipe.stop(drain=True)
        st = pipe.stats()
    assert [r.frame for r in got] == list(range(N))
    assert [r.pts_us for r in got] == [i * 100_000 for i in range(N)]
    assert all(r.channel == "cam1" and r.detected for r in got)
    r = got[-1]
    assert r.boxes.shape == (len(r), 4) and r.boxes.dtype == np.float32
    assert r.track_ids.dtype == np.int64 and r.class_ids.dtype == np.int32
    assert set(r.class_ids.tolist()) <= {0, 2, 7}
    assert max(len(g) for g in got) >= 3  # several walkers in vtest.avi's first frames
    assert isinstance(st, vasdk.PipelineStats) and isinstance(st.channels[0], vasdk.ChannelStats)
    c = st.by_id["cam1"]
    assert (c.processed, c.dropped, c.decoded) == (N, 0, N)
    assert 0 < c.pool_reserved_bytes <= c.pool_capacity_bytes and c.pool_in_use_bytes <= c.pool_reserved_bytes
    assert st.results_dropped == 0


def test_callbacks_run_on_native_threads_in_order(assets: Path, frames: list[np.ndarray]) -> None:
    main = threading.get_ident()
    seen: list[tuple[int, int]] = []
    events: list[vasdk.PipelineEvent] = []
    pipe = vasdk.Pipeline(config(assets))

    @pipe.on_result
    def _(r: vasdk.FrameResult) -> None:
        seen.append((r.frame, threading.get_ident()))

    pipe.on_event(events.append)
    pipe.start()
    for i, f in enumerate(frames):
        pipe.push("cam1", f, pts_us=i * 100_000)
    pipe.stop(drain=True)  # drain: every pushed frame reaches the callback before this returns
    assert [s[0] for s in seen] == list(range(N))
    assert all(t != main for _, t in seen)
    assert all(isinstance(e, vasdk.PipelineEvent) and e.channel == "cam1" for e in events)
    assert any(e.kind == "track_start" for e in events)
    pipe.close()
    pipe.close()  # idempotent
    with pytest.raises(vasdk.InvalidArgumentError, match="closed"):
        pipe.stats()


def test_callback_errors_and_reentry(assets: Path, frames: list[np.ndarray]) -> None:
    refused: list[BaseException] = []

    with vasdk.Pipeline(config(assets)) as pipe:

        def on_result(r: vasdk.FrameResult) -> None:
            if r.frame == 0:
                for call in (pipe.close, lambda: pipe.stop(drain=False)):
                    try:
                        call()
                    except vasdk.InvalidArgumentError as e:
                        refused.append(e)
            if r.frame == 2:
                raise ValueError("boom in callback")

        pipe.on_result(on_result)
        pipe.start()
        for i, f in enumerate(frames):
            pipe.push("cam1", f, pts_us=i * 100_000)
        with pytest.raises(ValueError, match="boom in callback"):
            pipe.stop(drain=True)
        assert pipe.stats().by_id["cam1"].processed == N  # the error did not stop the channel
    assert len(refused) == 2 and "callback" in str(refused[0])


def test_zero_copy_push_keeps_the_array_alive(assets: Path, frames: list[np.ndarray]) -> None:
    arr = frames[0].copy()
    base = sys.getrefcount(arr)
    with vasdk.Pipeline(config(assets)) as pipe:
        pipe.start()
        pipe.push("cam1", arr, pts_us=0, copy=False)
        pipe.stop(drain=True)
        assert next(pipe.results(timeout=5)).frame == 0
    assert sys.getrefcount(arr) == base  # released exactly once
    with vasdk.Pipeline(config(assets)) as pipe:
        pipe.start()
        with pytest.raises(vasdk.InvalidArgumentError):
            pipe.push("cam1", np.zeros((48, 64), np.uint8), pts_us=0, format="GRAY", copy=False)
        with pytest.raises(vasdk.NotFoundError, match="nope"):
            pipe.push("nope", arr, pts_us=0)
        pipe.stop(drain=False)
        with pytest.raises(vasdk.VasError):
            pipe.push("cam1", arr, pts_us=1, copy=False)
    assert sys.getrefcount(arr) == base


def test_results_timeout_and_queue_bound(assets: Path, frames: list[np.ndarray]) -> None:
    with vasdk.Pipeline(config(assets), max_queued=2) as pipe:
        pipe.start()
        with pytest.raises(TimeoutError):
            next(pipe.results(timeout=0.3))
        for i, f in enumerate(frames):
            pipe.push("cam1", f, pts_us=i * 100_000)
        pipe.stop(drain=True)
        got = [r.frame for r in pipe.results(timeout=5)]
        assert got == [N - 2, N - 1]  # the oldest went first
        assert pipe.stats().results_dropped == N - 2


def test_file_channel_counts_add_up(assets: Path) -> None:
    cfg = config(assets, push=False, source={"url": str(assets / "vtest.avi")}, detect_interval=3)
    del cfg["channels"][0]["pool_frames"]
    with vasdk.Pipeline(cfg) as pipe:
        pipe.start()
        got = []
        for r in pipe.results(timeout=30):
            got.append(r)
            if len(got) == 9:
                break
        pipe.stop(drain=False)
        stats = pipe.stats()
        c = stats.by_id["cam1"]
    assert [r.frame for r in got] == list(range(9))
    assert [r.detected for r in got] == [True, False, False] * 3
    assert c.decoded == c.processed + c.dropped
    # CPU per delivered frame: the divisor is what was delivered, the stages this run used
    # did work (the result iterator's queueing is "delivery"), and the parts add up.
    cpu = stats.cpu_ms_per_frame
    assert cpu["frames"] == c.processed
    for stage in ("decode", "preprocess", "inference", "analytics", "delivery"):
        assert cpu[stage] > 0, stage
    parts = sum(v for k, v in cpu.items() if k not in ("frames", "process"))
    assert parts == pytest.approx(cpu["process"], rel=1e-3, abs=0.01)


def test_remove_channel_hands_back_final_counters(assets: Path, frames: list[np.ndarray]) -> None:
    events: list[vasdk.PipelineEvent] = []
    removed_from_callback: list[object] = []
    cfg = config(assets)
    cfg["channels"].append({"id": "cam2", "push": True, "queue": 8, "policy": "block"})
    cfg["channels"].append({"id": "cam3", "push": True, "queue": 8, "policy": "block"})
    with vasdk.Pipeline(cfg) as pipe:

        def on_result(r: vasdk.FrameResult) -> None:
            if r.channel == "cam1" and r.frame == 0:
                # Another channel's removal from a callback finishes after it: None here.
                removed_from_callback.append(pipe.remove_channel("cam3"))

        pipe.on_result(on_result)
        pipe.on_event(events.append)
        pipe.start()
        for i, f in enumerate(frames):
            pipe.push("cam2", f, pts_us=i * 100_000)
        last = pipe.remove_channel("cam2")
        assert last is not None and last.id == "cam2" and last.state == "removed"
        assert last.decoded == N and last.decoded == last.processed + last.dropped
        pipe.push("cam1", frames[0], pts_us=0)
        pipe.stop(drain=True)
    assert removed_from_callback == [None]
    ends = {e.channel: e for e in events if e.kind == "channel" and e.subkind == "removed"}
    assert set(ends) == {"cam2", "cam3"}
    assert json.loads(ends["cam2"].message)["processed"] == last.processed
    assert json.loads(ends["cam3"].message)["decoded"] == 0
    for e in events:
        assert e.wall_us > 0 and e.media_us >= 0
