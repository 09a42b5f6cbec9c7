"""The live view's server over a real pipeline (vtest.avi, yolov3-tiny): MJPEG tiles, the JSON
API, events, rules through update_rules, and its answers to hostile input, missing tokens,
path traversal, many clients and a viewer that never reads."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("aiohttp")

from live_util import BUSY_LINE, Client, live_config, read_mjpeg, running, wait_for

import vasdk
from vasdk.live import LiveServer


@pytest.fixture(scope="module")
def best_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live") / "best_shots"


@pytest.fixture(scope="module")
def live(assets: Path, best_shots: Path) -> Iterator[tuple[vasdk.Pipeline, LiveServer]]:
    with running(live_config(assets, channels=2, best_shots=best_shots)) as pair:
        yield pair


@pytest.fixture()
def client(live: tuple[vasdk.Pipeline, LiveServer]) -> Client:
    return Client(live[1])


def test_mjpeg_tiles_are_annotated_live_pictures(live: tuple[vasdk.Pipeline, LiveServer]) -> None:
    _pipe, server = live
    parts = read_mjpeg(server.port, "cam0", 4)
    assert len(parts) == 4
    frames = [int(h["x-frame"]) for _, h, _ in parts]
    assert frames == sorted(frames) and len(set(frames)) == 4, frames
    img = cv2.imdecode(np.frombuffer(parts[-1][2], np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (576, 768, 3)
    # The rule geometry is burnt in: the intrusion zone's outline (blue-ish, BGR 255,128,0) on
    # its left edge x=0..1 between y=60 and 300, and pictures change from one to the next.
    edge = img[100:260, 0:2].reshape(-1, 3).astype(int)
    assert (np.abs(edge - [255, 128, 0]).sum(axis=1) < 120).mean() > 0.8
    assert parts[0][2] != parts[-1][2]
    # Latency from the camera frame to this client, on the same clock.
    lat_ms = [(t - int(h["x-capture-us"]) / 1e6) * 1e3 for t, h, _ in parts]
    assert all(0 <= v < 5000 for v in lat_ms), lat_ms


def test_no_viewer_means_no_encoding(live: tuple[vasdk.Pipeline, LiveServer]) -> None:
    pipe, server = live
    # Another test's viewer may be winding down: wait until nobody watches.
    assert wait_for(lambda: all(c.live_viewers == 0 for c in pipe.stats().channels), 5)
    before = {c.id: c.live_frames for c in pipe.stats().channels}
    processed = {c.id: c.processed for c in pipe.stats().channels}
    time.sleep(1.0)
    after = pipe.stats()
    for c in after.channels:
        assert c.processed > processed[c.id], "the pipeline runs"
        assert c.live_frames == before[c.id], f"{c.id}: encoded live pictures with no viewer"
    # One viewer: only its channel encodes.
    read_mjpeg(server.port, "cam1", 2)
    by = {c.id: c.live_frames for c in pipe.stats().channels}
    assert by["cam1"] > before["cam1"] and by["cam0"] == before["cam0"]


def test_single_frame_and_channels(client: Client) -> None:
    status, body = client.get("/api/channels/cam0/frame.jpg")
    assert status == 200 and body[:2] == b"\xff\xd8"
    status, doc = client.get("/api/channels")
    assert status == 200
    ids = [c["id"] for c in doc["channels"]]
    assert ids == ["cam0", "cam1"]
    assert doc["channels"][0]["rules"]["rules"][0]["id"] == "door"
    assert doc["channels"][0]["mjpeg"] == "/api/channels/cam0/mjpeg"
    status, doc = client.get("/api/openapi.json")
    assert status == 200 and "/api/channels/{id}/rules" in doc["paths"]


def test_stats_and_events_stream(live: tuple[vasdk.Pipeline, LiveServer], client: Client) -> None:
    status, st = client.get("/api/stats")
    assert status == 200
    c0 = st["channels"][0]
    assert {"fps", "latency_p99_ms", "dropped", "rule_counts", "viewers"} <= set(c0)
    # Server-sent events: the backlog and live ones, as "event: pipeline" JSON lines.
    sock = socket.create_connection(("127.0.0.1", live[1].port), timeout=10)
    sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % live[1].port)
    buf = b""
    end = time.monotonic() + 15
    while buf.count(b"event: pipeline") < 3 and time.monotonic() < end:
        buf += sock.recv(65536)
    sock.close()
    assert b"text/event-stream" in buf
    events = [json.loads(line[6:]) for line in buf.split(b"\n") if line.startswith(b"data: ")]
    assert len(events) >= 3, buf[:500]
    assert {"channel", "kind", "subkind", "wall_us"} <= set(events[0])


def test_best_shot_images_only_from_the_run_folder(
    live: tuple[vasdk.Pipeline, LiveServer], client: Client, best_shots: Path, tmp_path: Path
) -> None:
    # A best-shot event names its image; it is served from the run's folder.
    shot = wait_for(lambda: next((e for e in reversed(live[1]._hub.recent) if e.get("image")), None), 20)
    assert shot, "no best-shot event in 20 s"
    status, body = client.get(shot["image"])
    assert status == 200 and body[:2] == b"\xff\xd8"
    # Traversal and odd names: refused, never read.
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8secret")
    (best_shots / "cam0").mkdir(parents=True, exist_ok=True)
    link = best_shots / "cam0" / "123-1.jpg"
    link.symlink_to(secret)
    for path in [
        "/api/best_shots/cam0/123.jpg",  # a symlink out of the folder
        "/api/best_shots/..%2F..%2Fetc/passwd",
        "/api/best_shots/cam0/..%2F..%2Fsecret.jpg",
        "/api/best_shots/../secret.jpg",
        "/api/best_shots/cam0/%2e%2e.jpg",
        "/api/best_shots/cam0/1*.jpg",
        "/api/best_shots/.hidden/1.jpg",
        "/api/best_shots/cam0/" + "9" * 30 + ".jpg",
    ]:
        status, body = client.get(path)
        assert status in (400, 404), (path, status)
        assert b"secret" not in (body if isinstance(body, bytes) else json.dumps(body).encode())


def test_tokens_guard_every_change(live: tuple[vasdk.Pipeline, LiveServer], client: Client) -> None:
    rules = {"rules": [{"id": "door", "type": "line_crossing", "line": BUSY_LINE}]}
    calls = [
        ("POST", "/api/channels", {"id": "x", "url": "rtsp://127.0.0.1:9/x"}),
        ("PUT", "/api/channels/cam0/rules", rules),
        ("DELETE", "/api/channels/cam1", None),
    ]
    for method, path, body in calls:
        status, doc = client.request(method, path, body, token=None)
        assert status == 401 and "token" in doc["error"], (method, path, doc)
        status, doc = client.request(method, path, body, token="not-the-token-0123456789")
        assert status == 403, (method, path, doc)
        # A token in the query string does not count for changes.
        status, doc = client.request(method, path + "?token=" + live[1].token, body, token=None)
        assert status == 401
    assert [c.id for c in live[0].stats().channels] == ["cam0", "cam1"]
    # Reads on a loopback server need none; a Host header for another name is refused.
    assert client.get("/api/stats", token=None)[0] == 200
    status, doc = client.get("/api/stats", token=None, headers={"Host": "evil.example:80"})
    assert status == 421


def test_non_loopback_server_needs_the_token_for_reads(assets: Path) -> None:
    # Tests bind 127.0.0.1 only; the rule for other addresses is switched on by hand.
    with running(live_config(assets, channels=1)) as (_, server):
        server.loopback = False
        server._hosts = None
        c = Client(server)
        assert c.get("/api/stats", token=None)[0] == 401
        assert c.get("/api/stats", token="wrong-token-0123456789")[0] == 403
        assert c.get("/api/stats")[0] == 200
        assert c.get(f"/api/stats?token={server.token}", token=None)[0] == 200
        assert c.get("/", token=None)[0] == 200  # the page itself holds no data


HOSTILE_BODIES: list[tuple[bytes, str]] = [
    (b"", "not valid"),
    (b"{", "not valid"),
    (b"[]", "JSON object"),
    (b'"x"', "JSON object"),
    (b"\xff\xfe", "UTF-8"),
    (b"1e999999", "JSON object"),
    (b"{" + b'"a":{' * 200 + b"}" * 201, "nested"),
    (b"{" + b'"a":[' * 5000, "not valid"),
    (b'{"id": "x", "url": "rtsp://h/x", "extra": 1}', "unknown field"),
]


@pytest.mark.parametrize("raw, why", HOSTILE_BODIES)
def test_hostile_bodies_are_refused(client: Client, raw: bytes, why: str) -> None:
    for method, path in [("POST", "/api/channels"), ("PUT", "/api/channels/cam0/rules")]:
        status, doc = client.request(method, path, raw=raw)
        assert status == 400, (method, raw[:40], doc)
        if method == "POST" or why not in ("unknown field",):
            assert isinstance(doc["error"], str) and doc["error"]


def test_add_channel_input_is_validated(live: tuple[vasdk.Pipeline, LiveServer], client: Client) -> None:
    bad = [
        ({"id": "../x", "url": "rtsp://h/x"}, "id"),
        ({"id": "", "url": "rtsp://h/x"}, "id"),
        ({"id": "a" * 65, "url": "rtsp://h/x"}, "id"),
        ({"id": 5, "url": "rtsp://h/x"}, "id"),
        ({"id": "x", "url": "/etc/passwd"}, "url"),
        ({"id": "x", "url": "file:///etc/passwd"}, "url"),
        ({"id": "x", "url": str(Path(__file__))}, "url"),
        ({"id": "x", "url": "rtsp://"}, "url"),
        ({"id": "x", "url": "rtsp://h/a b"}, "url"),
        ({"id": "x", "url": "rtsp://h/x\u0000.bak"}, "url"),  # an embedded NUL would cut the C string
        ({"id": "x\u0000y", "url": "rtsp://h/x"}, "id"),
        ({"id": "x", "url": "rtsp://h/" + "a" * 3000}, "url"),
        ({"id": "x", "url": ["rtsp://h"]}, "url"),
        ({"id": "x"}, "url"),
        ({"id": "cam0", "url": "rtsp://127.0.0.1:9/x"}, "cam0"),  # duplicate, named by the pipeline
        ({"id": "x", "url": "rtsp://h/x", "rules": [{"id": "r", "type": "nope"}]}, "type"),
        ({"id": "x", "url": "rtsp://h/x", "rules": "all"}, "rules"),
    ]
    for body, field in bad:
        status, doc = client.request("POST", "/api/channels", body)
        assert status == 400, (body, doc)
        assert field in doc["error"], (body, doc)
    status, doc = client.request("DELETE", "/api/channels/nosuch")
    assert status == 404 and "nosuch" in doc["error"]
    status, doc = client.request("DELETE", "/api/channels/..")
    assert status in (400, 404)
    assert [c.id for c in live[0].stats().channels] == ["cam0", "cam1"]


def test_hostile_rules_are_refused_by_the_pipeline(
    live: tuple[vasdk.Pipeline, LiveServer], client: Client
) -> None:
    line = {"id": "door", "type": "line_crossing"}
    bad: list[Any] = [
        {"rules": [{**line, "line": [[0, 0]]}]},
        {"rules": [{**line, "line": [[5, 5], [5, 5]]}]},
        {"rules": [{**line, "line": [["a", 0], [1, 2]]}]},
        {"rules": [{**line}]},
        {"rules": [{"id": "z", "type": "intrusion", "polygon": [[0, 0], [1, 1]]}]},
        {"rules": [{"type": "intrusion", "polygon": [[0, 0], [9, 0], [9, 9]]}]},
        {"rules": [1, 2]},
        {"rules": [{**line, "line": [[0, 0], [9, 9]], "hysteresis": -1}]},
        {"rules": {}},
        {"rules": [{**line, "line": [[0, 0], [9, 9]]}] * 300},
        {"rules": [], "channel": "cam1"},
    ]
    before = client.get("/api/channels/cam0/rules")[1]
    for doc in bad:
        status, ans = client.request("PUT", "/api/channels/cam0/rules", doc)
        assert status == 400, (json.dumps(doc)[:80], ans)
    status, ans = client.request(
        "PUT", "/api/channels/cam0/rules", raw=b'{"rules": [{"line": [[NaN, 0], [1, 2]]}]}'
    )
    assert status == 400
    status, ans = client.request("PUT", "/api/channels/nosuch/rules", {"rules": []})
    assert status == 404
    assert client.get("/api/channels/cam0/rules")[1] == before
    # Far-off but finite points are geometry the pipeline takes (as its C API does): nothing
    # crosses there, nothing is drawn there, and the channel goes on.
    far = {
        "rules": [
            {**line, "line": [[1e308, 0], [1, 2]]},
            {"id": "z", "type": "intrusion", "polygon": [[-1e300, 0], [9, 1e300], [9, 9]]},
        ]
    }
    assert client.request("PUT", "/api/channels/cam0/rules", far)[0] == 200
    n = live[0].stats().by_id["cam0"].processed
    assert wait_for(lambda: live[0].stats().by_id["cam0"].processed > n + 3, 5)
    assert client.request("PUT", "/api/channels/cam0/rules", before)[0] == 200
    # The pipeline still runs.
    n = live[0].stats().by_id["cam0"].processed
    assert wait_for(lambda: live[0].stats().by_id["cam0"].processed > n, 5)


def test_many_clients_and_a_viewer_that_never_reads(live: tuple[vasdk.Pipeline, LiveServer]) -> None:
    pipe, server = live
    port = server.port
    # Streams of earlier tests are gone once the server has noticed (within its 1 s keep-alive).
    assert wait_for(lambda: server._hub.clients == 0 and server._viewers == 0, 5)
    # A viewer that asks for a stream and never reads: its socket fills, the server waits on it
    # alone. 40 event streams (the server takes 32), 20 MJPEG readers at once.
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", port))
    stuck.sendall(b"GET /api/channels/cam0/mjpeg HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
    sse = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
        sse.append(s)
    codes = [s.recv(64).split(b" ")[1] for s in sse]
    assert codes.count(b"200") == 32 and codes.count(b"503") == 8, codes
    before = {c.id: (c.processed, c.dropped) for c in pipe.stats().channels}
    results: list[int] = []

    def reader() -> None:
        results.append(len(read_mjpeg(port, "cam0", 3, timeout=20)))

    threads = [threading.Thread(target=reader) for _ in range(20)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    took = time.monotonic() - t0
    assert results == [3] * 20, results
    after = {c.id: c.processed for c in pipe.stats().channels}
    for cid, (p0, _) in before.items():
        # The channels kept going all along (frames a busy CPU makes them drop are another
        # matter: the live view never holds a channel's worker).
        assert after[cid] - p0 >= 2 * took, (cid, before, after, took)
    for s in [*sse, stuck]:
        s.close()
    assert wait_for(lambda: server._hub.clients == 0 and server._viewers == 0, 5)


def test_rule_update_through_the_api_changes_counts(assets: Path) -> None:
    with running(live_config(assets, channels=1, realtime=False)) as (_pipe, server):
        c = Client(server)
        time.sleep(2)
        assert c.get("/api/stats")[1]["channels"][0]["rule_counts"].get("door.cross_in", 0) == 0
        rules = c.get("/api/channels/cam0/rules")[1]
        rules["rules"][0]["line"] = BUSY_LINE
        status, doc = c.request("PUT", "/api/channels/cam0/rules", rules)
        assert status == 200 and doc["rules"][0]["line"] == BUSY_LINE

        def crossings() -> int:
            counts = c.get("/api/stats")[1]["channels"][0]["rule_counts"]
            return sum(v for k, v in counts.items() if k.startswith("door.cross"))

        assert wait_for(crossings, 30, 0.5) > 0


def test_hostile_ids_and_paths_on_every_read(client: Client) -> None:
    ids = ["..", ".hidden", "a%2Fb", "%00", "x" * 65, "%ff%fe", "a%20b", "cam0%0d%0aX-Injected:%201"]
    for cid in ids:
        for tail in ("mjpeg", "frame.jpg", "rules"):
            status, doc = client.get(f"/api/channels/{cid}/{tail}")
            assert status in (400, 404), (cid, tail, status, doc)
    for path in [
        "/static/../server.py",
        "/static/%2e%2e%2fserver.py",
        "/static/index.html",
        "/static/app.js?x",
    ]:
        status, body = client.get(path)
        if path.endswith("app.js?x"):
            assert status == 200
        else:
            assert status == 404, (path, status)
            assert b"aiohttp" not in (body if isinstance(body, bytes) else json.dumps(body).encode())
    assert client.get("/api/stats")[0] == 200
