"""Hostile JSON through every Python entry point that takes a config: nesting far past the
limit, escaped NULs in strings that become paths, ids and addresses, duplicate keys, and
configs over the size limit. Each must raise InvalidConfigError naming the cause, never crash."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vasdk
from vasdk import _core

DEEP = "[" * 50000 + "]" * 50000
DEEP_OBJECTS = '{"a":' * 50000 + "1" + "}" * 50000
DEPTH_LIMIT = r"deeper than the limit of 64 \(VAS_CONFIG_MAX_DEPTH\)"


def pipeline_config(assets: Path) -> dict[str, Any]:
    return {
        "models": {"detector": {"model": str(assets / "yolov3-tiny.onnx"),
                                "options": {"input_width": 128, "input_height": 96, "threads": 1}}},
        "channels": [{"id": "cam1", "push": True}],
    }


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECTS, '{"rules": ' + DEEP + "}"])
def test_deep_nesting_is_refused_at_every_entry_point(assets: Path, text: str) -> None:
    ctors = [
        lambda: vasdk.Rules(text),
        lambda: vasdk.Analytics(text),
        lambda: vasdk.BestShotSelector(text),
        lambda: vasdk.Associator(text),
        lambda: _core.Detector(str(assets / "yolov3-tiny.onnx"), text),
    ]
    for make in ctors:
        with pytest.raises(vasdk.InvalidConfigError, match=DEPTH_LIMIT):
            make()
    with pytest.raises(vasdk.InvalidConfigError, match="64"):
        vasdk.Pipeline(text if text.startswith("{") else '{"x": ' + text + "}")
    p = vasdk.Pipeline(pipeline_config(assets))
    try:
        for call in (lambda: p.add_channel(text), lambda: p.update_rules("cam1", text)):
            with pytest.raises(vasdk.InvalidConfigError, match=r"VAS_CONFIG_MAX_DEPTH") as e:
                call()
            assert len(str(e.value)) < 300
        # Python objects nested as deep fail the same way, before any native code.
        deep: Any = 1
        for _ in range(5000):
            deep = [deep]
        with pytest.raises(vasdk.InvalidConfigError, match="nested too deep"):
            p.update_rules("cam1", {"rules": deep})
        with pytest.raises(vasdk.InvalidConfigError, match="nested too deep"):
            vasdk.Pipeline({"models": deep})
    finally:
        p.close()


# Every field that becomes a path, an id or an address, with its path in the config.
NUL_FIELDS = [
    (("models", "detector", "model"), "models.detector.model"),
    (("channels", 0, "id"), "channels[0].id"),
    (("channels", 1, "source", "url"), "channels[1].source.url"),
    (("channels", 1, "annotate", "path"), "channels[1].annotate.path"),
    (("sinks", 0, "path"), "sinks[0].path"),
    (("sinks", 1, "host"), "sinks[1].host"),
    (("sinks", 1, "topic_prefix"), "sinks[1].topic_prefix"),
    (("sinks", 2, "brokers"), "sinks[2].brokers"),
    (("sinks", 2, "topic"), "sinks[2].topic"),
    (("channels", 0, "analytics", "rules", "rules", 0, "id"), "channels[0].analytics.rules.rules[0].id"),
]


def full_config(assets: Path, tmp_path: Path) -> dict[str, Any]:
    cfg = pipeline_config(assets)
    cfg["channels"][0]["analytics"] = {"rules": {"rules": [
        {"id": "door", "type": "line_crossing", "line": [[0, 10], [100, 10]]}]}}
    cfg["channels"].append({"id": "cam2", "source": {"url": str(assets / "vtest.avi")},
                            "annotate": {"path": str(tmp_path / "a.mp4")}})
    cfg["sinks"] = [{"type": "jsonl", "path": str(tmp_path / "r.jsonl")},
                    {"type": "mqtt", "host": "127.0.0.1", "port": 1, "topic_prefix": "vasdk"},
                    {"type": "kafka", "brokers": "127.0.0.1:1", "topic": "vasdk"}]
    return cfg


@pytest.mark.parametrize(("where", "name"), NUL_FIELDS, ids=[n for _, n in NUL_FIELDS])
def test_embedded_nul_is_refused_naming_the_field(assets: Path, tmp_path: Path,
                                                  where: tuple[Any, ...], name: str) -> None:
    cfg = full_config(assets, tmp_path)
    node: Any = cfg
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = str(node[where[-1]]) + "\x00.bak"
    text = json.dumps(cfg)
    assert "\\u0000" in text
    with pytest.raises(vasdk.InvalidConfigError, match=r"NUL character") as e:
        vasdk.Pipeline(text)
    assert name in str(e.value)


def test_nul_in_channel_and_rules_json(assets: Path) -> None:
    p = vasdk.Pipeline(pipeline_config(assets))
    try:
        with pytest.raises(vasdk.InvalidConfigError, match=r"channel config: id: .*NUL"):
            p.add_channel('{"id": "cam\\u00002", "push": true}')
        with pytest.raises(vasdk.InvalidConfigError, match=r"channel config: source.url: .*NUL"):
            p.add_channel('{"id": "cam2", "source": {"url": "rtsp://127.0.0.1:1/a\\u0000b"}}')
        with pytest.raises(vasdk.InvalidConfigError, match=r"rules\[0\].id: .*NUL"):
            p.update_rules("cam1", '{"rules": [{"id": "d\\u0000", "type": "line_crossing",'
                                   ' "line": [[0, 1], [5, 1]]}]}')
        assert [c.id for c in p.stats().channels] == ["cam1"]
    finally:
        p.close()
    with pytest.raises(vasdk.InvalidConfigError, match="NUL"):
        _core.Detector(str(assets / "yolov3-tiny.onnx"), '{"classes": ["person\\u0000"]}')


def test_duplicate_keys_are_refused(assets: Path) -> None:
    with pytest.raises(vasdk.InvalidConfigError, match=r"rules\[0\].id: duplicate key"):
        vasdk.Rules('{"channel": "c", "rules": [{"id": "a", "id": "b", "type": "intrusion",'
                    ' "polygon": [[0, 0], [9, 0], [9, 9]]}]}')
    text = json.dumps(pipeline_config(assets))
    with pytest.raises(vasdk.InvalidConfigError, match="duplicate key"):
        vasdk.Pipeline(text[:-1] + ', "channels": []}')


def test_size_limit(assets: Path) -> None:
    cfg = pipeline_config(assets)
    cfg["channels"][0]["analytics"] = {"rules": {"rules": [
        {"id": "x" * 1_100_000, "type": "intrusion", "polygon": [[0, 0], [9, 0], [9, 9]]}]}}
    with pytest.raises(vasdk.InvalidConfigError, match=r"over the limit of 1048576 \(VAS_CONFIG_MAX_BYTES\)"):
        vasdk.Pipeline(cfg)


def test_messages_quote_only_an_excerpt(assets: Path) -> None:
    rule = {"id": "r", "type": "intrusion", "polygon": [[i, i] for i in range(100_000)],
            "hysteresis": "y" * 500_000}
    big = {"channel": "c", "rules": [rule]}
    with pytest.raises(vasdk.InvalidConfigError) as e:
        vasdk.Rules(copy.deepcopy(big))
    assert len(str(e.value)) < 400
    # The rest of the library still works afterwards.
    r = vasdk.Rules({"channel": "c", "rules": [{"id": "z", "type": "intrusion",
                                                "polygon": [[0, 0], [50, 0], [50, 50]]}]})
    tracks = {"ids": np.array([1]), "boxes": np.array([[20, 5, 30, 10]], np.float32)}  # foot inside
    assert [e.kind for e in r.update(tracks, 0)] == ["enter"]
