"""INT8 models quantized once and reused by quick runs: ``quantize_model`` behind a cache.

Quantizing yolov3-tiny or CenterFace (calibration over a few dozen frames) takes 25-30 s on a
busy 2-core machine, and bench_quantize.py and bench_int8_cpus.py quantize six models between
them: most of a quick scoreboard run (benchmarks/run_all.py --quick). No row times the
quantization itself, so a quick run may reuse a model quantized earlier from exactly the same
inputs: the key covers the float model and its card, the calibration frames' pixels, the
config, the output's name, the source of vasdk's model tools (vasdk/tools/*.py) and the onnx
and onnxruntime versions. A change to any of them quantizes afresh. Full runs never reuse.

The cache is .cache/bench/quantized/<key>/ (git-ignored): the model, its card and the result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from vasdk.tools.quantize import QuantizeConfig, QuantizeResult, quantize_model

__all__ = ["CACHE", "cache_key", "quantize"]

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "bench" / "quantized"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def cache_key(src: Path, dst: Path, frames: Sequence[Any], config: QuantizeConfig) -> str:
    """Everything the quantized bytes depend on, hashed."""
    import vasdk.tools

    h = hashlib.sha256()
    h.update(src.read_bytes())
    card = src.with_suffix(".json")
    h.update(card.read_bytes() if card.is_file() else b"no card")
    for f in frames:
        a = np.ascontiguousarray(f)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    h.update(json.dumps(asdict(config), sort_keys=True).encode())
    h.update(dst.name.encode())  # the card names its model file
    for py in sorted(Path(vasdk.tools.__file__).parent.glob("*.py")):
        h.update(py.name.encode())
        h.update(py.read_bytes())
    h.update(f"onnx {_version('onnx')} onnxruntime {_version('onnxruntime')}".encode())
    return h.hexdigest()[:24]


def quantize(src: Path, dst: Path, frames: Sequence[Any], config: QuantizeConfig, *, reuse: bool,
             progress: bool = False) -> tuple[QuantizeResult, bool]:
    """``quantize_model(src, dst, frames, config)``; with ``reuse``, copies a model quantized
    earlier from the same inputs instead. Returns (result, whether it was reused)."""
    src, dst = Path(src), Path(dst)
    if not reuse:
        return quantize_model(src, dst, frames, config, progress=progress), False
    slot = CACHE / cache_key(src, dst, frames, config)
    card = dst.with_suffix(".json")
    info = slot / "result.json"
    if info.is_file() and (slot / dst.name).is_file() and (slot / card.name).is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(slot / dst.name, dst)
        shutil.copyfile(slot / card.name, card)
        r = json.loads(info.read_text())
        return QuantizeResult(dst, card, config, r["calibration_frames"], r["float_nodes"], r["op_counts"],
                              r["seconds"], r.get("sensitivity", [])), True
    res = quantize_model(src, dst, frames, config, progress=progress)
    tmp = slot.with_name(slot.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copyfile(dst, tmp / dst.name)
    shutil.copyfile(card, tmp / card.name)
    (tmp / "result.json").write_text(json.dumps(res.to_json(), indent=1) + "\n")
    shutil.rmtree(slot, ignore_errors=True)
    tmp.rename(slot)  # whole or absent: an interrupted run leaves only a .tmp folder
    return res, False
