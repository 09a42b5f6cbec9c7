"""The PyTorch export helper's torch-free finishing pass (the export itself: test_torch_export.py)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vasdk.tools.onnxutil import ModelToolError
from vasdk.tools.torch_export import finalize_export


def _fixed_model(ir: int = 10) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = ir
    return m


def test_finalize_caps_ir_and_makes_dims_dynamic() -> None:
    m = finalize_export(_fixed_model(ir=10))
    assert m.ir_version == 8
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 3, "H", "W"]
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    out = s.run(None, {"x": np.ones((2, 3, 16, 24), np.float32)})[0]
    assert out.shape == (2, 2, 16, 24) and np.allclose(out, 3.0)
    fixed = finalize_export(_fixed_model(ir=7), dynamic=False)
    assert fixed.ir_version == 7
    assert [d.dim_value for d in fixed.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 8, 8]


def test_finalize_rejects_unsupported_ops() -> None:
    m = _fixed_model()
    m.graph.node.append(helper.make_node("Swirl", ["y"], ["z"], name="swirl", domain="acme"))
    m.opset_import.append(helper.make_opsetid("acme", 1))
    m.graph.output[0].name = "z"
    with pytest.raises(ModelToolError, match="unsupported op 'acme::Swirl'"):
        finalize_export(m)

