"""`vasdk model prune`: structured filter pruning. Filters that contribute nothing (zero weights
and bias) are exactly the ones L1 removes, and removing them through yolov3-tiny's pooling,
upsampling and concatenation changes no output; the heads keep their layout; the pruned model
is smaller and runs in vasdk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import vasdk
from vasdk.cli import main as cli_main
from vasdk.tools.onnxutil import ModelToolError, ort_session
from vasdk.tools.prune import kept_channels, prunable_convs, prune


def _copy(assets: Path, d: Path) -> Path:
    for name in ("yolov3-tiny.onnx", "yolov3-tiny.json"):
        (d / name).write_bytes((assets / name).read_bytes())
    return d / "yolov3-tiny.onnx"


def _run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    s = ort_session(str(path))
    return s.run(None, {s.get_inputs()[0].name: x})


def test_heads_and_their_inputs_are_found(assets: Path) -> None:
    model = onnx.load(assets / "yolov3-tiny.onnx")
    convs, skipped = prunable_convs(model)
    assert set(skipped) == {"yolo_0", "yolo_1"}
    assert all("graph output" in why for why in skipped.values())
    assert len(convs) == 11  # layer13 feeds both a head and the route: still prunable


def test_removing_dead_filters_changes_no_output(assets: Path, tmp_path: Path) -> None:
    src = _copy(assets, tmp_path)
    model = onnx.load(src)
    init = {t.name: t for t in model.graph.initializer}
    convs, _ = prunable_convs(model)
    rng = np.random.default_rng(3)
    dead = {}
    for c in convs:  # a quarter of each layer's filters contribute nothing
        w = numpy_helper.to_array(init[c.input[1]]).copy()
        b = numpy_helper.to_array(init[c.input[2]]).copy()
        idx = rng.choice(w.shape[0], w.shape[0] // 4, replace=False)
        w[idx] = 0
        b[idx] = 0
        init[c.input[1]].CopyFrom(numpy_helper.from_array(w, c.input[1]))
        init[c.input[2]].CopyFrom(numpy_helper.from_array(b, c.input[2]))
        dead[c.name] = w.shape[0] - len(idx)
    zeroed = tmp_path / "zeroed.onnx"
    onnx.save(model, zeroed)
    (tmp_path / "zeroed.json").write_text((tmp_path / "yolov3-tiny.json").read_text())
    res = prune(zeroed, tmp_path / "pruned.onnx", ratio=0.25, round_to=1)
    assert {p.name: p.kept for p in res.layers} == dead
    assert res.params_after < 0.6 * res.params_before
    assert res.conv_flops_after < 0.65 * res.conv_flops_before
    x = np.random.default_rng(4).random((1, 3, 320, 416), dtype=np.float32)
    want, got = _run(zeroed, x), _run(tmp_path / "pruned.onnx", x)
    assert [g.shape for g in got] == [w.shape for w in want]  # heads keep 255 channels
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_pruned_model_runs_in_vasdk_and_bad_input_writes_nothing(assets: Path, tmp_path: Path) -> None:
    src = _copy(assets, tmp_path)
    dst = tmp_path / "p30.onnx"
    assert cli_main(["model", "prune", str(src), str(dst), "--ratio", "0.3"]) == 0
    assert json.loads((tmp_path / "p30.json").read_text())["model"] == "p30.onnx"
    w = {t.name: t.dims for t in onnx.load(dst).graph.initializer}
    assert all(d[0] % 8 == 0 for d in w.values() if len(d) == 4 and d[0] != 255)  # heads keep 255
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(iter(r))
    vasdk.Detector(dst, threads=1).detect(frame)  # loads, binds the heads, runs
    with pytest.raises(ModelToolError, match="cannot be pruned"):
        prune(src, tmp_path / "x.onnx", ratios={"yolo_0": 0.5})
    with pytest.raises(ModelToolError, match="no convolution"):
        prune(src, tmp_path / "x.onnx", ratios={"nope": 0.5})
    with pytest.raises(ModelToolError, match=r"must be in \[0, 1\)"):
        prune(src, tmp_path / "x.onnx", ratio=1.0)
    with pytest.raises(ModelToolError, match="BatchNormalization"):
        prune(src, tmp_path / "x.onnx", ratio=0.5, importance="bn")
    assert not (tmp_path / "x.onnx").exists()


def test_kept_channels_are_recorded_and_compose(assets: Path, tmp_path: Path) -> None:
    src = _copy(assets, tmp_path)
    prune(src, tmp_path / "a.onnx", ratio=0.25)
    prune(tmp_path / "a.onnx", tmp_path / "b.onnx", ratio=0.5, round_to=1)
    teacher = {t.name: numpy_helper.to_array(t) for t in onnx.load(src).graph.initializer}
    for path in (tmp_path / "a.onnx", tmp_path / "b.onnx"):
        model = onnx.load(path)
        kept = kept_channels(model)
        init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        convs = [n for n in model.graph.node if n.op_type == "Conv"]
        assert {n.output[0] for n in convs} == set(kept)
        for n in convs:  # indices point into the original model: the kept biases are the originals
            np.testing.assert_array_equal(init[n.input[2]], teacher[n.input[2]][kept[n.output[0]]])
    assert kept["yolo_0"] == list(range(255))
    assert kept_channels(onnx.load(src)) == {}
