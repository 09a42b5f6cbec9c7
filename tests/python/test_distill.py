"""`vasdk model distill`: the ONNX graph runs in JAX as ONNX Runtime runs it, a pruned student's
held-out loss against its teacher falls, a resumed run ends where an uninterrupted one with the
same seed ends, and the trained student loads and detects in vasdk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

pytest.importorskip("jax", reason="distillation needs the train extra (jax, optax)")

import vasdk
from vasdk.tools.distill import OnnxFunction, distill
from vasdk.tools.onnxutil import ModelToolError, ort_session
from vasdk.tools.prune import prune


@pytest.fixture(scope="module")
def models(tmp_path_factory, assets: Path) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("distill")
    for name in ("yolov3-tiny.onnx", "yolov3-tiny.json"):
        (d / name).write_bytes((assets / name).read_bytes())
    prune(d / "yolov3-tiny.onnx", d / "student.onnx", ratio=0.5)
    return d / "yolov3-tiny.onnx", d / "student.onnx"


def test_jax_runs_the_graph_as_onnxruntime_does(models) -> None:
    teacher, _ = models
    fn = OnnxFunction(onnx.load(teacher))
    x = np.random.default_rng(0).random((1, 3, 128, 160), dtype=np.float32)
    s = ort_session(str(teacher))
    want = s.run(None, {s.get_inputs()[0].name: x})
    got = fn(fn.params, x)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4, atol=1e-3)


def test_loss_falls_resume_is_exact_and_student_detects(models, assets: Path, tmp_path: Path) -> None:
    teacher, student = models
    common = dict(teacher=teacher, frames=[assets / "vtest.avi"], count=8, batch=2, lr=1e-3, seed=7,
                  input_size=(160, 128), progress=False, checkpoint_every=2)
    full = distill(student, tmp_path / "a.onnx", steps=4, checkpoint=tmp_path / "a.ckpt", **common)
    assert full.steps == 4 and full.heldout_loss_end < full.heldout_loss_start
    part = distill(student, tmp_path / "b.onnx", steps=2, checkpoint=tmp_path / "b.ckpt", **common)
    assert part.steps == 2
    resumed = distill(student, tmp_path / "b.onnx", steps=4, checkpoint=tmp_path / "b.ckpt", resume=True,
                      **common)
    assert resumed.resumed_from == 2 and resumed.steps == 4
    np.testing.assert_allclose(resumed.train_loss, full.train_loss[2:], rtol=1e-4)
    wa = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(tmp_path / "a.onnx").graph.initializer}
    wb = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(tmp_path / "b.onnx").graph.initializer}
    assert max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa) < 1e-4
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(iter(r))
    vasdk.Detector(tmp_path / "a.onnx", threads=1).detect(frame)
    with pytest.raises(ModelToolError, match="checkpoint is for another student"):
        distill(teacher, tmp_path / "c.onnx", steps=3, checkpoint=tmp_path / "a.ckpt", resume=True, **common)
