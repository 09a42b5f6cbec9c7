"""vasdk: embedded video analytics (detection on real video through a C/C++ core).

Native names (Detector, VideoReader, ...) load the compiled core on first use, so the pure
Python model tools (``vasdk.tools``, ``vasdk.asset_paths``) work before the core is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    BackendUnavailableError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidModelError,
    IoError,
    NotFoundError,
    UnsupportedError,
    VasError,
)

__version__ = "0.1.0"

__all__ = [
    "Analytics",
    "Associator",
    "BackendUnavailableError",
    "BestShot",
    "BestShotSelector",
    "ChannelStats",
    "Detections",
    "Detector",
    "Event",
    "FrameResult",
    "InvalidArgumentError",
    "InvalidConfigError",
    "InvalidModelError",
    "IoError",
    "LiveFrame",
    "NotFoundError",
    "Pipeline",
    "PipelineEvent",
    "PipelineStats",
    "Pool",
    "Preprocessor",
    "Rules",
    "StageStats",
    "TrackState",
    "Tracker",
    "Tracks",
    "UnsupportedError",
    "VasError",
    "VideoReader",
    "VideoStats",
    "VideoWriter",
    "__version__",
]

_LAZY = {
    "Analytics": "analytics",
    "Associator": "analytics",
    "BestShot": "analytics",
    "BestShotSelector": "analytics",
    "Event": "analytics",
    "Rules": "analytics",
    "Tracker": "track",
    "Tracks": "track",
    "TrackState": "track",
    "Detector": "detector",
    "Detections": "detector",
    "VideoReader": "video",
    "VideoStats": "video",
    "VideoWriter": "video",
    "Pool": "preprocess",
    "Preprocessor": "preprocess",
    "Pipeline": "pipeline",
    "FrameResult": "pipeline",
    "LiveFrame": "pipeline",
    "PipelineEvent": "pipeline",
    "PipelineStats": "pipeline",
    "ChannelStats": "pipeline",
    "StageStats": "pipeline",
}

if TYPE_CHECKING:
    from .analytics import Analytics, Associator, BestShot, BestShotSelector, Event, Rules
    from .detector import Detections, Detector
    from .pipeline import (
        ChannelStats,
        FrameResult,
        LiveFrame,
        Pipeline,
        PipelineEvent,
        PipelineStats,
        StageStats,
    )
    from .preprocess import Pool, Preprocessor
    from .track import Tracker, Tracks, TrackState
    from .video import VideoReader, VideoStats, VideoWriter


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vasdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
