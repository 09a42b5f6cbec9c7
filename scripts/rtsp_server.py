#!/usr/bin/python3
"""A small RTSP server for tests and demos: one H.264 file served on N mounts.

    /usr/bin/python3 scripts/rtsp_server.py --port 8554 --channels 4
    -> rtsp://127.0.0.1:8554/ch0 ... /ch3

Run it with Debian's /usr/bin/python3, which has the GObject bindings (python3-gi); the packages
are in scripts/setup.sh. The input (vtest.avi by default) is transcoded once to H.264 with a short
GOP and no B-frames (quick joins) into a cache folder; after that the server only remuxes. Each
client gets its own pipeline, so every reader starts at frame 0, and the stream is paced in real
time by the pipeline clock. `--port 0` picks a free port. Once it listens, the server prints one
line to stdout, `rtsp_server ready PORT URL...`; it stops on SIGTERM or SIGINT (tests kill it by
PID). Exit codes: 2 bad arguments or input, 3 GStreamer missing, 4 cannot listen.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APT_HINT = (
    "apt-get install --no-install-recommends gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 "
    "python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
    "(or run scripts/setup.sh)"
)


def fail(code: int, message: str) -> None:
    print(f"rtsp_server: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def default_input() -> Path:
    assets = os.environ.get("VASDK_ASSETS")
    return Path(assets) / "vtest.avi" if assets else ROOT / ".cache" / "assets" / "vtest.avi"


def transcoded(src: Path, cache: Path) -> Path:
    """H.264 copy of src in cache (made once; a temp file plus rename keeps racing servers safe)."""
    if not src.is_file():
        fail(2, f"input {src} does not exist")
    dst = cache / f"{src.stem}.h264.mp4"
    if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
        return dst
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.stem, suffix=".mp4", dir=cache)
    os.close(fd)
    # -g 10 -bf 0: an IDR every 10 frames and no reordering, so a client joins within a second.
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-an"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-g", "10", "-bf", "0"]
    cmd += ["-pix_fmt", "yuv420p", tmp]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        os.unlink(tmp)
        fail(2, "ffmpeg is not installed; it is needed once to transcode the input to H.264")
    if proc.returncode != 0:
        os.unlink(tmp)
        fail(2, f"transcoding {src} failed: {proc.stderr.strip()}")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; other users run the server too
    os.replace(tmp, dst)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8554, help="0 picks a free port")
    ap.add_argument("--channels", type=int, default=1, help="mounts /ch0 .. /chN-1")
    ap.add_argument("--input", type=Path, default=default_input())
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "rtsp")
    args = ap.parse_args()
    if args.channels < 1 or not 0 <= args.port < 65536:
        fail(2, "--channels must be >= 1 and --port in [0, 65535]")

    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as e:
        fail(3, f"the GStreamer RTSP server is not installed ({e}); {APT_HINT}")
    Gst.init(None)
    missing = [e for e in ("filesrc", "qtdemux", "h264parse", "rtph264pay") if not Gst.ElementFactory.find(e)]
    if missing:
        fail(3, f"GStreamer elements missing: {', '.join(missing)}; {APT_HINT}")

    media = transcoded(args.input.resolve(), args.cache.resolve())
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    # Remux only: demux the MP4, re-packetise the H.264 as RTP. SPS/PPS go with every IDR so a
    # client that joins late (or reconnects) can decode at once.
    launch = (
        f'( filesrc location="{media}" ! qtdemux ! h264parse ! '
        "rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    for i in range(args.channels):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(False)  # one pipeline per client: every reader starts at frame 0
        mounts.add_factory(f"/ch{i}", factory)
    if server.attach(None) == 0:
        fail(4, f"cannot listen on {args.host}:{args.port} (in use?)")

    port = server.get_bound_port()
    urls = " ".join(f"rtsp://{args.host}:{port}/ch{i}" for i in range(args.channels))
    print(f"rtsp_server ready {port} {urls}", flush=True)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
