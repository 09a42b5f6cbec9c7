"""First-order Taylor filter importance (`vasdk model prune --importance taylor`): the gate sits
where a removed filter's channel is read, the scores rank filters by what removing them does to
the model's own outputs, and prune uses them end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

pytest.importorskip("jax", reason="Taylor importance needs the train extra (jax)")

import jax
import jax.numpy as jnp

from vasdk.cli import main as cli_main
from vasdk.tools.distill import OnnxFunction
from vasdk.tools.onnxutil import ModelToolError, ort_session
from vasdk.tools.prune import prunable_convs, prune
from vasdk.tools.taylor import _objective, frames_for, gated_tensor, taylor_importance

SIZE = {"width": 320, "height": 256}  # small frames: the ranking, not the accuracy, is under test


@pytest.fixture(scope="module")
def teacher(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("taylor")
    card = json.loads((assets / "yolov3-tiny.json").read_text())
    card["input"].update(SIZE)
    (d / "yolov3-tiny.json").write_text(json.dumps(card))
    (d / "yolov3-tiny.onnx").write_bytes((assets / "yolov3-tiny.onnx").read_bytes())
    return d / "yolov3-tiny.onnx", card


def test_gate_is_after_batch_norm_and_activation(teacher) -> None:
    model = onnx.load(teacher[0])
    conv = next(n for n in model.graph.node if n.name == "layer0.conv")
    gated = gated_tensor(model, conv)
    producer = next(n for n in model.graph.node if n.output[0] == gated)
    assert producer.op_type == "LeakyRelu"


def test_scores_rank_filters_by_what_removing_them_changes(teacher, assets: Path) -> None:
    path, card = teacher
    model = onnx.load(path)
    conv = next(c for c in prunable_convs(model)[0] if c.name == "layer10.conv")
    x = frames_for([assets / "vtest.avi"], 2, dict(card["input"]))
    scores = taylor_importance(model, [conv], x, card)["layer10.conv"]
    assert scores.shape == (512,) and np.all(scores >= 0) and scores.std() > 0
    # Gate off the 16 filters the scores rank lowest, then the 16 they rank highest: the
    # detection mass moves far less without the former.
    fn = OnnxFunction(model)
    objective, tensor = _objective(card, fn.outputs), gated_tensor(model, conv)
    mass = jax.jit(lambda g: objective(fn(fn.params, x, {tensor: g})))

    def mass_without(idx: np.ndarray) -> float:
        g = np.ones(512, np.float32)
        g[idx] = 0
        return float(mass(jnp.asarray(g)))

    order = np.argsort(scores)
    full = mass_without(np.array([], int))
    low, high = abs(mass_without(order[:16]) - full), abs(mass_without(order[-16:]) - full)
    assert low < 0.25 * high, (low, high)


def test_prune_with_taylor_end_to_end(teacher, assets: Path, tmp_path: Path) -> None:
    path, _ = teacher
    res = prune(path, tmp_path / "t.onnx", ratios={"layer10.conv": 0.5}, importance="taylor",
                frames=[assets / "vtest.avi"], count=2)
    assert [(x.name, x.filters, x.kept) for x in res.layers] == [("layer10.conv", 512, 256)]
    s = ort_session(str(tmp_path / "t.onnx"))
    assert len(s.run(None, {"images": np.zeros((1, 3, 256, 320), np.float32)})) == 2
    with pytest.raises(ModelToolError, match="needs frames"):
        prune(path, tmp_path / "u.onnx", ratio=0.5, importance="taylor")
    assert not (tmp_path / "u.onnx").exists()
    assert cli_main(["model", "prune", str(path), str(tmp_path / "v.onnx"), "--ratio", "0.5",
                     "--importance", "taylor"]) == 1
