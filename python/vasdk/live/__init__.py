"""The live view: a web page, a JSON API and RTSP out over a running pipeline.

``vasdk run CONFIG --http 127.0.0.1:8080`` serves it; programs use :class:`LiveServer` (and
:class:`RtspOut` for RTSP) beside their own :class:`vasdk.Pipeline`. Needs ``aiohttp``
(``pip install vasdk[live]``); RTSP out needs GStreamer's RTSP server (scripts/setup.sh).
"""

from __future__ import annotations

from .rtsp import RtspOut
from .server import LiveServer

__all__ = ["LiveServer", "RtspOut"]
