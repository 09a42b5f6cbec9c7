"""PyTorch module -> ONNX for the SDK: fixed opset, dynamic axes, an IR version ORT accepts.

``torch`` is imported only by :func:`export_torch`; vasdk does not depend on it. The export
uses the TorchScript exporter (``dynamo=False``): the newer exporter needs ``onnxscript``.
:func:`finalize_export` is the torch-free half (IR cap, dynamic dims, checks) and also
serves ONNX files exported elsewhere.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx

from . import write_atomic
from .fixup import MAX_IR_VERSION, make_dynamic
from .onnxutil import ModelToolError, check_ops, staging_dir

__all__ = ["DEFAULT_OPSET", "export_torch", "finalize_export"]

DEFAULT_OPSET = 17


def finalize_export(
    model: onnx.ModelProto, *, dynamic: bool = True, batch: str = "N", max_ir_version: int = MAX_IR_VERSION
) -> onnx.ModelProto:
    """Cap the IR version, make N (and H, W of 4-D inputs) symbolic, and check the model."""
    if dynamic:
        model = make_dynamic(model, batch=batch)
    model.ir_version = min(model.ir_version, max_ir_version)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ModelToolError(f"exported model is invalid ({str(e).strip().splitlines()[0]})") from None
    check_ops(model, "exported model")
    return model


def export_torch(
    module: Any,
    dst: str | os.PathLike[str],
    *,
    input_shape: Sequence[int] = (1, 3, 480, 640),
    input_names: Sequence[str] = ("images",),
    output_names: Sequence[str] | None = None,
    opset: int = DEFAULT_OPSET,
    dynamic: bool = True,
) -> Path:
    """Export ``module`` (a ``torch.nn.Module``) to ``dst``; returns ``dst``.

    The module is traced in eval mode on a zero tensor of ``input_shape``. With ``dynamic``,
    dim 0 of every input and output is ``N`` and dims 2, 3 of 4-D inputs are ``H``, ``W``.
    """
    try:
        import torch
    except ImportError:
        raise ModelToolError("export_torch needs PyTorch: pip install torch") from None
    dst = Path(dst)
    module.eval()
    dummy = torch.zeros(tuple(int(d) for d in input_shape), dtype=torch.float32)
    outs = list(output_names) if output_names else None
    axes: dict[str, dict[int, str]] = {}
    if dynamic:
        for name in input_names:
            axes[name] = {0: "N", 2: "H", 3: "W"} if len(input_shape) == 4 else {0: "N"}
        for name in outs or []:
            axes[name] = {0: "N"}
    with staging_dir(dst) as work:
        tmp = work / "export.onnx"
        try:
            # The TorchScript exporter is chosen on purpose (see the module doc); torch 2.9+
            # raises deprecation notices about it (and from inside it) on every call.
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(
                    module,
                    (dummy,),
                    str(tmp),
                    opset_version=opset,
                    input_names=list(input_names),
                    output_names=outs,
                    dynamic_axes=axes or None,
                    dynamo=False,
                )
        except Exception as e:
            raise ModelToolError(f"torch.onnx.export failed ({type(e).__name__}: {e})") from None
        model = finalize_export(onnx.load(str(tmp)), dynamic=dynamic)
        write_atomic([(dst, model.SerializeToString(deterministic=True))])
    return dst
