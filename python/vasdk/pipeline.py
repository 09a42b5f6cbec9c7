"""Multi-channel pipelines: ``vasdk.Pipeline(config)`` over files, cameras and pushed frames.

The config is one document (see the README): a dict, a JSON file or a YAML file. Results and
events arrive through callbacks (``on_result`` / ``on_event``, run on pipeline threads) or
through the blocking iterator ``results(timeout=...)``.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Union

import numpy as np
import numpy.typing as npt

from . import _core
from .errors import InvalidArgumentError, InvalidConfigError

__all__ = [
    "ChannelStats",
    "FrameResult",
    "LiveFrame",
    "Pipeline",
    "PipelineEvent",
    "PipelineStats",
    "StageStats",
    "load_config",
]

ConfigLike = Union[Mapping[str, Any], str, "os.PathLike[str]"]


@dataclass(frozen=True)
class FrameResult:
    """One frame of one channel. Objects are parallel numpy arrays (N rows), in frame pixels.

    ``detected`` is False on frames that skipped detection (``detect_interval``), whose boxes
    are the trackers' predictions. ``capture_us`` is the wall clock (us since the epoch) when
    the frame was decoded or pushed; ``ts_us`` is the analytics time (never goes backwards).
    """

    channel: str
    frame: int
    pts_us: int
    capture_us: int
    ts_us: int
    detected: bool
    track_ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    parent_track_ids: npt.NDArray[np.int64]
    landmarks: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.track_ids.shape[0])


@dataclass(frozen=True)
class PipelineEvent:
    """A rule event, a best shot, a track start or end, or a source state change.

    ``kind`` is "rule", "best_shot", "track_start", "track_end", "source", "cluster" (this node
    took or gave up the channel: assigned, revoked) or "sink" (channel "": a sink lost or
    regained its broker: disconnected, reconnected; delivered on the sink's own thread);
    ``subkind`` says which (cross_in, enter, ...; connected, disconnected, reconnected,
    end_of_stream, error; for track_end why: removed, flush or source_gap). "channel" /
    "removed" is a removed channel's last event; ``message`` holds its final counters as JSON.
    Best shots carry ``crop`` (BGR copy) and ``jpeg`` (bytes) when the channel asks for them.
    ``media_us`` is the channel's media time of the event, ``wall_us`` the wall clock (us since
    the epoch) when it left the pipeline; ``ts_us`` is media time except for source and sink
    events, where it is the wall clock of the occurrence.
    """

    channel: str
    kind: str
    subkind: str
    rule_id: str
    track_id: int
    class_id: int
    ts_us: int
    message: str
    best_shot_id: int
    quality: float
    crop: npt.NDArray[np.uint8] | None = None
    jpeg: bytes | None = None
    media_us: int = 0
    wall_us: int = 0


@dataclass(frozen=True)
class LiveFrame:
    """One JPEG of a channel's live view: the frame with its tracks, rules and counts drawn on.

    ``seq`` grows with every JPEG of the channel (pass it back to get a newer one);
    ``capture_us`` is the wall clock (us since the epoch) when the frame was decoded.
    """

    jpeg: bytes
    seq: int
    frame: int
    capture_us: int
    width: int
    height: int


@dataclass(frozen=True)
class StageStats:
    fps: float
    latency_p50_ms: float
    latency_p99_ms: float
    queue_depth: int


@dataclass(frozen=True)
class ChannelStats:
    """Counters of one channel; ``decoded == processed + dropped`` once it is quiet."""

    id: str
    state: str
    decoded: int
    processed: int
    dropped: int
    dropped_by_reason: dict[str, int]
    reconnects: int
    events: int
    fps: float
    latency_p50_ms: float
    latency_p99_ms: float
    queue_depth: int
    pool_in_use_bytes: int
    pool_reserved_bytes: int
    pool_capacity_bytes: int
    live_viewers: int = 0  # viewers of the live view now
    live_frames: int = 0  # live JPEGs drawn and encoded (none while nobody watches)


@dataclass(frozen=True)
class PipelineStats:
    channels: list[ChannelStats]
    decode: StageStats
    inference: StageStats
    analytics: StageStats
    batch_mean: float
    batches: int
    # CPU ms per delivered frame since start, by stage: decode, preprocess, inference (the
    # calling thread's share), postprocess, analytics, delivery (callbacks, Python ones
    # included), annotate; "other" (runtime workers, sinks, other threads) makes them add up
    # to "process". "frames" is the divisor. See CpuStats in csrc/pipeline/pipeline.h.
    cpu_ms_per_frame: dict[str, float] = field(default_factory=dict)
    inference_lanes: int = 1  # batches in inference at once ("inference": {"in_flight"})
    inference_max_batch: int = 1  # frames per run at most ("inference": {"max_batch"}, resolved)
    # The engine that runs ("ort 1.32.0"); with "backend": "auto" the first note says why.
    inference_backend: str = ""
    inference_notes: list[str] = field(default_factory=list)
    results_dropped: int = 0  # results the Python iterator's full queue let go
    # Per sink: name, type, connected, queued, delivered, failed, dropped (by reason),
    # redelivered, reconnects, outbox_depth, in_flight, last_error.
    sinks: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, ChannelStats] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_id.update({c.id: c for c in self.channels})


def _resolve_paths(doc: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative model paths and source file paths in a config file are relative to the file."""

    def fix(p: Any) -> Any:
        if isinstance(p, str) and p and "://" not in p and not os.path.isabs(p):
            cand = base / p
            return str(cand) if cand.exists() else p
        return p

    for m in (doc.get("models") or {}).values():
        if isinstance(m, dict) and "model" in m:
            m["model"] = fix(m["model"])
    for ch in doc.get("channels") or []:
        src = ch.get("source") if isinstance(ch, dict) else None
        if isinstance(src, dict) and "url" in src:
            src["url"] = fix(src["url"])
    return doc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise InvalidConfigError(f"pipeline config: duplicate key {key!r} (each key may appear once)")
        doc[key] = value
    return doc


