"""Scale-out across nodes: separate `vasdk run` processes share 8 channels through a Kafka
consumer group on librdkafka's mock cluster (scripts/kafka_mock.py, started here on 127.0.0.1
and stopped by PID).

Each node writes its results and cluster events to its own JSON-lines file; every line names
the node and the wall-clock time, which is what the assertions read:
  - steady state: over a window, every channel's results come from exactly one node;
  - a node killed with SIGKILL: its channels run again on the survivor within the session
    timeout plus 5 s;
  - a third node joins: it takes a share, and still every channel runs on exactly one node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = 8
SESSION_TIMEOUT_MS = 3000
VASDK = Path(sys.executable).with_name("vasdk")

vasdk = pytest.importorskip("vasdk")


@pytest.fixture()
def kafka(tmp_path: Path) -> Iterator[str]:
    """Bootstrap servers of a fresh mock cluster with an 8-partition topic."""
    log = (tmp_path / "kafka_mock.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "kafka_mock.py"), "--partitions", str(CHANNELS)],
        stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("kafka_mock ready "), f"mock cluster did not start: {line!r}"
        yield line.split()[2]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        log.close()


class Node:
    """One `vasdk run` process with its own config and JSON-lines output."""

    def __init__(self, name: str, brokers: str, assets: Path, tmp: Path) -> None:
        self.name = name
        self.out = tmp / f"{name}.jsonl"
        cfg = {
            "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"),
                                    "options": {"input_width": 256, "input_height": 192}}},
            "inference": {"threads": 1},
            "node_id": name,
            "cluster": {"brokers": brokers, "session_timeout_ms": SESSION_TIMEOUT_MS,
                        "heartbeat_interval_ms": 500},
            "sinks": [{"type": "jsonl", "path": str(self.out), "kinds": ["result", "cluster"]}],
            "channels": [{"id": f"cam{i}", "detect_interval": 5,
                          "source": {"url": str(assets / "vtest.avi"), "loop": True, "realtime": True}}
                         for i in range(CHANNELS)],
        }
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(cfg))
        self.log = (tmp / f"{name}.log").open("w")
        self.proc = subprocess.Popen([str(VASDK), "run", str(path), "--plain", "--interval", "2"],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def lines(self) -> list[dict]:
        out = []
        if self.out.exists():
            for raw in self.out.read_text().splitlines():
                with contextlib.suppress(json.JSONDecodeError):  # a line being written
                    out.append(json.loads(raw))
        return out

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            pytest.fail(f"node {self.name} did not stop within {timeout} s of signal {sig}")
        self.log.close()
        return rc


def owners(nodes: list[Node], since_us: int, until_us: int) -> dict[str, set[str]]:
    """Channel -> the nodes whose results for it fall in [since_us, until_us)."""
    seen: dict[str, set[str]] = {f"cam{i}": set() for i in range(CHANNELS)}
    for n in nodes:
        for m in n.lines():
            if m.get("kind") == "result" and since_us <= m["wall_us"] < until_us:
                assert m["node_id"] == n.name
                seen[m["channel"]].add(n.name)
    return seen


def wait_steady(nodes: list[Node], budget_s: float = 40) -> dict[str, set[str]]:
    """Waits until a 2 s window shows every channel on exactly one node; returns that window."""
    deadline = time.time() + budget_s
    last: dict[str, set[str]] = {}
    while time.time() < deadline:
        time.sleep(2.5)
        now = int(time.time() * 1e6)
        last = owners(nodes, now - 2_500_000, now - 500_000)
        if all(len(v) == 1 for v in last.values()):
            return last
    pytest.fail(f"no steady state within {budget_s} s: {last}")


def test_channels_move_between_nodes(kafka: str, assets: Path, tmp_path: Path) -> None:
    a = Node("node-a", kafka, assets, tmp_path)
    b = Node("node-b", kafka, assets, tmp_path)
    nodes = [a, b]
    c: Node | None = None
    try:
        steady = wait_steady(nodes)
        share = {n.name: sum(1 for v in steady.values() if n.name in v) for n in nodes}
        assert share["node-a"] >= 1 and share["node-b"] >= 1, share
        b_channels = sorted(ch for ch, v in steady.items() if v == {"node-b"})

        # SIGKILL: no goodbye; the group notices after the session timeout.
        killed = time.time()
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait()
        budget = SESSION_TIMEOUT_MS / 1000 + 5
        back: dict[str, float] = {}
        while time.time() < killed + budget + 5 and len(back) < len(b_channels):
            time.sleep(0.5)
            for m in a.lines():
                if (m.get("kind") == "result" and m["channel"] in b_channels
                        and m["wall_us"] / 1e6 > killed and m["channel"] not in back):
                    back[m["channel"]] = m["wall_us"] / 1e6 - killed
        assert sorted(back) == b_channels, f"not taken over: {set(b_channels) - set(back)}"
        failover = max(back.values())
        print(f"\nfailover: {len(b_channels)} channels of the killed node ran again on the "
              f"survivor after {failover:.2f} s (session timeout {SESSION_TIMEOUT_MS} ms)")
        assert failover <= budget, f"failover took {failover:.2f} s > {budget} s"
        now = int(time.time() * 1e6)
        time.sleep(2)
        alone = owners([a], now, int(time.time() * 1e6))
        assert all(v == {"node-a"} for v in alone.values()), alone

        # A third node joins and takes its share; the group stays one owner per channel.
        c = Node("node-c", kafka, assets, tmp_path)
        deadline = time.time() + 40
        while time.time() < deadline:
            steady = wait_steady([a, c])
            if any("node-c" in v for v in steady.values()):
                break
        share = {n: sum(1 for v in steady.values() if n in v) for n in ("node-a", "node-c")}
        print(f"after node-c joined: {share}")
        assert share["node-c"] >= CHANNELS // 2 - 1, share
        assert share["node-a"] + share["node-c"] == CHANNELS

        # A clean leave: SIGTERM stops the node, which gives its channels back.
        assert c.stop() == 130
        revoked = [m for m in c.lines() if m.get("kind") == "cluster" and m["subkind"] == "revoked"]
        assert len(revoked) == share["node-c"], revoked
        assert a.stop() == 130
    finally:
        for n in (a, b, c):
            if n is not None and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
            if n is not None:
                n.log.close()


def test_cluster_config_errors(assets: Path, kafka: str) -> None:
    base = {"models": {"detector": {"model": str(assets / "yolov3-tiny.onnx")}},
            "channels": [{"id": f"c{i}", "source": {"url": str(assets / "vtest.avi")}} for i in range(9)]}
    with pytest.raises(vasdk.VasError, match=r"cluster\.brokers"):
        vasdk.Pipeline({**base, "cluster": {"topic": "t"}})
    with pytest.raises(vasdk.VasError, match=r"cluster\.heartbeat_interval_ms"):
        vasdk.Pipeline({**base, "cluster": {"brokers": kafka, "session_timeout_ms": 2000,
                                             "heartbeat_interval_ms": 3000}})
    with pytest.raises(vasdk.VasError, match=r"cluster\.tls\.key_file"):
        vasdk.Pipeline({**base, "cluster": {"brokers": kafka, "tls": {"cert_file": "c.pem"}}})
    # 9 channels on an 8-partition topic: one channel could never run anywhere.
    p = vasdk.Pipeline({**base, "cluster": {"brokers": kafka}})
    with pytest.raises(vasdk.VasError, match="8 partitions for 9 channels"):
        p.start()
    p.close()
    # A topic that does not exist is named, with what to do about it.
    p = vasdk.Pipeline({**base, "cluster": {"brokers": kafka, "topic": "nope"}})
    with pytest.raises(vasdk.VasError, match="topic 'nope'"):
        p.start()
    p.close()
    # A CA file that does not exist fails when the consumer is made, naming the file.
    p = vasdk.Pipeline({**base, "channels": base["channels"][:8],
                        "cluster": {"brokers": kafka, "tls": {"ca_file": "/nonexistent/ca.pem"}}})
    with pytest.raises(vasdk.VasError, match="ca.pem"):
        p.start()
    p.close()
    assert os.path.exists(assets / "vtest.avi")
