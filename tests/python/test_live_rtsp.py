"""RTSP out of the live view: ffprobe sees H.264 at the channel's size and FFmpeg decodes a few
seconds of it; with no RTSP client nothing is encoded."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from live_util import live_config, running, wait_for

from vasdk.live import RtspOut


def test_rtsp_out_is_h264_and_decodes(assets: Path) -> None:
    if not shutil.which("ffprobe") or not Path("/usr/bin/python3").is_file():
        pytest.fail("ffmpeg and Debian's python3 with GStreamer are needed (scripts/setup.sh)", pytrace=False)
    with running(live_config(assets, channels=1)) as (pipe, server):
        rtsp = RtspOut(server.base_url, "127.0.0.1", server.token).start()
        server.rtsp_url = rtsp.url
        try:
            url = rtsp.url("cam0")
            assert url == f"rtsp://127.0.0.1:{rtsp.port}/live/cam0"
            # No client yet: the relay reads no MJPEG, the pipeline encodes nothing.
            time.sleep(1.0)
            st = pipe.stats().by_id["cam0"]
            assert st.live_viewers == 0 and st.live_frames == 0
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json", url],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert probe.returncode == 0, probe.stderr
            video = json.loads(probe.stdout)["streams"][0]
            assert video["codec_name"] == "h264"
            assert (video["width"], video["height"]) == (768, 576)
            dec = subprocess.run(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-v",
                    "info",
                    "-rtsp_transport",
                    "tcp",
                    "-i",
                    url,
                    "-t",
                    "2",
                    "-f",
                    "null",
                    "-",
                ],
                capture_output=True,
                text=True,
                timeout=40,
            )
            assert dec.returncode == 0, dec.stderr[-2000:]
            frames = [int(m) for m in re.findall(r"frame=\s*(\d+)", dec.stderr)]
            assert frames and frames[-1] >= 10, dec.stderr[-1000:]
            assert pipe.stats().by_id["cam0"].live_frames > 0
            # The last client gone, the encoding stops.
            assert wait_for(lambda: pipe.stats().by_id["cam0"].live_viewers == 0, 10)
            n = pipe.stats().by_id["cam0"].live_frames
            time.sleep(1.0)
            assert pipe.stats().by_id["cam0"].live_frames == n
            status_doc = server.rtsp_url("cam0")
            assert status_doc == url
        finally:
            rtsp.stop()