def _parse_json(text: str, what: str) -> Any:
    """JSON as the native parser reads it: duplicate keys refused, deep nesting an error."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise InvalidConfigError(f"{what}: not valid JSON: {e}") from e
    except RecursionError as e:
        raise InvalidConfigError(f"{what}: nested too deep (the limit is 64 levels)") from e


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except RecursionError as e:
        raise InvalidConfigError(f"{what}: nested too deep (the limit is 64 levels)") from e
    except (TypeError, ValueError) as e:
        raise InvalidConfigError(f"{what}: not JSON data: {e}") from e


def load_config(config: ConfigLike) -> dict[str, Any]:
    """A pipeline config as a dict, from a dict, a JSON string, or a .json / .yaml / .yml file."""
    if isinstance(config, Mapping):
        # A deep copy that is surely JSON.
        return _parse_json(_dumps(config, "pipeline config"), "pipeline config")
    text = os.fspath(config)
    if isinstance(text, str) and text.lstrip().startswith("{"):
        doc = _parse_json(text, "pipeline config")
        base = None
    else:
        path = Path(text)
        if not path.is_file():
            raise InvalidConfigError(f"pipeline config '{path}' does not exist or is not a file")
        raw = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as e:  # pragma: no cover - PyYAML is in requirements.txt
                raise InvalidConfigError(f"{path}: YAML configs need PyYAML (pip install pyyaml)") from e
            try:
                doc = yaml.safe_load(raw)
            except yaml.YAMLError as e:
                raise InvalidConfigError(f"{path}: not valid YAML: {e}") from e
        else:
            doc = _parse_json(raw, str(path))
        base = path.resolve().parent
    if not isinstance(doc, dict):
        raise InvalidConfigError(f"pipeline config must be an object/mapping, got {type(doc).__name__}")
    return _resolve_paths(doc, base) if base else doc


def _stats(d: dict[str, Any], results_dropped: int) -> PipelineStats:
    return PipelineStats(
        channels=[ChannelStats(**c) for c in d["channels"]],
        decode=StageStats(**d["decode"]),
        inference=StageStats(**d["inference"]),
        analytics=StageStats(**d["analytics"]),
        batch_mean=float(d["batch_mean"]),
        batches=int(d["batches"]),
        cpu_ms_per_frame=dict(d.get("cpu_ms_per_frame", {})),
        inference_lanes=int(d.get("inference_lanes", 1)),
        inference_max_batch=int(d.get("inference_max_batch", 1)),
        inference_backend=str(d.get("inference_backend", "")),
        inference_notes=[str(n) for n in d.get("inference_notes", [])],
        results_dropped=results_dropped,
        sinks=[dict(s) for s in d.get("sinks", [])],
    )


_DONE_STATES = ("ended", "stopped", "error")


class Pipeline:
    """A running set of channels sharing one detector; see the README for the config.

    ``config`` is a dict, a JSON string, or the path of a .json or .yaml file (relative model
    and video paths in a file are taken relative to it). Use it as a context manager: leaving
    the block stops it (without draining) and frees it.

    Callbacks (``on_result``, ``on_event``) run on pipeline threads, one at a time per
    channel and in frame order; the GIL is held only while they run. An exception raised in a
    callback is kept and raised again by the next ``stop()``, ``results()`` or ``close()``.
    Without an ``on_result`` callback, results are queued (up to ``max_queued``, oldest
    dropped first and counted in ``stats().results_dropped``) for ``results()``.

    Thread-safe; do not call ``stop()`` or ``close()`` from inside a callback
    (:class:`vasdk.InvalidArgumentError`).
    """

    def __init__(self, config: ConfigLike, *, max_queued: int = 1024) -> None:
        self.config: dict[str, Any] = load_config(config)
        self._impl = _core.Pipeline(json.dumps(self.config))
        self._on_result: Callable[[FrameResult], Any] | None = None
        self._on_event: Callable[[PipelineEvent], Any] | None = None
        self._queue: queue.Queue[FrameResult] = queue.Queue(maxsize=max(1, max_queued))
        self._queue_dropped = 0
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._running = False
        # The dispatchers are installed once, before start(); the user callbacks they call can
        # change at any time.
        self._impl.set_result_callback(self._dispatch_result)
        self._impl.set_event_callback(self._dispatch_event)

    # -- callbacks --------------------------------------------------------------------------

    def on_result(self, fn: Callable[[FrameResult], Any] | None) -> Callable[[FrameResult], Any] | None:
        """Calls ``fn(result)`` for every frame (None removes it). Usable as a decorator."""
        self._on_result = fn
        return fn

    def on_event(self, fn: Callable[[PipelineEvent], Any] | None) -> Callable[[PipelineEvent], Any] | None:
        """Calls ``fn(event)`` for every event (None removes it). Usable as a decorator."""
        self._on_event = fn
        return fn

    def _keep_error(self, e: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = e

    def _dispatch_result(self, d: dict[str, Any]) -> None:
        r = FrameResult(**d)
        fn = self._on_result
        if fn is not None:
            try:
                fn(r)
            except BaseException as e:  # handed back to the caller's thread
                self._keep_error(e)
            return
        while True:
            try:
                self._queue.put_nowait(r)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    with self._lock:
                        self._queue_dropped += 1
                except queue.Empty:
                    pass

    def _dispatch_event(self, d: dict[str, Any]) -> None:
        fn = self._on_event
        if fn is None:
            return
        try:
            fn(PipelineEvent(**d))
        except BaseException as e:  # handed back to the caller's thread
            self._keep_error(e)

    def _raise_kept(self) -> None:
        with self._lock:
            e, self._error = self._error, None
        if e is not None:
            raise e

    # -- control ----------------------------------------------------------------------------

    def start(self) -> Pipeline:
        """Opens the sources and starts the threads; returns self."""
        self._impl.start()
        self._running = True
        return self

    def stop(self, drain: bool = True) -> None:
        """Stops; ``drain`` finishes queued frames first, else returns within about 1 s."""
        self._impl.stop(drain)
        self._running = False
        self._raise_kept()

    def close(self) -> None:
        """Stops without draining and frees the pipeline; idempotent."""
        self._impl.close()
        self._running = False
        self._raise_kept()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is None:
            self.close()
        else:  # keep the original exception; a kept callback error would only hide it
            self._impl.close()

    def add_channel(self, channel: Mapping[str, Any] | str) -> None:
        """Adds a channel (a dict or JSON object like an element of ``channels``)."""
        self._impl.add_channel(channel if isinstance(channel, str) else _dumps(channel, "channel"))

    def remove_channel(self, channel_id: str) -> ChannelStats | None:
        """Stops and forgets a channel; returns its final counters (as in ``stats()``).

        From another channel's callback the removal finishes after that callback returns and
        this returns None: the channel's last event, ``channel``/``removed``, carries the
        counters (as JSON in its message) in every case.
        """
        last = self._impl.remove_channel(channel_id)
        return None if last is None else ChannelStats(**last)

    def update_rules(self, channel_id: str, rules: Mapping[str, Any] | list[Any] | str) -> None:
        """Replaces a channel's rules: {"rules": [...], ...}, the list of rules alone, or JSON."""
        if isinstance(rules, list):
            rules = {"rules": rules}
        self._impl.update_rules(channel_id, rules if isinstance(rules, str) else _dumps(rules, "rules"))

    def push(
        self,
        channel: str,
        frame: npt.NDArray[np.uint8],
        pts_us: int | None = None,
        format: str = "BGR",  # noqa: A002
        copy: bool = True,
    ) -> None:
        """Queues a frame on a ``"push": true`` channel. ``pts_us`` defaults to the wall clock.

        ``copy=False`` lends the array to the pipeline (zero copy) until it is done with it;
        do not write to it meanwhile.
        """
        pts = int(time.time() * 1e6) if pts_us is None else int(pts_us)
        self._impl.push(channel, frame, pts, format, copy)

    # -- live view --------------------------------------------------------------------------

    def live_watch(self, channel_id: str, on: bool = True) -> None:
        """Adds (``on``) or removes one viewer of a channel's live view.

        While a channel has a viewer, its frames are drawn and encoded to JPEG on a thread of
        its own, skipping frames that thread cannot take; with none, nothing is encoded.
        """
        self._impl.live_watch(channel_id, bool(on))

    def live_frame(self, channel_id: str, after: int = 0, timeout: float = 1.0) -> LiveFrame | None:
        """The newest live JPEG with ``seq > after``, or None if none came within ``timeout`` s.

        Raises NotFoundError for an unknown or removed channel. Call it from your own thread,
        never from a pipeline callback.
        """
        ms = round(timeout * 1000)
        if not 0 <= ms <= 60000:
            raise InvalidArgumentError(f"live_frame: timeout must be in 0..60 s, got {timeout}")
        d = self._impl.live_frame(channel_id, int(after), ms)
        return None if d is None else LiveFrame(**d)

    # -- results ----------------------------------------------------------------------------

    def stats(self) -> PipelineStats:
        with self._lock:
            dropped = self._queue_dropped
        return _stats(self._impl.stats(), dropped)

    def done(self) -> bool:
        """True when every channel has ended (files at their end), errored or stopped."""
        st = self._impl.stats()
        chans = st["channels"]
        return not self._running or (
            bool(chans)
            and all(c["state"] in _DONE_STATES for c in chans)
            and all(c["queue_depth"] == 0 and c["decoded"] == c["processed"] + c["dropped"] for c in chans)
        )

    def wait(self, timeout: float | None = None, poll: float = 0.05) -> bool:
        """Waits until :meth:`done`; returns False if ``timeout`` seconds pass first."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            if end is not None and time.monotonic() >= end:
                return False
            time.sleep(poll)
        return True

    def results(self, timeout: float | None = None) -> Iterator[FrameResult]:
        """Yields queued results as they come, until the pipeline is done and the queue is empty.

        Raises TimeoutError when no result arrives for ``timeout`` seconds (None: wait for
        ever). Needs no ``on_result`` callback (results then go to the callback instead).
        """
        if self._on_result is not None:
            raise InvalidArgumentError("results() needs on_result unset: results go to the callback")
        last = time.monotonic()
        while True:
            self._raise_kept()
            try:
                r = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self.done() and self._queue.empty():
                    return
                if timeout is not None and time.monotonic() - last > timeout:
                    raise TimeoutError(f"no pipeline result within {timeout} s") from None
                continue
            last = time.monotonic()
            yield r
