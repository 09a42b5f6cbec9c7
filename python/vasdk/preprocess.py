"""Fused preprocessing and memory pools from the native core.

``Preprocessor`` turns an image (BGR/RGB/GRAY array, or NV12/NV21/I420 as one buffer or a
tuple of planes) into a network input tensor in one pass: ROI crop, colour conversion, resize
(bilinear, nearest or area; stretch or letterbox), normalisation and the output type and
layout. ``Pool`` is a bounded block pool / size-class arena whose buffers come back as numpy
arrays that return themselves to the pool when the last reference goes.

Both objects are used by one thread at a time; the native work releases the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from . import _core

__all__ = ["BoxTransform", "Pool", "Preprocessor"]

Image = Union[np.ndarray, Sequence[np.ndarray]]


class BoxTransform(tuple):
    """``(scale_x, scale_y, offset_x, offset_y)``: ``src = (net - offset) / scale``."""

    __slots__ = ()

    @property
    def scale_x(self) -> float:
        return float(self[0])

    @property
    def scale_y(self) -> float:
        return float(self[1])

    @property
    def offset_x(self) -> float:
        return float(self[2])

    @property
    def offset_y(self) -> float:
        return float(self[3])

    def to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Maps ``(N, 4)`` x1, y1, x2, y2 boxes in network pixels to source-image pixels."""
        b = np.asarray(boxes, dtype=np.float32).copy()
        b[:, 0::2] = (b[:, 0::2] - self.offset_x) / self.scale_x
        b[:, 1::2] = (b[:, 1::2] - self.offset_y) / self.scale_y
        return b


class Preprocessor:
    """Reusable preprocessing for one network input shape.

    Args:
        width, height: network input size.
        letterbox: keep the aspect ratio and pad with ``pad_value`` (else stretch).
        color: channel order of the output, ``"RGB"`` or ``"BGR"``.
        scale, mean, std: ``value = (pixel * scale - mean[c]) / std[c]``.
        interp: ``"bilinear"``, ``"nearest"`` or ``"area"`` (area is for down-scaling).
        layout: ``"NCHW"`` or ``"NHWC"``.
        dtype: ``"float32"``, ``"float16"``, ``"uint8"`` or ``"int8"``; the integer types store
            ``round(value / quant_scale) + zero_point``, saturated.
        threads: row bands run on this many threads (the caller's included).
        impl: ``"auto"``, ``"avx512"``, ``"avx2"``, ``"portable"`` or ``"reference"`` (the
            scalar oracle); ``"auto"`` picks the fastest the CPU runs.
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        letterbox: bool = True,
        color: str = "RGB",
        scale: float = 1.0 / 255.0,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        pad_value: int = 114,
        interp: str = "bilinear",
        layout: str = "NCHW",
        dtype: str = "float32",
        quant_scale: float = 1.0,
        zero_point: int = 0,
        threads: int = 1,
        impl: str = "auto",
    ) -> None:
        self._impl = _core.Preprocessor(
            width,
            height,
            letterbox,
            color,
            scale,
            list(mean),
            list(std),
            pad_value,
            interp,
            layout,
            dtype,
            quant_scale,
            zero_point,
            threads,
            impl,
        )

    def __call__(
        self,
        image: Image,
        format: str = "BGR",  # noqa: A002
        *,
        roi: tuple[int, int, int, int] | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Preprocesses one image into a ``(1, 3, H, W)`` (or ``(1, H, W, 3)``) array.

        ``roi`` is ``(x, y, width, height)`` in source pixels. ``out``, when given, must be a
        C-contiguous array of the right dtype and size; it is filled and returned, so a
        caller that reuses it allocates nothing per frame.
        """
        return self._impl.run(image, format, roi, out)

    def batch(
        self,
        images: Sequence[Image],
        format: str = "BGR",  # noqa: A002
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Packs ``len(images)`` preprocessed images into one ``(N, ...)`` batch tensor."""
        return self._impl.run_batch(list(images), format, out)

    @property
    def transform(self) -> BoxTransform:
        """The box mapping of the last image processed."""
        return BoxTransform(self._impl.transform)

    @property
    def impl(self) -> str:
        """The kernel set in use: ``"avx512"``, ``"avx2"``, ``"portable"`` or ``"reference"``."""
        return str(self._impl.impl)

    @property
    def threads(self) -> int:
        return int(self._impl.threads)

    @staticmethod
    def avx2_available() -> bool:
        return bool(_core.Preprocessor.avx2_available())

    @staticmethod
    def avx512_available() -> bool:
        """AVX-512 F, BW, VL and VBMI (byte permutes), as on Ice Lake and Zen 4 or later."""
        return bool(_core.Preprocessor.avx512_available())


class Pool:
    """A bounded memory pool.

    ``Pool(name, block_size=N, max_blocks=K)`` is a fixed-size block pool of K blocks;
    ``Pool(name, min_block=a, max_block=b, capacity_bytes=c)`` is a size-class arena whose
    classes double from ``a`` to ``b``. ``acquire(n)`` returns a uint8 array of ``n`` bytes or
    raises ``PoolExhaustedError``. ``thread_safe=False`` gives the cheaper unlocked variant
    for use from one thread.
    """

    def __init__(
        self,
        name: str = "pool",
        *,
        block_size: int | None = None,
        max_blocks: int | None = None,
        min_block: int = 4096,
        max_block: int = 4096,
        capacity_bytes: int = 0,
        thread_safe: bool = True,
    ) -> None:
        if block_size is not None or max_blocks is not None:
            if block_size is None or max_blocks is None:
                raise ValueError("block_size and max_blocks go together")
            min_block = max_block = block_size
            capacity_bytes = block_size * max_blocks
        self._impl = _core.Pool(name, min_block, max_block, capacity_bytes, thread_safe)

    def acquire(self, nbytes: int) -> np.ndarray:
        return self._impl.acquire(nbytes)

    def acquire_array(self, shape: Sequence[int], dtype: Any = np.float32) -> np.ndarray:
        """A C-contiguous array of ``shape``/``dtype`` over one pool block."""
        dt = np.dtype(dtype)
        n = int(np.prod(shape)) * dt.itemsize
        return self._impl.acquire(max(n, 1))[:n].view(dt).reshape(tuple(shape))

    def stats(self) -> dict[str, int]:
        return dict(self._impl.stats())

    def reserve(self, nbytes: int, count: int) -> None:
        self._impl.reserve(nbytes, count)

    def trim(self) -> None:
        self._impl.trim()

    def check_idle(self) -> None:
        """Raises ``RuntimeFailureError`` naming the count when buffers are still out."""
        self._impl.check_idle()

    def close(self) -> None:
        """Destroys the pool; buffers still out stay valid and are reported on stderr."""
        self._impl.close()
