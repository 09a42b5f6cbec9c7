"""Calibration data and activation ranges for static post-training quantization.

Frames come from a folder of images or are sampled from a video, and are preprocessed as the
SDK preprocesses them at inference, driven by the model card: stretch or letterbox (centred,
``pad_value`` border), BGR -> RGB when the card says RGB, ``(pixel * scale - mean) / std``,
NCHW float32. When the native extension has it, the SDK's own preprocessing kernel does this
(bit-exact with inference); otherwise OpenCV's INTER_LINEAR resize, which matches the SDK's
bilinear kernel to about one 8-bit step (both use half-pixel centres).

Ranges come from onnxruntime's calibrators. The histogram methods are created here directly
(``quantize_static`` does not forward the histogram options, so its Entropy runs on 128 bins):
Entropy uses ``num_bins=2048, num_quantized_bins=128``; Percentile 2048 bins, both tails cut.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .onnxutil import ModelToolError

__all__ = [
    "IMAGE_SUFFIXES",
    "METHODS",
    "FrameDataReader",
    "compute_ranges",
    "preprocess",
    "read_frames",
    "read_image_folder",
    "read_video_frames",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
METHODS = ("minmax", "percentile", "entropy")

Frame = npt.NDArray[np.uint8]


def _sdk_preprocessor(spec: Mapping[str, Any]) -> Any:
    """The SDK's own preprocessing kernel for this input block, or None when not built."""
    try:
        from .. import _core
        from ..preprocess import Preprocessor
    except ImportError:
        return None
    if not hasattr(_core, "Preprocessor"):
        return None
    return Preprocessor(int(spec["width"]), int(spec["height"]),
                        letterbox=spec.get("resize", "stretch") == "letterbox",
                        color=str(spec.get("color", "RGB")), scale=float(spec.get("scale", 1.0)),
                        mean=[float(v) for v in spec.get("mean", (0, 0, 0))],
                        std=[float(v) for v in spec.get("std", (1, 1, 1))],
                        pad_value=int(spec.get("pad_value", 0)))


def preprocess(frame: Frame, spec: Mapping[str, Any], *, kernel: str = "auto") -> npt.NDArray[np.float32]:
    """One BGR frame (H, W, 3) uint8 -> (1, 3, h, w) float32 as the card's ``input`` block says.

    ``kernel``: ``"sdk"`` runs the SDK's own preprocessing (bit-exact with inference),
    ``"opencv"`` the OpenCV equivalent, ``"auto"`` the SDK's when the extension has it.
    """
    import cv2

    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ModelToolError(f"frame must be (H, W, 3) uint8 BGR, got {frame.shape} {frame.dtype}")
    if kernel not in ("auto", "sdk", "opencv"):
        raise ModelToolError(f"preprocess kernel must be auto|sdk|opencv, got {kernel!r}")
    if kernel != "opencv":
        pre = _sdk_preprocessor(spec)
        if pre is not None:
            return np.ascontiguousarray(pre(np.ascontiguousarray(frame), "BGR"), dtype=np.float32)
        if kernel == "sdk":
            raise ModelToolError("the SDK's preprocessing is not available in this build")
    w, h = int(spec["width"]), int(spec["height"])
    sh, sw = frame.shape[:2]
    if spec.get("resize", "stretch") == "letterbox":
        s = min(w / sw, h / sh)
        cw = max(1, min(w, round(sw * s)))
        ch = max(1, min(h, round(sh * s)))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        canvas = np.full((h, w, 3), float(spec.get("pad_value", 0)), np.float32)
        canvas[y0:y0 + ch, x0:x0 + cw] = cv2.resize(frame, (cw, ch), interpolation=cv2.INTER_LINEAR)
        img = canvas
    else:
        img = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if spec.get("color", "RGB") == "RGB":
        img = img[:, :, ::-1]
    mean = np.asarray(spec.get("mean", (0, 0, 0)), np.float32)
    std = np.asarray(spec.get("std", (1, 1, 1)), np.float32)
    img = (img * np.float32(spec.get("scale", 1.0)) - mean) / std
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


