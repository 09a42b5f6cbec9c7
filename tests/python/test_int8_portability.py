"""INT8 models on a CPU without VNNI, for real: ONNX Runtime's own AVX2 kernels under qemu-user.

The host may have VNNI (AVX-512 Xeons, Zen 4 and later) or not (Zen 3). Either way, qemu-user
with ``-cpu EPYC-Milan`` (Zen 3: AVX2, no VNNI) makes ONNX Runtime pick its AVX2 u8s8 kernels,
whose 16-bit pair sums saturate on full 8-bit weights. A small model with large positive
weights and bright inputs saturates for sure, so the test can tell the two targets apart:
the portable model must give the same outputs on both CPUs, the vnni model must not.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vasdk.tools.cards import write_card, yolo_darknet_card
from vasdk.tools.quantize import QuantizeConfig, quantize_model

W, H = 32, 32
EMULATED_CPU = "EPYC-Milan"  # Zen 3: AVX2 and FMA, no AVX-512, no VNNI

RUN = """
import sys, numpy as np, onnxruntime as ort
x = np.load(sys.argv[1])
for path, out in zip(sys.argv[2::2], sys.argv[3::2]):
    so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    np.save(out, s.run(None, {"images": x})[0])
"""


def _bright_model(path: Path) -> Path:
    rng = np.random.default_rng(3)
    w1 = rng.uniform(0.5, 1.0, (16, 3, 3, 3)).astype(np.float32)
    w2 = rng.uniform(0.5, 1.0, (16, 16, 3, 3)).astype(np.float32) / 16
    w3 = rng.uniform(-0.1, 0.1, (18, 16, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["images", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["a1"], name="relu1"),
        helper.make_node("Conv", ["a1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["a2"], name="relu2"),
        helper.make_node("Conv", ["a2", "w3"], ["head"], name="head"),
    ]
    g = helper.make_graph(
        nodes, "bright", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("head", TensorProto.FLOAT, [1, 18, H, W])],
        [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    write_card(path.with_suffix(".json"), yolo_darknet_card(
        "bright", path.name, input_name="images", width=W, height=H,
        heads=[{"name": "head", "stride": 1, "anchors": [[4, 4], [8, 8], [12, 12]]}], classes=["thing"]))
    return path


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(200, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def _qemu() -> str:
    if platform.machine() != "x86_64":
        pytest.skip(f"needs an x86_64 host to emulate an x86 CPU without VNNI, not {platform.machine()}")
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.fail("qemu-x86_64 is missing (apt package qemu-user; scripts/setup.sh installs it)")
    return qemu


def test_portable_int8_gives_the_same_outputs_without_vnni(tmp_path: Path) -> None:
    qemu = _qemu()
    src = _bright_model(tmp_path / "bright.onnx")
    models = {t: quantize_model(src, tmp_path / f"bright.{t}.onnx", _frames(8),
                                QuantizeConfig(target=t)).model for t in ("portable", "vnni")}
    x = np.stack([f[:, :, ::-1].transpose(2, 0, 1) for f in _frames(1)]).astype(np.float32) / 255
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "run.py"
    script.write_text(RUN)

    def run(prefix: list[str], tag: str) -> dict[str, np.ndarray]:
        args = [str(tmp_path / "x.npy")]
        for t, m in models.items():
            args += [str(m), str(tmp_path / f"{t}.{tag}.npy")]
        subprocess.run([*prefix, sys.executable, str(script), *args], check=True, timeout=300,
                       capture_output=True)
        return {t: np.load(tmp_path / f"{t}.{tag}.npy") for t in models}

    native = run([], "native")
    zen3 = run([qemu, "-cpu", EMULATED_CPU], "zen3")
    # 7-bit weights cannot saturate: exact integer sums on both CPUs, the same requantization.
    np.testing.assert_array_equal(zen3["portable"], native["portable"])
    # Full 8-bit weights saturate under the emulated AVX2 kernels (unless the host itself lacks
    # VNNI, where both runs saturate alike): the difference is what the portable target avoids.
    from vasdk.tools.cpuinfo import cpu_info, int8_saturates

    info = cpu_info()
    if not int8_saturates(info["arch"], set(info["features"])):
        scale = float(np.abs(native["vnni"]).max())
        assert float(np.abs(zen3["vnni"] - native["vnni"]).max()) > 0.05 * scale
