"""The OpenVINO backend ("backend": "openvino") against the ORT backend on real models and frames.

Needs the optional ``openvino`` wheel (scripts/setup.sh installs it; CI has it). Without it every
test that runs OpenVINO skips with the reason; the missing-library test runs everywhere.

Agreement is measured at detection level: a detection of one backend matches one of the other
with the same class at IoU > 0.5 (greedy by score), and agreement = 2 * matches / (n_a + n_b)
over all frames. The default precision is whatever OpenVINO's CPU plugin picks for the CPU
(bf16 on AMX, f32 elsewhere).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import vasdk
from vasdk import _core
from vasdk.tools.calibrate import read_video_frames

HAVE_OPENVINO = importlib.util.find_spec("openvino") is not None
needs_openvino = pytest.mark.skipif(
    not HAVE_OPENVINO, reason="the optional openvino wheel is not installed (pip install openvino)")

AGREEMENT = 0.97
VTEST_FRAMES = list(range(0, 300, 10))  # 30 frames, 3-10 walkers each
MEGAMIND_FRAMES = list(range(0, 270, 9))  # 30 frames across the clip's 3 shots


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of (N, 4) and (M, 4) x1, y1, x2, y2 boxes."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _matches(a: vasdk.Detections, b: vasdk.Detections) -> int:
    if len(a) == 0 or len(b) == 0:
        return 0
    iou = _iou(np.asarray(a.boxes, np.float64), np.asarray(b.boxes, np.float64))
    iou[np.asarray(a.class_ids)[:, None] != np.asarray(b.class_ids)[None, :]] = 0
    used: set[int] = set()
    n = 0
    for i in np.argsort(-np.asarray(a.scores)):
        j = int(np.argmax(np.where([k in used for k in range(len(b))], -1, iou[i])))
        if iou[i, j] > 0.5 and j not in used:
            used.add(j)
            n += 1
    return n


def agreement(model: Path, frames: list[np.ndarray], **ov_options: object) -> tuple[float, int]:
    """(agreement, detections by ORT) of OpenVINO against ORT on the same model and frames."""
    ref = vasdk.Detector(model, backend="ort", threads=1)
    ov = vasdk.Detector(model, backend="openvino", threads=1, **ov_options)
    assert ov.backend.startswith("openvino ")
    matched = total = n_ref = 0
    for f in frames:
        a, b = ref(f), ov(f)
        matched += _matches(a, b)
        total += len(a) + len(b)
        n_ref += len(a)
    return (2 * matched / total if total else 1.0), n_ref


@pytest.fixture(scope="module")
def vtest(assets: Path) -> list[np.ndarray]:
    return read_video_frames(assets / "vtest.avi", VTEST_FRAMES)


def test_missing_library_is_backend_unavailable_with_install_hint(assets: Path) -> None:
    opts = {"backend": "openvino", "openvino_library": "/nonexistent/libopenvino_c.so.2641"}
    with pytest.raises(vasdk.BackendUnavailableError, match="pip install openvino"):
        _core.Engine(str(assets / "yolov3-tiny.onnx"), json.dumps(opts))


@needs_openvino
def test_f32_raw_outputs_match_ort(assets: Path, vtest: list[np.ndarray]) -> None:
    """Raw heads on real frames, |ov - ort| <= 3e-4 + 1e-4 * |ort| (measured: about 3e-5)."""
    import cv2

    model = assets / "yolov3-tiny.onnx"
    ov = _core.Engine(str(model), json.dumps({"backend": "openvino", "threads": 1, "precision_hint": "f32"}))
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    for frame in vtest[:5]:
        x = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1)[None] / 255
        ours = ov.run({"images": np.ascontiguousarray(x)})
        ref = sess.run(None, {"images": x})
        for name, r in zip(("yolo_0", "yolo_1"), ref):
            np.testing.assert_allclose(ours[name], r, rtol=1e-4, atol=3e-4)


@needs_openvino
def test_detections_agree_with_ort_at_default_precision(assets: Path, vtest: list[np.ndarray]) -> None:
    score, n = agreement(assets / "yolov3-tiny.onnx", vtest)
    assert n >= 100  # real detections, not an empty comparison
    assert score >= AGREEMENT, f"yolov3-tiny agreement {score:.3f}"


@needs_openvino
def test_centerface_dynamic_shapes_agree_with_ort(assets: Path) -> None:
    frames = read_video_frames(assets / "Megamind.avi", MEGAMIND_FRAMES)
    score, n = agreement(assets / "centerface.onnx", frames)
    assert n >= 20
    assert score >= AGREEMENT, f"centerface agreement {score:.3f}"


def _qdq_conv(zero_point_type: int) -> onnx.ModelProto:
    """x -> QuantizeLinear -> DequantizeLinear -> Conv(int8 QDQ weights), as the quantizer writes."""
    rng = np.random.default_rng(0)
    np_zp = {TensorProto.UINT8: np.uint8, TensorProto.UINT16: np.uint16}[zero_point_type]
    w = rng.integers(-100, 100, size=(4, 3, 3, 3)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
        numpy_helper.from_array(np.array(128 if np_zp is np.uint8 else 32768, np_zp), "xz"),
        numpy_helper.from_array(w, "wq"),
        numpy_helper.from_array(np.full(4, 0.01, np.float32), "ws"),
        numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
        helper.make_node("Conv", ["xd", "wd"], ["y"], pads=[1, 1, 1, 1]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 8, 8])
    graph = helper.make_graph(nodes, "qdq", [x], [y], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


@needs_openvino
def test_int8_qdq_runs_and_16bit_qdq_is_refused(tmp_path: Path) -> None:
    int8 = tmp_path / "qdq8.onnx"
    onnx.save(_qdq_conv(TensorProto.UINT8), str(int8))
    eng = _core.Engine(str(int8), json.dumps({"backend": "openvino", "threads": 1}))
    assert eng.precision == "int8"
    x = np.random.default_rng(1).random((1, 3, 8, 8), dtype=np.float32)
    ref = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    # Integer arithmetic on both sides; a one-step rounding difference of the activation
    # (0.02 * 0.01 * sum of weights) is the most they may differ by.
    np.testing.assert_allclose(eng.run({"x": x})["y"], ref, atol=0.02)

    w8a16 = tmp_path / "qdq16.onnx"
    onnx.save(_qdq_conv(TensorProto.UINT16), str(w8a16))
    with pytest.raises(vasdk.UnsupportedError, match=r"16-bit QDQ \(w8a16\).*use backend 'ort'"):
        _core.Engine(str(w8a16), json.dumps({"backend": "openvino"}))


@needs_openvino
def test_int8_model_detections_agree_with_ort(assets: Path, vtest: list[np.ndarray],
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """Our INT8 yolov3-tiny (vasdk's quantizer, MinMax, portable target) on both backends.

    The plain QDQ graph (--no-optimize) runs. The quantizer's default output is saved at ORT's
    extended level, which fuses it into QLinearConv and com.microsoft ops: refused, naming them.
    """
    from vasdk.tools.quantize import QuantizeConfig, quantize_model

    calib = read_video_frames(assets / "vtest.avi", list(range(5, 400, 50)))  # 8 frames
    folder = tmp_path_factory.mktemp("ov-int8")
    qdq = quantize_model(assets / "yolov3-tiny.onnx", folder / "yolov3-tiny-qdq.onnx", calib,
                         QuantizeConfig(method="minmax", optimize=False)).model
    score, n = agreement(Path(qdq), vtest)
    assert vasdk.Detector(qdq, backend="openvino").precision == "int8"
    assert n >= 100
    assert score >= AGREEMENT, f"int8 QDQ yolov3-tiny agreement {score:.3f}"

    fused = quantize_model(assets / "yolov3-tiny.onnx", folder / "yolov3-tiny-fused.onnx", calib,
                           QuantizeConfig(method="minmax")).model
    refused = r"(?s)com\.microsoft.*backend 'ort'.*--no-optimize.*ov_core_read_model"
    with pytest.raises(vasdk.InvalidModelError, match=refused):
        vasdk.Detector(fused, backend="openvino")


@needs_openvino
def test_bad_options_name_the_field(assets: Path) -> None:
    model = str(assets / "yolov3-tiny.onnx")
    for field, value in (("precision_hint", "fp64"), ("performance_hint", "fast")):
        with pytest.raises(vasdk.InvalidConfigError, match=f"'{field}'"):
            _core.Engine(model, json.dumps({"backend": "openvino", field: value}))
    with pytest.raises(vasdk.InvalidConfigError, match="streams"):
        _core.Engine(model, json.dumps({"backend": "openvino", "streams": -1}))
    with pytest.raises(vasdk.InvalidConfigError, match="infer_requests"):
        vasdk.Detector(model, backend="openvino", infer_requests="two")
