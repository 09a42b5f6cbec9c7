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
from vasdk.tools.distill import (
    OnnxFunction,
    _crops,
    _frames,
    _use_compile_cache,
    compile_cache_dir,
    distill,
    main,
)
from vasdk.tools.onnxutil import ModelToolError, ort_session
from vasdk.tools.prune import prune
from vasdk.tools.refit import refit_model


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
                  input_size=(160, 128), progress=False, checkpoint_every=2, fit=False)
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


def test_teacher_as_its_own_student_has_zero_loss_and_keeps_its_detections(models, assets: Path,
                                                                           tmp_path: Path) -> None:
    """The loss is a divergence: 0 where the student is the teacher, so a few steps leave it be.

    The rate is small because Adam scales each step to about the rate whatever the gradient's
    size: at the optimum the gradient is rounding noise, which differs between CPUs."""
    teacher, _ = models
    res = distill(teacher, tmp_path / "self.onnx", teacher=teacher, frames=[assets / "Megamind.avi"], count=6,
                  batch=2, steps=3, lr=1e-6, seed=1, input_size=(160, 128), progress=False)
    assert res.fit is None  # no prune record: nothing to refit
    assert abs(res.heldout_loss_start) < 1e-4 and res.heldout_loss_end < 0.05
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(iter(r))
    want = vasdk.Detector(teacher, threads=1, classes=["person"]).detect(frame)
    got = vasdk.Detector(tmp_path / "self.onnx", threads=1, classes=["person"]).detect(frame)
    assert len(want.scores) >= 3 and len(got.scores) == len(want.scores)
    np.testing.assert_allclose(np.sort(np.asarray(got.scores)), np.sort(np.asarray(want.scores)), atol=0.01)


def test_feature_fit_brings_a_pruned_student_back_to_its_teacher(models, assets: Path) -> None:
    teacher, student = models
    model = onnx.load(student)
    x = _frames([assets / "Megamind.avi"], 6, {**_spec(teacher), "width": 320, "height": 256})
    fitted, res = refit_model(model, teacher, x[:5], rows=3000)
    assert [f.name for f in res.layers] == [n.name for n in model.graph.node if n.op_type == "Conv"]
    assert all(f.error_after <= f.error_before + 1e-6 for f in res.layers)
    assert res.layers[-1].error_after < 0.5 * res.layers[-1].error_before
    t = ort_session(str(teacher))
    want = t.run(None, {"images": x[5:]})  # a frame the fit did not see
    before = ort_session(model.SerializeToString()).run(None, {"images": x[5:]})
    after = ort_session(fitted.SerializeToString()).run(None, {"images": x[5:]})
    for w, b, a in zip(want, before, after, strict=True):
        assert np.linalg.norm(a - w) < 0.8 * np.linalg.norm(b - w)
    del model.metadata_props[:]
    with pytest.raises(ModelToolError, match="vasdk model prune"):
        refit_model(model, teacher, x[:2])


def _spec(teacher: Path) -> dict:
    import json

    return dict(json.loads(teacher.with_suffix(".json").read_text())["input"])


def test_compile_cache_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache holds executable code: made 0700, refused when others can write to it, and a
    cache the user gave JAX is left alone."""
    from types import SimpleNamespace

    class Config(SimpleNamespace):
        def update(self, name: str, value: str) -> None:
            setattr(self, name, value)

    def fake() -> SimpleNamespace:
        return SimpleNamespace(config=Config(jax_compilation_cache_dir=None))

    monkeypatch.setenv("VASDK_CACHE_DIR", str(tmp_path / "c"))
    jax = fake()
    assert _use_compile_cache(jax) == compile_cache_dir() == tmp_path / "c" / "jax"
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "c" / "jax")
    assert (tmp_path / "c" / "jax").stat().st_mode & 0o777 == 0o700
    (tmp_path / "c" / "jax").chmod(0o777)
    jax = fake()
    assert _use_compile_cache(jax) is None and jax.config.jax_compilation_cache_dir is None
    jax = SimpleNamespace(config=Config(jax_compilation_cache_dir="/elsewhere"))
    assert _use_compile_cache(jax) is None and jax.config.jax_compilation_cache_dir == "/elsewhere"


def test_crops_are_blocks_of_the_frame_on_the_coarsest_grid() -> None:
    """Crops keep the frame's scale: each is an exact block of its frame, at an offset on the
    32-pixel grid, frame by frame in order; the same seed cuts the same crops."""
    x = np.random.default_rng(0).random((3, 3, 192, 256), dtype=np.float32)
    got = _crops(x, (96, 64), 4, np.random.default_rng(5))
    assert got.shape == (12, 3, 64, 96)
    offsets = set()
    for i, c in enumerate(got):
        frame = x[i // 4]
        hits = [(oy, ox) for oy in range(0, 192 - 64 + 1, 32) for ox in range(0, 256 - 96 + 1, 32)
                if np.array_equal(frame[:, oy:oy + 64, ox:ox + 96], c)]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 1  # not always the same corner
    np.testing.assert_array_equal(_crops(x, (96, 64), 4, np.random.default_rng(5)), got)


def test_crop_training_runs_and_bad_sizes_are_refused(models, assets: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    teacher, student = models
    res = distill(student, tmp_path / "c.onnx", teacher=teacher, frames=[assets / "vtest.avi"], count=4,
                  batch=2, steps=2, lr=1e-3, seed=3, crop=(160, 128), crops_per_frame=2, progress=False,
                  fit=False)
    assert res.steps == 2 and np.isfinite(res.heldout_loss_end)
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        frame = next(iter(r))
    vasdk.Detector(tmp_path / "c.onnx", threads=1).detect(frame)
    common = dict(teacher=teacher, frames=[assets / "vtest.avi"], count=4, steps=1, progress=False)
    for bad in ((800, 128), (160, 100)):
        with pytest.raises(ModelToolError, match=f"768x576 in multiples of 32 .got {bad[0]}x{bad[1]}"):
            distill(student, tmp_path / "d.onnx", crop=bad, **common)
    with pytest.raises(ModelToolError, match="not both"):
        distill(student, tmp_path / "d.onnx", crop=(160, 128), input_size=(160, 128), **common)
    assert main([str(student), str(tmp_path / "d.onnx"), "--teacher", str(teacher), "--frames",
                 str(assets / "vtest.avi"), "--crop", "160by128", "--quiet"]) == 1
    assert "a size is WxH (e.g. 416x320), got '160by128'" in capsys.readouterr().err
