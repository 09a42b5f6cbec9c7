"""Offline graph optimization (vasdk.tools.optimize) on a synthetic graph and on CenterFace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vasdk.cli import main as cli_main
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


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_optimize_fuses_and_removes(tmp_path: Path) -> None:
    src = _bn_model(tmp_path / "bn.onnx")
    dst = tmp_path / "bn.opt.onnx"
    res = optimize_model(src, dst, latency=True, repeats=3)
    assert res.ops_before == {"Conv": 1, "BatchNormalization": 1, "Relu": 1, "Identity": 1, "Dropout": 1,
                              "Add": 1, "Mul": 1}
    for gone in ("BatchNormalization", "Identity", "Dropout", "Add", "Relu"):
        assert gone not in res.ops_after, res.ops_after
    assert res.nodes_after < res.nodes_before
    assert res.latency_ms_before is not None and res.latency_ms_before > 0
    assert res.latency_ms_after is not None and res.latency_ms_after > 0
    assert "(nodes)" in res.table()
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
