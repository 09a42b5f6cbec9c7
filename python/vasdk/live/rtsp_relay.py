#!/usr/bin/python3
"""RTSP out for the live view: each channel's annotated picture as H.264 over RTSP.

Run by :class:`vasdk.live.RtspOut` with Debian's /usr/bin/python3 (GObject bindings); it imports
nothing from vasdk. A GStreamer RTSP server mounts /live/CHANNEL for every channel the live
view's API lists (checked every 2 s). A mount's media is built only when a client connects and
is shared by its clients: it reads the channel's MJPEG from the API, decodes and encodes it to
H.264 (x264, zero-latency), so a channel nobody plays costs no encode, and the MJPEG stream it
reads is what turns the pipeline's live tap on. With --user, clients must authenticate (RTSP
basic auth, password from the environment variable VASDK_RTSP_PASSWORD).

Prints `rtsp_relay ready PORT` once it listens; stops on SIGTERM or SIGINT.
Exit codes: 2 bad arguments, 3 GStreamer missing, 4 cannot listen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import urllib.error
import urllib.request

CHANNEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def fail(code: int, message: str) -> None:
    print(f"rtsp_relay: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8554, help="0 picks a free port")
    ap.add_argument("--api", required=True, help="the live view's base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--user", help="require RTSP basic auth as this user")
    ap.add_argument("--bitrate", type=int, default=2000, help="H.264 kbit/s")
    args = ap.parse_args()
    if not 0 <= args.port < 65536 or not args.api.startswith("http://"):
        fail(2, "--port must be in [0, 65535] and --api an http:// URL")
    token = os.environ.get("VASDK_LIVE_TOKEN", "")
    password = os.environ.get("VASDK_RTSP_PASSWORD", "")
    if args.user and not password:
        fail(2, "--user needs VASDK_RTSP_PASSWORD")

    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as e:
        fail(3, f"the GStreamer RTSP server is not installed ({e}); run scripts/setup.sh")
    Gst.init(None)
    need = ("souphttpsrc", "multipartdemux", "jpegdec", "videoconvert", "x264enc", "rtph264pay")
    missing = [e for e in need if not Gst.ElementFactory.find(e)]
    if missing:
        fail(3, f"GStreamer elements missing: {', '.join(missing)}; run scripts/setup.sh")

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        tok = GstRtspServer.RTSPToken.new(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, str, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, password), tok)
        server.set_auth(auth)

    def factory_for(channel: str) -> GstRtspServer.RTSPMediaFactory:
        query = f"?token={token}" if token else ""
        launch = (
            f'( souphttpsrc location="{args.api}/api/channels/{channel}/mjpeg{query}" is-live=true '
            "do-timestamp=true ! multipartdemux ! jpegdec ! videoconvert ! video/x-raw,format=I420 ! "
            f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} key-int-max=30 "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(True)  # one encode per channel, however many clients
        if args.user:
            perms = GstRtspServer.RTSPPermissions()
            perms.add_role(
                "viewer",
                GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
                bool,
                True,
                GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                bool,
                True,
            )
            f.set_permissions(perms)
        return f

    mounted: set[str] = set()
    misses = [0]
    loop = GLib.MainLoop()

    def sync() -> bool:
        req = urllib.request.Request(f"{args.api}/api/channels")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                ids = {c["id"] for c in json.load(r)["channels"] if CHANNEL.match(str(c.get("id", "")))}
        except urllib.error.URLError as e:
            if not isinstance(e.reason, ConnectionRefusedError):
                return True  # the API is busy: try again later
            # The live view is gone (its process ended without stopping us): so do we.
            misses[0] += 1
            if misses[0] >= 3:
                print("rtsp_relay: the live view's API is gone; stopping", file=sys.stderr, flush=True)
                loop.quit()
            return True
        except (OSError, ValueError, KeyError, TypeError):
            return True  # the API is busy: try again later
        misses[0] = 0
        for cid in ids - mounted:
            mounts.add_factory(f"/live/{cid}", factory_for(cid))
        for cid in mounted - ids:
            mounts.remove_factory(f"/live/{cid}")
        mounted.clear()
        mounted.update(ids)
        return True

    sync()
    if server.attach(None) == 0:
        fail(4, f"cannot listen on {args.host}:{args.port} (in use?)")
    print(f"rtsp_relay ready {server.get_bound_port()}", flush=True)
    GLib.timeout_add_seconds(2, sync)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
