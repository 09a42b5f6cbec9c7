"""Stubs for vasdk._core, the native core (internal; use the vasdk package).

Generated with pybind11-stubgen from the built module.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "Associator",
    "BestShotSelector",
    "Detector",
    "Engine",
    "Pool",
    "Preprocessor",
    "RulesEngine",
    "Tracker",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "available_backends",
    "decoder_types",
    "encode_jpeg",
    "laplacian_variance",
    "status_name",
    "validate_model_card",
]

class Engine:
    def __init__(self, model_path: str, options_json: str = "") -> None: ...
    def run(self, feeds: dict) -> dict: ...
    def stats(self) -> dict: ...
    @property
    def backend(self) -> str: ...
    @property
    def inputs(self) -> list: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def outputs(self) -> list: ...
    @property
    def precision(self) -> str: ...
    @property
    def providers(self) -> list[str]: ...

class Tracker:
    def __init__(self, config_json: str = "") -> None: ...
    def predict(self, timestamp_us: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple: ...
    def update(
        self,
        boxes: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        scores: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        class_ids: typing.Any = None,
        timestamp_us: typing.SupportsInt | typing.SupportsIndex = 0,
        embeddings: typing.Any = None,
    ) -> tuple: ...
    @property
    def embedding_dim(self) -> int: ...
    @property
    def frame_count(self) -> int: ...

class Preprocessor:
    @staticmethod
    def avx2_available() -> bool: ...
    def __init__(
        self,
        width: typing.SupportsInt | typing.SupportsIndex,
        height: typing.SupportsInt | typing.SupportsIndex,
        letterbox: bool,
        color: str,
        scale: typing.SupportsFloat | typing.SupportsIndex,
        mean: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex],
        std: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex],
        pad_value: typing.SupportsInt | typing.SupportsIndex,
        interp: str,
        layout: str,
        dtype: str,
        quant_scale: typing.SupportsFloat | typing.SupportsIndex,
        zero_point: typing.SupportsInt | typing.SupportsIndex,
        threads: typing.SupportsInt | typing.SupportsIndex,
        impl: str,
    ) -> None: ...
    def run(self, image: typing.Any, format: str, roi: typing.Any, out: typing.Any) -> numpy.ndarray: ...
    def run_batch(self, images: list, format: str, out: typing.Any) -> numpy.ndarray: ...
    @property
    def impl(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def transform(self) -> tuple: ...

class Pool:
    def __init__(
        self,
        name: str,
        min_block: typing.SupportsInt | typing.SupportsIndex,
        max_block: typing.SupportsInt | typing.SupportsIndex,
        capacity_bytes: typing.SupportsInt | typing.SupportsIndex,
        thread_safe: bool,
    ) -> None: ...
    def acquire(self, nbytes: typing.SupportsInt | typing.SupportsIndex) -> numpy.ndarray: ...
    def check_idle(self) -> None: ...
    def close(self) -> None: ...
    def reserve(
        self,
        nbytes: typing.SupportsInt | typing.SupportsIndex,
        count: typing.SupportsInt | typing.SupportsIndex,
    ) -> None: ...
    def stats(self) -> dict: ...
    def trim(self) -> None: ...

class BestShotSelector:
    def __init__(self, config_json: str = "") -> None: ...
    def current_best(self, track_id: typing.SupportsInt | typing.SupportsIndex) -> int: ...
    def flush(self, timestamp_us: typing.SupportsInt | typing.SupportsIndex) -> list: ...
    def update(
        self,
        frame: numpy.ndarray,
        format: str,
        ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int64],
        boxes: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        class_ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        scores: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        states: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        time_since_update: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        landmarks: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        timestamp_us: typing.SupportsInt | typing.SupportsIndex,
    ) -> list: ...
    @property
    def dropped_crops(self) -> int: ...

class RulesEngine:
    def __init__(self, config_json: str) -> None: ...
    def flush(self, timestamp_us: typing.SupportsInt | typing.SupportsIndex) -> list: ...
    def line_counts(self, rule_id: str) -> tuple[int, int]: ...
    def update(
        self,
        ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int64],
        boxes: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        class_ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        scores: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        states: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        time_since_update: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        landmarks: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        timestamp_us: typing.SupportsInt | typing.SupportsIndex,
        shots: BestShotSelector = None,
    ) -> list: ...

class Associator:
    def __init__(self, config_json: str = "") -> None: ...
    def update(
        self,
        ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int64],
        boxes: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        class_ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        scores: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
        states: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        time_since_update: typing.Annotated[numpy.typing.ArrayLike, numpy.int32],
        landmarks: typing.Annotated[numpy.typing.ArrayLike, numpy.float32],
    ) -> numpy.typing.NDArray[numpy.int64]: ...

class VideoInfo:
    @property
    def codec(self) -> str: ...
    @property
    def fps(self) -> float: ...
    @property
    def frame_count(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...

class Detector:
    def __init__(self, model_path: str, options_json: str = "") -> None: ...
    def detect(self, image: numpy.ndarray, format: str = "BGR") -> tuple: ...
    def detect_batch(self, images: list, format: str = "BGR") -> list: ...
    @property
    def backend(self) -> str: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def engine_precision(self) -> str: ...
    @property
    def input_size(self) -> tuple[int, int]: ...
    @property
    def name(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def providers(self) -> list[str]: ...

class VideoReader:
    def __init__(
        self,
        url: str,
        format: str = "BGR",
        open_timeout_ms: typing.SupportsInt | typing.SupportsIndex = 5000,
        read_timeout_ms: typing.SupportsInt | typing.SupportsIndex = 5000,
    ) -> None: ...
    def close(self) -> None: ...
    def read(self) -> typing.Any: ...
    @property
    def info(self) -> VideoInfo: ...
    @property
    def last_index(self) -> int: ...
    @property
    def last_pts_us(self) -> int: ...

class VideoWriter:
    def __init__(
        self,
        path: str,
        width: typing.SupportsInt | typing.SupportsIndex,
        height: typing.SupportsInt | typing.SupportsIndex,
        fps: typing.SupportsFloat | typing.SupportsIndex = 25.0,
        codec: str = "",
    ) -> None: ...
    def close(self) -> None: ...
    def write(self, frame: numpy.ndarray, format: str = "BGR") -> None: ...

def available_backends() -> list[str]: ...
def decoder_types() -> list[str]: ...
def encode_jpeg(bgr: numpy.ndarray, quality: typing.SupportsInt | typing.SupportsIndex = 90) -> bytes: ...
def laplacian_variance(gray: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8]) -> float: ...
def status_name(arg0: typing.SupportsInt | typing.SupportsIndex) -> str: ...
def validate_model_card(json_text: str, origin: str = "<memory>") -> None: ...

__version__: str = "0.1.0"
