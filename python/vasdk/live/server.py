"""The live view's HTTP server: the page, MJPEG tiles, server-sent events and the JSON API.

``LiveServer(pipe, host, port)`` serves a running :class:`vasdk.Pipeline` from a thread of its
own (aiohttp on its own event loop), so any program can add it beside its pipeline:

    server = LiveServer(pipe, best_shots="out/best_shots").start()
    pipe.on_event(server.on_event)
    print(server.page_url)
    ...
    server.stop()   # before pipe.close()

Access: it binds 127.0.0.1 unless told otherwise. Every mutating call (POST, PUT, DELETE) needs
``Authorization: Bearer TOKEN``; on any other address every /api call needs the token too (in
that header, or ``?token=`` where a browser cannot set headers: images, event streams). The
token is random per start unless given, and printed by ``vasdk run``. A loopback server only
answers Host headers naming the loopback (no DNS rebinding). Bodies are small JSON objects,
checked in :mod:`vasdk.live.checks` before the pipeline validates them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from ..errors import InvalidArgumentError, InvalidConfigError, NotFoundError, VasError
from ..pipeline import Pipeline, PipelineEvent
from . import checks
from .checks import BadInput
from .feeds import ChannelFeed, EventHub
from .openapi import OPENAPI

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_VIEWERS = 64  # MJPEG streams at once, all channels together
MAX_EVENT_CLIENTS = 32
MUTATING = ("POST", "PUT", "DELETE", "PATCH")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def _event_dict(e: PipelineEvent) -> dict[str, Any]:
    return {
        "channel": e.channel,
        "kind": e.kind,
        "subkind": e.subkind,
        "rule_id": e.rule_id,
        "track_id": e.track_id,
        "class_id": e.class_id,
        "media_us": e.media_us,
        "wall_us": e.wall_us,
        "ts_us": e.ts_us,
        "message": e.message[:500],
        "best_shot_id": e.best_shot_id,
        "quality": round(float(e.quality), 3),
    }


class LiveServer:
    """Serves one pipeline's live view; see the module's docstring. Thread-safe."""

    def __init__(
        self,
        pipe: Pipeline,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        best_shots: str | Path | None = None,
        rtsp_url: Callable[[str], str] | None = None,
    ) -> None:
        self.pipe = pipe
        self.host = host
        self.port = port
        self.loopback = checks.is_loopback(host)
        self.token = token or secrets.token_urlsafe(24)
        if len(self.token) < 16:
            raise InvalidArgumentError("live view token: at least 16 characters")
        self.best_shots = Path(best_shots).resolve() if best_shots else _best_shot_dir(pipe.config)
        self.rtsp_url = rtsp_url  # channel id -> its RTSP out URL, when RTSP out runs
        self._rules: dict[str, Any] = {}
        self._urls: dict[str, str] = {}
        for ch in pipe.config.get("channels") or []:
            if isinstance(ch, dict) and isinstance(ch.get("id"), str):
                self._rules[ch["id"]] = _rules_of(ch)
                src = ch.get("source")
                self._urls[ch["id"]] = src.get("url", "") if isinstance(src, dict) else ""
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._hub = EventHub()
        self._feeds: dict[str, ChannelFeed] = {}
        self._viewers = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._hosts: set[str] | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._lock = threading.Lock()  # _rules, _urls, _counts from the pipeline's threads

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LiveServer:
        self._thread = threading.Thread(target=self._run, name="vasdk-live", daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._start_error is not None:
            raise self._start_error
        if not self._started.is_set():
            raise InvalidArgumentError(f"live view: could not start on {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        """Ends every stream and stops the server; call before closing the pipeline."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None  # no more events are handed to it
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
        # The readers hand pictures to the loop: they end while it still runs.
        for feed in list(self._feeds.values()):
            feed.stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def page_url(self) -> str:
        """The page's address; the token rides in the fragment, which browsers never send."""
        return f"{self.base_url}/#token={self.token}"

    def on_event(self, e: PipelineEvent) -> None:
        """Feeds a pipeline event to the page (call it from the pipeline's event callback)."""
        d = _event_dict(e)
        with self._lock:
            if e.kind == "rule":
                self._counts[e.channel][f"{e.rule_id}.{e.subkind}"] += 1
            elif e.kind == "channel" and e.subkind == "removed":
                self._counts.pop(e.channel, None)
        if (
            e.kind == "best_shot"
            and e.jpeg
            and self.best_shots is not None
            and checks.CHANNEL_ID.match(e.channel)
        ):
            d["image"] = f"/api/best_shots/{e.channel}/{e.ts_us}.jpg"
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the server stopped meanwhile
                loop.call_soon_threadsafe(self._hub.publish, d)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # reported by start()
            self._start_error = e
            self._started.set()
            loop.close()
            return
        self._loop = loop
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application(middlewares=[self._guard], client_max_size=checks.MAX_BODY)
        r = app.router
        r.add_get("/", self._page)
        r.add_get("/static/{name}", self._static)
        r.add_get("/api/openapi.json", self._openapi)
        r.add_get("/api/channels", self._channels)
        r.add_post("/api/channels", self._add_channel)
        r.add_delete("/api/channels/{id}", self._remove_channel)
        r.add_get("/api/channels/{id}/rules", self._get_rules)
        r.add_put("/api/channels/{id}/rules", self._put_rules)
        r.add_get("/api/channels/{id}/mjpeg", self._mjpeg)
        r.add_get("/api/channels/{id}/frame.jpg", self._frame)
        r.add_get("/api/stats", self._stats)
        r.add_get("/api/events", self._events)
        r.add_get("/api/best_shots/{channel}/{name}", self._best_shot)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        self._hosts = checks.allowed_hosts(self.host, self.port) if self.loopback else None

    async def _shutdown(self) -> None:
        if self._closing is not None:
            self._closing.set()
        for feed in self._feeds.values():
            await feed._publish(None)  # wakes every viewer: their streams end
        if self._runner is not None:
            await self._runner.cleanup()

    # -- access ---------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._hosts is not None and request.host not in self._hosts:
            return _error(421, f"unexpected Host header {request.host!r:.100} for a loopback server")
        needs = request.method in MUTATING or (not self.loopback and request.path.startswith("/api/"))
        if needs:
            given = checks.bearer(request.headers.get("Authorization"))
            if given is None and request.method not in MUTATING:
                given = request.query.get("token")
            if given is None:
                return _error(
                    401,
                    "missing token: send 'Authorization: Bearer TOKEN' (the token "
                    "vasdk run printed at start-up)",
                )
            if not checks.token_matches(given, self.token):
                return _error(403, "wrong token")
        try:
            return await handler(request)
        except BadInput as e:
            return _error(400, str(e))
        except NotFoundError as e:
            return _error(404, str(e))
        except (InvalidArgumentError, InvalidConfigError) as e:
            return _error(400, str(e))
        except VasError as e:
            return _error(500, str(e))

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > checks.MAX_BODY:
            raise BadInput(f"body: larger than {checks.MAX_BODY} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BadInput(f"body: larger than {checks.MAX_BODY} bytes") from None
        return checks.parse_body(raw)

    def _known(self, channel: str) -> bool:
        return any(c.id == channel for c in self.pipe.stats().channels)

    # -- page -----------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return self._static_file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("app.js", "app.css"):
            return _error(404, f"no static file {name!r:.80}")
        return self._static_file(name)

    def _static_file(self, name: str) -> web.Response:
        text = resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")
        ctype = {"js": "text/javascript", "css": "text/css", "html": "text/html"}[name.rsplit(".", 1)[1]]
        # The page loads only its own scripts and images; nothing inline, nothing from elsewhere.
        return web.Response(
            text=text,
            content_type=ctype,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                "frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(OPENAPI)

    # -- channels and rules ----------------------------------------------------------------------

    async def _channels(self, request: web.Request) -> web.StreamResponse:
        st = await asyncio.to_thread(self.pipe.stats)
        with self._lock:
            out = [
                {
                    "id": c.id,
                    "state": c.state,
                    "url": checks.redact_url(self._urls.get(c.id, "")),
                    "rules": self._rules.get(c.id, {"rules": []}),
                    "rtsp": self.rtsp_url(c.id) if self.rtsp_url else None,
                    "mjpeg": f"/api/channels/{c.id}/mjpeg",
                }
                for c in st.channels
            ]
        return web.json_response({"channels": out})

    async def _add_channel(self, request: web.Request) -> web.StreamResponse:
        doc = await self._body(request)
        checks.only_keys(doc, {"id", "url", "rules"}, "channel")
        cid = checks.channel_id(doc.get("id"))
        url = checks.camera_url(doc.get("url"))
        channel = self._channel_template()
        channel["id"] = cid
        channel["source"] = {"url": url, "transport": "tcp", "read_timeout_ms": 3000}
        if "rules" in doc:
            rules = checks.rules_doc({"rules": doc["rules"]})
            channel.setdefault("analytics", {})["rules"] = rules
        await asyncio.to_thread(self.pipe.add_channel, channel)
        with self._lock:
            self._urls[cid] = url
            self._rules[cid] = _rules_of(channel)
        return web.json_response({"id": cid, "url": checks.redact_url(url)}, status=201)

    def _channel_template(self) -> dict[str, Any]:
        """A new camera gets the first configured channel's analytics and pacing; never its
        file outputs (annotated video path) or a pushed source."""
        chans = [c for c in self.pipe.config.get("channels") or [] if isinstance(c, dict)]
        keep = ("analytics", "detect_interval", "queue", "policy", "pool_frames")
        return {k: copy.deepcopy(chans[0][k]) for k in keep if chans and k in chans[0]}

    async def _remove_channel(self, request: web.Request) -> web.StreamResponse:
        cid = checks.channel_id(request.match_info["id"])
        last = await asyncio.to_thread(self.pipe.remove_channel, cid)
        with self._lock:
            self._rules.pop(cid, None)
            self._urls.pop(cid, None)
        feed = self._feeds.pop(cid, None)
        if feed is not None:
            await feed._publish(None)
        return web.json_response({"id": cid, "final": None if last is None else dataclasses.asdict(last)})

    async def _get_rules(self, request: web.Request) -> web.StreamResponse:
        cid = checks.channel_id(request.match_info["id"])
        if not self._known(cid):
            return _error(404, f"no channel {cid!r}")
        with self._lock:
            return web.json_response(self._rules.get(cid, {"rules": []}))

    async def _put_rules(self, request: web.Request) -> web.StreamResponse:
        cid = checks.channel_id(request.match_info["id"])
        doc = checks.rules_doc(await self._body(request))
        # The pipeline validates every rule and names the field it refuses.
        await asyncio.to_thread(self.pipe.update_rules, cid, doc)
        with self._lock:
            self._rules[cid] = doc
        return web.json_response(doc)

    # -- live pictures ---------------------------------------------------------------------------

    def _feed(self, cid: str) -> ChannelFeed:
        feed = self._feeds.get(cid)
        if feed is None or feed.gone:
            feed = self._feeds[cid] = ChannelFeed(self.pipe, cid, asyncio.get_running_loop())
        return feed

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        cid = checks.channel_id(request.match_info["id"])
        if not self._known(cid):
            return _error(404, f"no channel {cid!r}")
        if self._viewers >= MAX_VIEWERS:
            return _error(503, f"too many live viewers (at most {MAX_VIEWERS} streams at once)")
        resp = web.StreamResponse(
            headers={
                "Content-Type": "multipart/x-mixed-replace; boundary=vasdkframe",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            }
        )
        await resp.prepare(request)
        feed = self._feed(cid)
        feed.join()
        self._viewers += 1
        seq = 0
        assert self._closing is not None
        try:
            while not self._closing.is_set():
                f = await feed.next(seq, 2.0)
                if f is None:
                    if feed.gone:
                        break
                    continue
                seq = f.seq
                head = (
                    f"--vasdkframe\r\nContent-Type: image/jpeg\r\nContent-Length: {len(f.jpeg)}\r\n"
                    f"X-Frame: {f.frame}\r\nX-Capture-Us: {f.capture_us}\r\n\r\n"
                ).encode()
                # Waits while this viewer's socket is full: it then skips to the newest picture.
                await resp.write(head + f.jpeg + b"\r\n")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._viewers -= 1
            feed.leave()
        return resp

    async def _frame(self, request: web.Request) -> web.StreamResponse:
        cid = checks.channel_id(request.match_info["id"])
        if not self._known(cid):
            return _error(404, f"no channel {cid!r}")
        feed = self._feed(cid)
        feed.join()
        try:
            f = await feed.next(0, 5.0)
        finally:
            feed.leave()
        if f is None:
            return _error(504, f"no live picture of channel {cid!r} within 5 s")
        return web.Response(
            body=f.jpeg,
            content_type="image/jpeg",
            headers={
                "Cache-Control": "no-store",
                "X-Frame": str(f.frame),
                "X-Capture-Us": str(f.capture_us),
                "X-Seq": str(f.seq),
            },
        )

    # -- stats and events ------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        st = await asyncio.to_thread(self.pipe.stats)
        with self._lock:
            counts = {k: dict(v) for k, v in self._counts.items()}
        chans = [
            {
                "id": c.id,
                "state": c.state,
                "fps": round(c.fps, 2),
                "latency_p50_ms": round(c.latency_p50_ms, 1),
                "latency_p99_ms": round(c.latency_p99_ms, 1),
                "decoded": c.decoded,
                "processed": c.processed,
                "dropped": c.dropped,
                "reconnects": c.reconnects,
                "events": c.events,
                "rule_counts": counts.get(c.id, {}),
                "viewers": self._feeds[c.id].viewers if c.id in self._feeds else 0,
            }
            for c in st.channels
        ]
        return web.json_response(
            {
                "time_us": int(time.time() * 1e6),
                "channels": chans,
                "inference": {
                    "fps": round(st.inference.fps, 2),
                    "latency_p99_ms": round(st.inference.latency_p99_ms, 1),
                    "backend": st.inference_backend,
                    "batch_mean": round(st.batch_mean, 2),
                },
                "live": {
                    "viewers": self._viewers,
                    "event_clients": self._hub.clients,
                    "events_dropped": self._hub.dropped,
                },
            }
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if self._hub.clients >= MAX_EVENT_CLIENTS:
            return _error(503, f"too many event streams (at most {MAX_EVENT_CLIENTS})")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await resp.prepare(request)
        q = self._hub.subscribe()
        assert self._closing is not None
        try:
            while not self._closing.is_set():
                try:
                    e = await asyncio.wait_for(q.get(), 1.0)
                except asyncio.TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                await resp.write(f"id: {e['seq']}\nevent: pipeline\ndata: {json.dumps(e)}\n\n".encode())
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._hub.unsubscribe(q)
        return resp

    async def _best_shot(self, request: web.Request) -> web.StreamResponse:
        """A best-shot JPEG of this run, by channel and event time: only from the run's own
        best-shot folder, found by listing it (the request names no path)."""
        if self.best_shots is None:
            return _error(404, "this run writes no best shots")
        cid = checks.channel_id(request.match_info["channel"], "channel")
        name = request.match_info["name"]
        stem = name[:-4] if name.endswith(".jpg") else ""
        if not stem.isdigit() or len(stem) > 20:
            return _error(400, "best shot: the name must be EVENT_TS_US.jpg")
        folder = self.best_shots / cid
        # The sink writes the file on its own thread just after the event: give it a moment.
        for _ in range(20):
            matches = sorted(folder.glob(f"{stem}-*.jpg")) if folder.is_dir() else []
            for p in reversed(matches):
                real = p.resolve()
                if real.is_file() and real.is_relative_to(self.best_shots) and not p.is_symlink():
                    return web.Response(
                        body=await asyncio.to_thread(real.read_bytes),
                        content_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"},
                    )
            await asyncio.sleep(0.1)
        return _error(404, f"no best shot of channel {cid!r} at {stem}")


def _rules_of(channel: dict[str, Any]) -> dict[str, Any]:
    rules = (
        (channel.get("analytics") or {}).get("rules") if isinstance(channel.get("analytics"), dict) else None
    )
    if isinstance(rules, dict):
        return copy.deepcopy(rules)
    if isinstance(rules, list):
        return {"rules": copy.deepcopy(rules)}
    return {"rules": []}


def _best_shot_dir(config: dict[str, Any]) -> Path | None:
    for s in config.get("sinks") or []:
        if isinstance(s, dict) and s.get("type") == "best_shot" and isinstance(s.get("dir"), str):
            return Path(s["dir"]).resolve()
    return None
