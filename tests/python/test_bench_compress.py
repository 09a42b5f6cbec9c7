"""benchmarks/bench_compress.py's report: parameters counted alike in float, QDQ and fused INT8
models, and --render writes the table and the plot from a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
bench = pytest.importorskip("bench_compress")


def _save(tmp_path: Path, name: str, nodes: list, inits: list) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(helper.make_model(helper.make_graph(nodes, name, [x], [y], inits)).SerializeToString())
    return path


def test_params_are_counted_alike_in_float_qdq_and_fused_models(tmp_path: Path) -> None:
    w, b = np.ones((4, 3, 3, 3), np.float32), np.zeros(4, np.float32)
    f32 = _save(tmp_path, "f32", [helper.make_node("Conv", ["x", "w", "b"], ["y"])],
                [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    scale = numpy_helper.from_array(np.full(4, 0.1, np.float32), "s")
    zero = numpy_helper.from_array(np.zeros(4, np.int8), "z")
    wq = numpy_helper.from_array(w.astype(np.int8), "wq")
    qdq = _save(tmp_path, "qdq", [helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["wd"]),
                                  helper.make_node("Conv", ["x", "wd", "b"], ["y"])],
                [wq, scale, zero, numpy_helper.from_array(b, "b")])
    qlinear = helper.make_node("QLinearConv", ["x", "xs", "xz", "wq", "s", "z", "ys", "yz", "bq"], ["y"])
    bq = numpy_helper.from_array(np.zeros(4, np.int32), "bq")
    fused = _save(tmp_path, "fused", [qlinear], [wq, scale, zero, bq])
    assert bench.conv_params(f32) == bench.conv_params(qdq) == bench.conv_params(fused) == 4 * 27 + 4


def test_render_writes_the_table_and_the_plot(tmp_path: Path) -> None:
    row = {"latency_ms": {"1": 100.0, "2": 60.0}, "speedup": {"1": 1.0, "2": 1.0}, "size_mb": 1.0,
           "conv_gflops": 1.0, "params": 1_500_000}
    report = {"settings": {"ratio": 0.5}, "rows": [{**row, "name": "teacher", "agreement_ap50": 1.0},
                                                   {**row, "name": "teacher_int8", "agreement_ap50": 0.97}],
              "targets": {"t>=1": [0.5, False]},
              "environment": {"cpu_model": "Test CPU", "arch": "x86_64", "cores": 2,
                              "cpu_flags": {"avx2": True, "amx": False}, "load_avg_before": [0.1, 0.2, 0.3],
                              "versions": {"onnxruntime": "1.0"}}}
    out = tmp_path / "c.json"
    text = bench.render(report, out, tmp_path)
    assert "CPU: Test CPU (x86_64, 2 cores; avx2)" in text and "| teacher_int8 | 0.970 |" in text
    assert "| 1.50 |" in text and "t>=1: 0.500 (missed)" in text
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out.read_text())["rows"][0]["params"] == 1_500_000
    # The report names its protocol: another video, or the same video's later frames.
    report["settings"] |= {"train": ["Megamind.avi", "stills"], "eval": "/a/vtest.avi"}
    assert "Trained on Megamind.avi, stills; agreement on vtest.avi, a video not used in training." in \
        bench.render(report, out, tmp_path)
    report["settings"]["same_video_split"] = 400
    assert "Trained on every 4th frame of vtest.avi before frame 400; agreement on its frames from 400 on" \
        in bench.render(report, out, tmp_path)
