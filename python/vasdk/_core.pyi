"""Type stubs for the native module vasdk._core (internal; use the vasdk package)."""

import numpy as np
import numpy.typing as npt

__version__: str

def available_backends() -> list[str]: ...
def status_name(code: int) -> str: ...

class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int
    codec: str

class Detector:
    classes: list[str]
    name: str
    precision: str
    backend: str
    input_size: tuple[int, int]
    def __init__(self, model_path: str, options_json: str = "") -> None: ...
    def detect(
        self, image: npt.NDArray[np.uint8], format: str = "BGR"
    ) -> tuple[
        npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float32]
    ]: ...

    engine_precision: str
    providers: list[str]
    def detect_batch(
        self, images: list[npt.NDArray[np.uint8]], format: str = "BGR"
    ) -> list[
        tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float32]]
    ]: ...

class Engine:
    inputs: list[tuple[str, str, list[int]]]
    outputs: list[tuple[str, str, list[int]]]
    backend: str
    precision: str
    providers: list[str]
    notes: list[str]
    def __init__(self, model_path: str, options_json: str = "") -> None: ...
    def run(self, feeds: dict[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.generic]]: ...
    def stats(self) -> dict[str, float]: ...

class VideoReader:
    info: VideoInfo
    last_index: int
    last_pts_us: int
    def __init__(
        self, url: str, format: str = "BGR", open_timeout_ms: int = 5000, read_timeout_ms: int = 5000
    ) -> None: ...
    def read(self) -> npt.NDArray[np.uint8] | None: ...
    def close(self) -> None: ...

class VideoWriter:
    def __init__(self, path: str, width: int, height: int, fps: float = 25.0, codec: str = "") -> None: ...
    def write(self, frame: npt.NDArray[np.uint8], format: str = "BGR") -> None: ...
    def close(self) -> None: ...
