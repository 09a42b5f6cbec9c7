"""Helpers for the live view's tests: a small real pipeline over vtest.avi with its LiveServer,
an HTTP client on 127.0.0.1, an MJPEG reader, and the project's RTSP server by PID."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vasdk
from vasdk.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]

# A line along the top edge, where nobody walks: it counts nothing until it is moved.
IDLE_LINE = [[20, 3], [740, 3]]
# Across the walkway, where vtest.avi's walkers cross most often (17 crossings in its 80 s).
BUSY_LINE = [[5, 250], [760, 250]]


def live_config(
    assets: Path,
    channels: int = 2,
    best_shots: Path | None = None,
    line: list[list[int]] | None = None,
    realtime: bool = True,
) -> dict[str, Any]:
    """vtest.avi on every channel, looping: paced as a camera (realtime), or as fast as the CPU
    goes with every frame kept (rule tests then see crossings sooner)."""
    rules = [
        {"id": "door", "type": "line_crossing", "line": line or IDLE_LINE, "hysteresis": 4},
        {"id": "lawn", "type": "intrusion", "polygon": [[0, 60], [300, 60], [300, 300], [0, 300]]},
    ]
    analytics: dict[str, Any] = {"tracker": {"type": "bytetrack", "min_hits": 2}, "rules": {"rules": rules}}
    cfg: dict[str, Any] = {
        "models": {
            "detector": {
                "model": str(assets / "yolov3-tiny.onnx"),
                "options": {"threads": 1, "classes": ["person"], "input_width": 416, "input_height": 320},
            }
        },
        "channels": [
            {
                "id": f"cam{i}",
                "source": {"url": str(assets / "vtest.avi"), "loop": True, "realtime": realtime},
                "policy": "drop_oldest" if realtime else "block",
                "detect_interval": 2,
                "analytics": analytics,
            }
            for i in range(channels)
        ],
    }
    if best_shots is not None:
        analytics["best_shot"] = {"top_k": 1, "interval_s": 1, "jpeg": True}
        cfg["sinks"] = [{"type": "best_shot", "dir": str(best_shots), "max_count": 200}]
    return cfg


@contextmanager
def running(cfg: dict[str, Any], **server_args: Any) -> Iterator[tuple[vasdk.Pipeline, LiveServer]]:
    pipe = vasdk.Pipeline(cfg)
    server = LiveServer(pipe, "127.0.0.1", 0, **server_args)
    pipe.on_event(server.on_event)
    pipe.start()
    server.start()
    try:
        yield pipe, server
    finally:
        server.stop()
        pipe.close()


class Client:
    """Plain HTTP/1.1 to the server (a new connection per call, as a browser may)."""

    def __init__(self, server: LiveServer) -> None:
        self.port = server.port
        self.token = server.token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        tok = self.token if token == "" else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        if r.getheader("Content-Type", "").startswith("application/json"):
            return r.status, json.loads(payload)
        return r.status, payload

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)


def read_mjpeg(
    port: int, channel: str, parts: int, timeout: float = 15
) -> list[tuple[float, dict[str, str], bytes]]:
    """Reads `parts` pictures of a channel's MJPEG stream: (arrival time, headers, JPEG)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", f"/api/channels/{channel}/mjpeg")
    r = conn.getresponse()
    assert r.status == 200, r.read()
    assert r.getheader("Content-Type").startswith("multipart/x-mixed-replace")
    out = []
    try:
        while len(out) < parts:
            line = r.readline()
            if not line:
                break
            if not line.startswith(b"--vasdkframe"):
                continue
            headers: dict[str, str] = {}
            while h := r.readline().strip():
                k, _, v = h.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            body = r.read(int(headers["content-length"]))
            out.append((time.time(), headers, body))
    finally:
        conn.close()
    return out


def wait_for(cond: Any, timeout: float, step: float = 0.1) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


@contextmanager
def rtsp_server(assets: Path, channels: int = 1) -> Iterator[int]:
    """scripts/rtsp_server.py on 127.0.0.1 (Debian's python3), stopped by PID."""
    env = dict(os.environ, VASDK_ASSETS=str(assets))
    p = subprocess.Popen(
        [
            "/usr/bin/python3",
            str(ROOT / "scripts" / "rtsp_server.py"),
            "--port",
            "0",
            "--channels",
            str(channels),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert p.stdout is not None
        line = p.stdout.readline().decode()
        assert line.startswith("rtsp_server ready"), line
        yield int(line.split()[2])
    finally:
        os.kill(p.pid, signal.SIGTERM)
        p.wait(10)
        if p.stdout is not None:
            p.stdout.close()