def read_image_folder(folder: str | os.PathLike[str], *, count: int | None = None) -> list[Frame]:
    """Images of a folder in name order (BGR uint8); at most ``count``."""
    import cv2

    d = Path(folder)
    if not d.is_dir():
        raise ModelToolError(f"{d}: calibration folder does not exist")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ModelToolError(f"{d}: calibration folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    frames: list[Frame] = []
    for p in files[:count] if count else files:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ModelToolError(f"{p}: cannot decode image")
        frames.append(img)
    return frames


def read_video_frames(video: str | os.PathLike[str], indices: Sequence[int]) -> list[Frame]:
    """The frames of ``video`` at ``indices`` (decoded in order, no seeking), BGR uint8."""
    import cv2

    p = Path(video)
    if not p.is_file():
        raise ModelToolError(f"{p}: no such video")
    want = sorted(set(int(i) for i in indices))
    if not want:
        raise ModelToolError(f"{p}: no frames requested")
    cap = cv2.VideoCapture(str(p))
    got: dict[int, Frame] = {}
    try:
        if not cap.isOpened():
            raise ModelToolError(f"{p}: cannot open video")
        i = 0
        while i <= want[-1]:
            ok, frame = cap.read()
            if not ok:
                break
            if i in want:
                got[i] = frame
            i += 1
    finally:
        cap.release()
    missing = [i for i in want if i not in got]
    if missing:
        raise ModelToolError(f"{p}: video has no frame {missing[0]} (it ended after {i} frames)")
    return [got[int(i)] for i in indices]


def read_frames(source: str | os.PathLike[str], *, count: int = 32, start: int = 0,
                step: int = 1) -> list[Frame]:
    """Calibration frames: a folder of images, an image, or every ``step``-th video frame."""
    p = Path(source)
    if count <= 0:
        raise ModelToolError(f"{p}: calibration frame count must be positive, got {count}")
    if p.is_dir():
        return read_image_folder(p, count=count)
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return _one_image(p)
    return read_video_frames(p, [start + k * step for k in range(count)])


def _one_image(p: Path) -> list[Frame]:
    import cv2

    img = cv2.imread(str(p), cv2.IMREAD_COLOR) if p.is_file() else None
    if img is None:
        raise ModelToolError(f"{p}: cannot read image")
    return [img]


class FrameDataReader:
    """onnxruntime ``CalibrationDataReader`` over preprocessed frames (one per batch)."""

    def __init__(self, input_name: str, blobs: Sequence[npt.NDArray[np.float32]],
                 progress: Any = None) -> None:
        self.input_name = input_name
        self.blobs = list(blobs)
        self.start, self.end = 0, len(self.blobs)
        self._pos = 0
        self._progress = progress

    def __len__(self) -> int:
        return len(self.blobs)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.start, self.end = start_index, min(end_index, len(self.blobs))
        self._pos = self.start

    def rewind(self) -> None:
        self.set_range(0, len(self.blobs))

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        if self._pos >= self.end:
            return None
        blob = self.blobs[self._pos]
        self._pos += 1
        if self._progress is not None:
            self._progress.update(1)
        return {self.input_name: blob}

    def __iter__(self) -> FrameDataReader:
        return self

    def __next__(self) -> dict[str, npt.NDArray[np.float32]]:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item


def compute_ranges(model_path: str | os.PathLike[str], reader: FrameDataReader, method: str, *,
                   work_dir: str | os.PathLike[str], num_bins: int = 2048, num_quantized_bins: int = 128,
                   percentile: float = 99.999, chunk: int = 4) -> Any:
    """Activation ranges (onnxruntime ``TensorsData``) of every float tensor of the model.

    Frames are fed ``chunk`` at a time so that memory stays bounded by a few frames'
    activations. Entropy thresholds are symmetric by construction; they are clipped to the
    observed min/max so one-sided tensors (after ReLU) keep their full 8-bit resolution. The
    image input always keeps its observed min/max.
    """
    from onnxruntime.quantization import CalibrationMethod, TensorsData, create_calibrator
    from onnxruntime.quantization.calibrate import TensorData

    if method not in METHODS:
        raise ModelToolError(f"calibration method must be one of {', '.join(METHODS)}, got {method!r}")
    if len(reader) == 0:
        raise ModelToolError("no calibration frames")
    cal_method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                  "entropy": CalibrationMethod.Entropy}[method]
    extra: dict[str, Any] = {"symmetric": False}
    if method == "entropy":
        extra.update(num_bins=num_bins, num_quantized_bins=num_quantized_bins)
    elif method == "percentile":
        extra.update(num_bins=num_bins, percentile=percentile)
    work = Path(work_dir)
    # onnxruntime's histogram collector prints its progress; keep stdout for our own tables.
    with contextlib.redirect_stdout(io.StringIO()):
        cal = create_calibrator(Path(model_path), None, augmented_model_path=str(work / "augmented.onnx"),
                                calibrate_method=cal_method, extra_options=extra)
        try:
            cal.set_execution_providers(["CPUExecutionProvider"])
            for s in range(0, len(reader), chunk):
                reader.set_range(s, s + chunk)
                cal.collect_data(reader)
            data = cal.compute_data()
            coll = getattr(cal, "collector", None)
            seen = {k: (v[2], v[3]) for k, v in (coll.histogram_dict.items() if coll else [])}
        finally:
            del cal
    # The image input keeps its full observed range whatever the method: its distribution is
    # known (pixel levels) and a clipped input saturates every bright pixel for all layers.
    blobs = reader.blobs
    in_lo = np.float32(min(float(b.min()) for b in blobs))
    in_hi = np.float32(max(float(b.max()) for b in blobs))
    out: dict[str, TensorData] = {}
    for name, td in data.items():
        lo, hi = td.range_value
        if name == reader.input_name:
            lo = np.asarray(in_lo, lo.dtype).reshape(lo.shape)
            hi = np.asarray(in_hi, hi.dtype).reshape(hi.shape)
        elif method == "entropy" and name in seen:
            mn, mx = seen[name]
            lo = np.maximum(lo, np.asarray(mn, lo.dtype)).astype(lo.dtype)
            hi = np.minimum(hi, np.asarray(mx, hi.dtype)).astype(hi.dtype)
        kw = {k: getattr(td, k) for k in ("hist", "bins") if hasattr(td, k)}
        out[name] = TensorData(lowest=lo, highest=hi, **kw)
    return TensorsData(cal_method, out)
