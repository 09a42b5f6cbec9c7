"""`vasdk model lowrank`: truncated-SVD factorisation of convolutions. An exactly low-rank layer is
reproduced, the FLOPs target is met, the graph keeps its interface and card, and a factorised
yolov3-tiny still loads and detects in vasdk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import vasdk
from vasdk.cli import main as cli_main
from vasdk.tools.lowrank import conv_layers, factorize
from vasdk.tools.onnxutil import ModelToolError, ort_session


def _tiny(path: Path, rank: int | None) -> Path:
    """conv 3x3 (8 -> 32) with weights of the given rank, relu, conv 1x1 (32 -> 4); a card."""
    rng = np.random.default_rng(1)
    w1 = rng.standard_normal((32, 8, 3, 3)).astype(np.float32)
    if rank is not None:
        a = rng.standard_normal((32, rank)).astype(np.float32)
        b = rng.standard_normal((rank, 72)).astype(np.float32)
        w1 = (a @ b).reshape(32, 8, 3, 3) / 10
    b1 = rng.standard_normal(32).astype(np.float32)
    w2 = rng.standard_normal((4, 32, 1, 1)).astype(np.float32)
    inits = [numpy_helper.from_array(v, k) for k, v in (("w1", w1), ("b1", b1), ("w2", w2))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["h"], name="c1", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="c2", kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, "H", "W"])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    path.with_suffix(".json").write_text(json.dumps({"name": "tiny", "model": path.name,
                                                     "input": {"width": 24, "height": 16}}))
    return path


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    s = ort_session(str(path))
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def test_an_exactly_low_rank_layer_is_reproduced(tmp_path: Path) -> None:
    src = _tiny(tmp_path / "t.onnx", rank=3)
    res = factorize(src, tmp_path / "o.onnx", energy=1.0, min_share=0.0)
    c1 = next(p for p in res.layers if p.name == "c1")
    assert c1.rank == 3 and c1.flops_at(3) < c1.flops
    x = np.random.default_rng(2).random((1, 8, 16, 24), dtype=np.float32)
    np.testing.assert_allclose(_run(tmp_path / "o.onnx", x), _run(src, x), rtol=1e-4, atol=1e-4)
    out = onnx.load(tmp_path / "o.onnx")
    assert [n.op_type for n in out.graph.node] == ["Conv", "Conv", "Relu", "Conv"]
    assert res.params_after < res.params_before and res.max_abs_diff < 1e-3
    # The card follows the model, and the 1x1 layer (no saving) was left alone.
    assert json.loads((tmp_path / "o.json").read_text())["model"] == "o.onnx"
    assert next(p for p in res.layers if p.name == "c2").rank == 0


def test_flops_ratio_is_met_and_error_grows_as_energy_falls(tmp_path: Path) -> None:
    src = _tiny(tmp_path / "t.onnx", rank=None)
    errs = []
    for ratio in (0.8, 0.5):
        res = factorize(src, tmp_path / f"r{ratio}.onnx", flops_ratio=ratio, min_share=0.0)
        assert res.conv_flops_after <= ratio * res.conv_flops_before
        errs.append(res.rel_l2)
    assert 0 < errs[0] < errs[1]
    with pytest.raises(ModelToolError, match="energy must be"):
        factorize(src, tmp_path / "x.onnx", energy=1.5)
    with pytest.raises(ModelToolError, match="one of energy or flops_ratio"):
        factorize(src, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_factorised_yolo_loads_and_detects(tmp_path: Path, assets: Path) -> None:
    for name in ("yolov3-tiny.onnx", "yolov3-tiny.json"):
        (tmp_path / name).write_bytes((assets / name).read_bytes())
    dst = tmp_path / "lr.onnx"
    # Only the heaviest layer (29% of the FLOPs), at 0.93 energy: close to the original.
    assert cli_main(["model", "lowrank", str(tmp_path / "yolov3-tiny.onnx"), str(dst), "--energy", "0.93",
                     "--min-share", "0.25", "--json", str(tmp_path / "lr.json.out")]) == 0
    plan = json.loads((tmp_path / "lr.json.out").read_text())
    done = [p for p in plan["layers"] if p["rank"]]
    assert [p["name"] for p in done] == ["layer12.conv"] and done[0]["rank"] < 1024
    assert plan["conv_flops_after"] < plan["conv_flops_before"]
    layers = conv_layers(onnx.load(dst), 768, 576)
    assert {"layer12.conv.lr1", "layer12.conv.lr2"} <= {p.name for p in layers}
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(iter(r))
    got = vasdk.Detector(dst, threads=1).detect(frame)
    want = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=1).detect(frame)
    assert len(want) >= 3 and abs(len(got) - len(want)) <= max(1, len(want) // 5)
