"""Shared helpers of the model tools: checked loading, op support, node naming, staged output.

Every tool reports bad input as :class:`ModelToolError`, whose message names the file (or
node) and the cause, and writes its results through a staging folder so that a failure never
leaves a partial output file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx

__all__ = [
    "ModelToolError",
    "check_ops",
    "file_size",
    "load_model",
    "name_nodes",
    "op_counts",
    "ort_session",
    "parameter_count",
    "staging_dir",
]

# Operator domains that ONNX Runtime's CPU provider implements besides the standard ones.
_ORT_DOMAINS = ("com.microsoft", "com.microsoft.nchwc", "ai.onnx.ml")


class ModelToolError(ValueError):
    """Bad input to a model tool: a corrupt or unsupported model, unusable calibration data."""


def load_model(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """Load and check an ONNX file; raise ModelToolError naming the file and the cause."""
    p = Path(path)
    if not p.is_file():
        raise ModelToolError(f"{p}: no such model file")
    try:
        model = onnx.load(str(p))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelToolError(f"{p}: not a valid ONNX file ({type(e).__name__}: {e})") from None
    if not model.graph.node:
        raise ModelToolError(f"{p}: not a valid ONNX file (the graph has no nodes)")
    check_ops(model, p.name)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "validation failed"
        raise ModelToolError(f"{p}: invalid ONNX model ({first})") from None
    return model


def check_ops(model: onnx.ModelProto, what: str = "model") -> None:
    """Raise ModelToolError for the first node whose operator ONNX Runtime cannot run."""
    for node in model.graph.node:
        domain = node.domain or ""
        if domain in ("", "ai.onnx"):
            if not onnx.defs.has(node.op_type):
                raise ModelToolError(
                    f"{what}: unsupported op '{node.op_type}' (node '{node.name or '?'}'): "
                    "not an ONNX operator")
        elif domain not in _ORT_DOMAINS:
            raise ModelToolError(
                f"{what}: unsupported op '{domain}::{node.op_type}' (node '{node.name or '?'}'): "
                f"custom domain '{domain}' has no ONNX Runtime kernel")


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Node count per op type (domain-qualified for non-standard domains), most common first."""
    c: Counter[str] = Counter(
        (f"{n.domain}:{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type)
        for n in model.graph.node)
    return dict(c.most_common())


def name_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every unnamed node a unique name (``<OpType>_<index>``), in place; returns model.

    Quantization excludes layers by node name, and reports are unreadable without names.
    """
    taken = {n.name for n in model.graph.node if n.name}
    for i, n in enumerate(model.graph.node):
        if not n.name:
            name = f"{n.op_type}_{i}"
            while name in taken:
                name += "_"
            n.name = name
            taken.add(name)
    return model


def parameter_count(model: onnx.ModelProto) -> int:
    """Elements in the model's initializers."""
    return int(sum(np.prod(t.dims) for t in model.graph.initializer))


def file_size(path: str | os.PathLike[str]) -> int:
    """Size in bytes of a model, counting external data files beside it."""
    p = Path(path)
    size = p.stat().st_size
    model = onnx.load(str(p), load_external_data=False)
    ext = {e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"}
    return size + sum((p.parent / e).stat().st_size for e in ext if (p.parent / e).is_file())


def ort_session(model: str | os.PathLike[str] | bytes, *, threads: int = 1, level: str = "basic",
                optimized_path: str | os.PathLike[str] | None = None, what: str = "") -> Any:
    """An onnxruntime CPU session; failures become ModelToolError with ORT's reason."""
    import onnxruntime as ort

    levels = {
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    if level not in levels:
        raise ModelToolError(f"optimization level must be one of {', '.join(levels)}, got {level!r}")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = levels[level]
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path is not None:
        so.optimized_model_filepath = os.fspath(optimized_path)
    src = model if isinstance(model, bytes) else os.fspath(model)
    what = what or ("model" if isinstance(model, bytes) else Path(os.fspath(model)).name)
    try:
        return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "NOT_IMPLEMENTED" in msg or "Could not find an implementation" in msg:
            raise ModelToolError(f"{what}: unsupported op for ONNX Runtime's CPU provider ({msg})") from None
        raise ModelToolError(f"{what}: ONNX Runtime cannot load it ({msg})") from None


@contextlib.contextmanager
def staging_dir(dst: str | os.PathLike[str]) -> Iterator[Path]:
    """A private temp folder beside ``dst`` (same file system, so renames are atomic).

    Tools build their outputs in it and move them into place at the end; the folder and
    anything left in it are removed on exit, success or failure.
    """
    parent = Path(dst).resolve().parent
    if not parent.is_dir():
        raise ModelToolError(f"{dst}: output folder {parent} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=".vasdk-tool-", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
