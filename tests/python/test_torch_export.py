"""PyTorch -> ONNX export, checked number for number through the SDK's own engine.

torch is optional (vasdk does not depend on it), so this whole file skips without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from vasdk import _core  # noqa: E402
from vasdk.tools.fixup import MAX_IR_VERSION  # noqa: E402
from vasdk.tools.onnxutil import ModelToolError  # noqa: E402
from vasdk.tools.torch_export import DEFAULT_OPSET, export_torch  # noqa: E402


class _TinyDetector(torch.nn.Module):  # type: ignore[misc]
    """Conv + BN + activations, a stride-2 path upsampled and concatenated, two heads."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Sequential(
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.LeakyReLU(0.1)
        )
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.score = nn.Conv2d(24, 2, 1)
        self.box = nn.Conv2d(24, 4, 1)

    def forward(self, x: Any) -> tuple[Any, Any]:
        a = self.stem(x)
        f = torch.cat([a, self.up(self.down(a))], dim=1)
        return torch.sigmoid(self.score(f)), self.box(f)


def _net() -> Any:
    torch.manual_seed(0)
    net = _TinyDetector()
    with torch.no_grad():  # non-trivial BN statistics, so a wrong conv+bn fusion would show
        for bn in (net.stem[1], net.down[1]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return net.eval()


def test_export_runs_in_the_sdk_engine_with_dynamic_batch_and_size(tmp_path: Path) -> None:
    net = _net()
    dst = export_torch(net, tmp_path / "det.onnx", input_shape=(1, 3, 32, 32), output_names=["score", "box"])
    m = onnx.load(str(dst))
    assert m.ir_version <= MAX_IR_VERSION
    assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [DEFAULT_OPSET]

    eng = _core.Engine(str(dst), json.dumps({"threads": 1}))  # the dlopened ORT accepts the IR
    assert eng.inputs == [("images", "float32", [-1, 3, -1, -1])]
    assert [o[0] for o in eng.outputs] == ["score", "box"]
    rng = np.random.default_rng(0)
    # Batch and size differ from the traced 1x3x32x32: both must really be dynamic.
    for n, h, w in ((1, 32, 32), (3, 48, 64), (2, 64, 40)):
        x = rng.standard_normal((n, 3, h, w)).astype(np.float32)
        with torch.no_grad():
            ref = [t.numpy() for t in net(torch.from_numpy(x))]
        out = eng.run({"images": x})
        for name, r in zip(("score", "box"), ref):
            assert out[name].shape == r.shape == (n, r.shape[1], h // 2, w // 2)
            np.testing.assert_allclose(out[name], r, rtol=1e-4, atol=1e-5, err_msg=f"{name} {n}x{h}x{w}")
        # Each image of a batch gives what it gives alone.
        single = eng.run({"images": x[-1:]})
        np.testing.assert_allclose(out["box"][-1:], single["box"], rtol=1e-5, atol=1e-6)


def test_fixed_export_keeps_the_traced_shape(tmp_path: Path) -> None:
    dst = export_torch(_net(), tmp_path / "fixed.onnx", input_shape=(2, 3, 16, 16), dynamic=False)
    eng = _core.Engine(str(dst), json.dumps({"threads": 1}))
    assert eng.inputs == [("images", "float32", [2, 3, 16, 16])]


def test_failed_export_names_the_cause_and_writes_nothing(tmp_path: Path) -> None:
    dst = tmp_path / "bad.onnx"
    with pytest.raises(ModelToolError, match="torch.onnx.export failed"):
        # A 3-channel module fed 5 channels: tracing fails inside torch.
        export_torch(_net(), dst, input_shape=(1, 5, 32, 32))
    assert list(tmp_path.iterdir()) == []
