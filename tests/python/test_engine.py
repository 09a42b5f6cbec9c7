"""The SDK engine (vasdk._core.Engine) and batched detection, against onnxruntime-Python."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import vasdk
from vasdk import _core
from vasdk.tools.fixup import set_batch


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _tiny_conv(dtype: int = TensorProto.FLOAT) -> onnx.ModelProto:
    np_dtype = np.float16 if dtype == TensorProto.FLOAT16 else np.float32
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np_dtype), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("x", dtype, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", dtype, ["N", 4, 8, 8])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_engine_matches_onnxruntime_python(assets: Path) -> None:
    model = assets / "yolov3-tiny.onnx"
    eng = _core.Engine(str(model), json.dumps({"threads": 1}))
    x = np.random.default_rng(1).random((1, 3, 96, 128), dtype=np.float32)
    ours = eng.run({"images": x})
    ref = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"images": x})
    np.testing.assert_allclose(ours["yolo_0"], ref[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours["yolo_1"], ref[1], rtol=1e-4, atol=1e-4)
    assert eng.precision == "fp32" and eng.providers == ["cpu"]
    assert eng.stats()["runs"] == 1
    with pytest.raises(vasdk.InvalidArgumentError, match="expects shape"):
        eng.run({"images": np.zeros((1, 4, 32, 32), np.float32)})
    with pytest.raises(vasdk.InvalidArgumentError, match="expects float32, got float16"):
        eng.run({"images": x.astype(np.float16)})
    with pytest.raises(vasdk.InvalidArgumentError, match="missing input 'images'"):
        eng.run({"pictures": x})


def test_precision_is_read_from_the_graph(tmp_path: Path) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp32 = _save(_tiny_conv(), tmp_path / "fp32.onnx")
    assert _core.Engine(str(fp32)).precision == "fp32"

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"x": np.random.default_rng(i).random((1, 3, 8, 8), dtype=np.float32)}
                               for i in range(4)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    int8 = tmp_path / "int8.onnx"
    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    eng = _core.Engine(str(int8), '{"optimization": "extended"}')
    assert eng.precision == "int8"
    out = eng.run({"x": np.ones((2, 3, 8, 8), np.float32)})["y"]
    assert out.shape == (2, 4, 8, 8)

    fp16 = _save(_tiny_conv(TensorProto.FLOAT16), tmp_path / "fp16.onnx")
    eng16 = _core.Engine(str(fp16))
    assert eng16.precision == "fp16"
    assert eng16.inputs[0][1] == "float16"
    y = eng16.run({"x": np.ones((1, 3, 8, 8), np.float16)})["y"]
    assert y.dtype == np.float16


def test_unsupported_operator_names_the_model(tmp_path: Path) -> None:
    node = helper.make_node("NoSuchOperator", ["x"], ["y"])
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "op.onnx")
    with pytest.raises((vasdk.InvalidModelError, vasdk.UnsupportedError), match="op.onnx.*NoSuchOperator"):
        _core.Engine(str(path))


def test_missing_provider_is_an_error_or_a_reported_fallback(assets: Path) -> None:
    model = str(assets / "yolov3-tiny.onnx")
    with pytest.raises(vasdk.BackendUnavailableError, match="'cuda' is not available"):
        _core.Engine(model, '{"providers": ["cuda"]}')
    eng = _core.Engine(model, '{"providers": ["cuda", "cpu"]}')
    assert eng.providers == ["cpu"] and "cuda" in eng.notes[0]


@pytest.fixture(scope="module")
def frames(assets: Path) -> list[np.ndarray]:
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        out = []
        for i, f in enumerate(r):
            if i in (0, 150, 300):
                out.append(f)
            if i == 300:
                return out
    raise AssertionError("short video")


def test_batched_detection_equals_single_images(assets: Path, frames: list[np.ndarray]) -> None:
    det = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2)
    singles = [det(f) for f in frames]
    batch = det.detect_batch(frames)
    assert len(batch) == 3
    for s, b in zip(singles, batch):
        np.testing.assert_array_equal(s.class_ids, b.class_ids)
        np.testing.assert_allclose(s.boxes, b.boxes, rtol=1e-4, atol=1e-2)


def test_fixed_batch_model_pads_partial_batches(tmp_path: Path, assets: Path,
                                                frames: list[np.ndarray]) -> None:
    fixed = tmp_path / "yolo_b2.onnx"
    _save(set_batch(onnx.load(str(assets / "yolov3-tiny.onnx")), 2), fixed)
    shutil.copy(assets / "yolov3-tiny.json", tmp_path / "yolo_b2.json")
    det = vasdk.Detector(fixed, threads=2)
    ref = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2)
    batch = det.detect_batch(frames)  # 3 images -> chunks of 2, the last padded
    assert len(batch) == 3
    for f, b in zip(frames, batch):
        np.testing.assert_allclose(ref(f).boxes, b.boxes, rtol=1e-4, atol=1e-2)
    with pytest.raises(vasdk.InvalidArgumentError, match="empty"):
        det.detect_batch([frames[0], np.zeros((0, 4, 3), np.uint8)])
