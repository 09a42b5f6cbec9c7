"""Model tools: darknet -> ONNX conversion, ONNX fix-up passes and model cards; offline
optimization, static quantization, calibration and evaluation.

The conversion modules (darknet, fixup, cards) depend only on numpy and onnx, except that
checking a card runs the C++ card reader through the native extension (``vasdk._core``), so
cards are validated in one place.
optimize, quantize and calibrate add onnxruntime and OpenCV; evaluate runs models through
the native extension (``vasdk.Detector``, ``vasdk._core.Engine``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(items: Sequence[tuple[Path, bytes]]) -> None:
    """Write several files so that a failure leaves none of them half-written.

    Everything is staged as hidden temp files in the target folders first and only then
    renamed into place, so a model never appears without its card or vice versa.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in items:
            path = Path(path)
            tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
            tmp.write_bytes(data)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
