"""Video files and streams through the SDK's FFmpeg reader and writer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np
import numpy.typing as npt

from . import _core
from ._paths import PathArg, native_path

__all__ = ["VideoReader", "VideoStats", "VideoWriter"]


@dataclass(frozen=True)
class VideoStats:
    """What reading found. ``decoded`` frames were returned; ``damaged`` frames were flagged by
    the decoder and dropped; ``rejected_packets`` never became frames; ``truncated`` means the
    input ended in a read error. Compare ``decoded`` with ``VideoReader.frame_count``."""

    decoded: int
    damaged: int
    rejected_packets: int
    truncated: bool


class VideoReader:
    """Decodes a file or rtsp:// URL; iterating yields frames as new uint8 arrays.

    ``format`` is BGR (default), RGB or NV12. Not thread-safe; decoding releases the GIL.
    """

    def __init__(
        self,
        url: PathArg,
        format: str = "BGR",  # noqa: A002
        open_timeout_ms: int = 5000,
        read_timeout_ms: int = 5000,
    ) -> None:
        self._impl = _core.VideoReader(native_path(url, "url"), format, open_timeout_ms, read_timeout_ms)
        info = self._impl.info
        self.width: int = info.width
        self.height: int = info.height
        self.fps: float = info.fps
        self.frame_count: int = info.frame_count
        self.codec: str = info.codec

    def read(self) -> npt.NDArray[np.uint8] | None:
        """The next frame, or None at the end of the stream."""
        return self._impl.read()

    @property
    def pts_us(self) -> int:
        """Presentation time of the last frame read, in microseconds."""
        return int(self._impl.last_pts_us)

    def __iter__(self) -> Iterator[npt.NDArray[np.uint8]]:
        while (frame := self._impl.read()) is not None:
            yield frame

    def stats(self) -> VideoStats:
        """Frames decoded, damaged and rejected so far (after :meth:`close`, the final counts)."""
        return VideoStats(**self._impl.stats())

    def close(self) -> None:
        self._impl.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class VideoWriter:
    """Encodes frames (H.264 when available) into mp4/mkv/avi; use as a context manager."""

    def __init__(
        self, path: PathArg, width: int, height: int, fps: float = 25.0, codec: str = ""
    ) -> None:
        self._impl = _core.VideoWriter(native_path(path), width, height, fps, codec)

    def write(self, frame: npt.NDArray[np.uint8], format: str = "BGR") -> None:  # noqa: A002
        self._impl.write(frame, format)

    def close(self) -> None:
        self._impl.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
