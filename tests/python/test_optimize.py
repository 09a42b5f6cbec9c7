"""Offline graph optimization (vasdk.tools.optimize) on a synthetic graph and on CenterFace."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import vasdk.tools.optimize as optimize_mod
from vasdk.cli import main as cli_main
from vasdk.tools.calibrate import preprocess, read_video_frames
from vasdk.tools.onnxutil import ModelToolError
from vasdk.tools.optimize import optimize_model


def _bn_model(path: Path) -> Path:
    """conv -> batchnorm -> relu -> identity -> dropout -> (constant-foldable add) -> output."""
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float32), "w"),
        numpy_helper.from_array(rng.random(4).astype(np.float32) + 0.5, "scale"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bias"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.random(4).astype(np.float32) + 0.5, "var"),
        numpy_helper.from_array(np.ones((1, 4, 1, 1), np.float32), "one"),
        numpy_helper.from_array(np.full((1, 4, 1, 1), 2, np.float32), "two"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"], name="bn"),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["i"], name="identity"),
        helper.make_node("Dropout", ["i"], ["d"], name="dropout"),
        helper.make_node("Add", ["one", "two"], ["three"], name="const_add"),
        helper.make_node("Mul", ["d", "three"], ["y"], name="mul"),
    ]
    g = helper.make_graph(nodes, "bn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def _run_all(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Every output, with the runtime's own optimizations off: the graph is run as written."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, feed)


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    return _run_all(path, {"x": x})[0]


class _Clock:
    """A perf_counter whose runs take known times: each (start, end) pair of calls is one run,
    of the next duration in `durations_ms`."""

    def __init__(self, durations_ms: list[float]) -> None:
        self.durations = list(durations_ms)
        self.calls = 0
        self.now = 100.0

    def perf_counter(self) -> float:
        if self.calls % 2:  # the end of a run
            self.now += self.durations[self.calls // 2] / 1e3
        self.calls += 1
        return self.now


def test_optimize_fuses_and_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _bn_model(tmp_path / "bn.onnx")
    dst = tmp_path / "bn.opt.onnx"
    # Three runs of the original (1, 9, 2 ms) and three of the optimized model (7, 4, 5 ms): the
    # result must report each model's median of exactly its own three runs.
    clock = _Clock([1, 9, 2, 7, 4, 5])
    monkeypatch.setattr(optimize_mod, "time", SimpleNamespace(perf_counter=clock.perf_counter))
    res = optimize_model(src, dst, latency=True, repeats=3)
    monkeypatch.undo()
    assert res.ops_before == {"Conv": 1, "BatchNormalization": 1, "Relu": 1, "Identity": 1, "Dropout": 1,
                              "Add": 1, "Mul": 1}
    for gone in ("BatchNormalization", "Identity", "Dropout", "Add", "Relu"):
        assert gone not in res.ops_after, res.ops_after
    assert res.nodes_after < res.nodes_before
    assert clock.calls == 2 * 3 * 2, "not 3 timed runs of each model"
    assert res.latency_ms_before == pytest.approx(2.0)
    assert res.latency_ms_after == pytest.approx(5.0)
    assert "(nodes)" in res.table() and "2.0" in res.table() and "5.0" in res.table()
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(_run(dst, x), _run(src, x), rtol=1e-4, atol=1e-4)


def test_optimize_refuses_all_and_bad_input(tmp_path: Path) -> None:
    src = _bn_model(tmp_path / "bn.onnx")
    with pytest.raises(ModelToolError, match="never 'all'"):
        optimize_model(src, tmp_path / "o.onnx", level="all")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelToolError, match="not a valid ONNX file"):
        optimize_model(bad, tmp_path / "o.onnx")
    assert not (tmp_path / "o.onnx").exists()
    assert not list(tmp_path.glob(".vasdk-tool-*"))


def test_optimize_centerface_cli(assets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "centerface.opt.onnx"
    rc = cli_main(["model", "optimize", str(assets / "centerface.onnx"), str(dst), "--repeats", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "BatchNormalization" in out and "com.microsoft:FusedConv" in out and "(ms, median)" in out
    m = onnx.load(str(dst))
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops and "FusedConv" in ops
    assert not any(n.domain == "com.microsoft.nchwc" for n in m.graph.node)  # no hardware layouts
    card = json.loads(dst.with_suffix(".json").read_text())
    assert card["model"] == "centerface.opt.onnx"

    # The optimized graph computes what the original does, on real frames: Megamind.avi frames
    # 30, 90 and 240 (faces in view) at the card's 640x480. Folding BatchNormalization into the
    # convolution weights changes float32 rounding only: the measured max |diff| is 1.4e-6 on
    # outputs of magnitude up to ~5 (heatmap, scale, offset, landmarks), so 1e-5 + 1e-5 *
    # |original| leaves a margin of about 20, while a wrong fusion (a dropped bias, a scale
    # applied twice) misses it by orders of magnitude.
    spec = card["input"]
    for frame in read_video_frames(assets / "Megamind.avi", [30, 90, 240]):
        feed = {spec["name"]: preprocess(frame, spec)}
        want, got = _run_all(assets / "centerface.onnx", feed), _run_all(dst, feed)
        assert len(got) == len(want) == 4
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
        assert float(want[0].max()) > 0.5  # real faces: the heatmap is not flat
