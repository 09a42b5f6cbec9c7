"""Fan-out of live pictures and events to many web clients without slowing the pipeline.

``ChannelFeed``: one reader thread per watched channel takes the newest JPEG from the pipeline
(``Pipeline.live_frame``) and hands it to the event loop; every viewer sends the newest picture
when its socket is ready, so a slow viewer skips pictures and holds up nobody. The feed is a
viewer of the pipeline only while it has viewers of its own.

``EventHub``: the last events for new clients, and a bounded queue per server-sent-events
client; a client that does not keep up loses its oldest events (counted), never the pipeline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
from typing import Any

from ..errors import VasError
from ..pipeline import LiveFrame, Pipeline


class ChannelFeed:
    """The live JPEGs of one channel for the viewers on one event loop."""

    def __init__(self, pipe: Pipeline, channel: str, loop: asyncio.AbstractEventLoop) -> None:
        self.channel = channel
        self.latest: LiveFrame | None = None
        self.viewers = 0
        self.gone = False  # the channel was removed: viewers end their streams
        self._pipe = pipe
        self._loop = loop
        self._cond = asyncio.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- event loop side ----------------------------------------------------------------------

    def join(self) -> None:
        self.viewers += 1
        if self.viewers == 1:
            # A reader of an earlier viewer may still be winding down: it has its own stop flag
            # and its own watch, so the two never share state.
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._read, args=(self._stop,), name=f"live-{self.channel}", daemon=True
            )
            self._thread.start()

    def leave(self) -> None:
        self.viewers -= 1
        if self.viewers <= 0:
            self.viewers = 0
            self._stop.set()
            self.latest = None

    async def next(self, after: int, timeout: float) -> LiveFrame | None:
        """The newest picture newer than seq ``after``, or None on timeout or a removed channel."""
        async with self._cond:
            try:
                await asyncio.wait_for(
                    self._cond.wait_for(
                        lambda: self.gone or (self.latest is not None and self.latest.seq > after)
                    ),
                    timeout,
                )
            except asyncio.TimeoutError:
                return None
            return None if self.gone else self.latest

    async def _publish(self, frame: LiveFrame | None) -> None:
        async with self._cond:
            if frame is None:
                self.gone = True
            else:
                self.latest = frame
            self._cond.notify_all()

    # -- reader thread --------------------------------------------------------------------------

    def _read(self, stop: threading.Event) -> None:
        try:
            self._pipe.live_watch(self.channel, True)
        except VasError:
            self._hand(None)
            return
        seq = 0
        try:
            while not stop.is_set():
                try:
                    f = self._pipe.live_frame(self.channel, after=seq, timeout=0.25)
                except VasError:  # removed (NotFoundError) or closed
                    self._hand(None)
                    return
                if f is not None:
                    seq = f.seq
                    self._hand(f)
        finally:
            with contextlib.suppress(VasError):  # the channel may be gone already
                self._pipe.live_watch(self.channel, False)

    def _hand(self, frame: LiveFrame | None) -> None:
        """To the event loop; a server that already stopped its loop takes nothing."""
        # The coroutine is made in the loop, so one that never runs leaves none unawaited.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._spawn, frame)

    def _spawn(self, frame: LiveFrame | None) -> None:
        task = self._loop.create_task(self._publish(frame))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class EventHub:
    """Recent events and one bounded queue per server-sent-events client (event loop only)."""

    def __init__(self, keep: int = 200, per_client: int = 256) -> None:
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.dropped = 0
        self._per_client = per_client
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self._ids = itertools.count(1)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, event: dict[str, Any]) -> None:
        event["seq"] = next(self._ids)
        self.recent.append(event)
        for q in self._clients:
            if q.full():
                q.get_nowait()
                self.dropped += 1
            q.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self._per_client)
        for e in list(self.recent)[-self._per_client :]:
            q.put_nowait(e)
        self._clients.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._clients.discard(q)
