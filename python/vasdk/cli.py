"""The ``vasdk`` command line: pipelines, detection on video, assets, model tools."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["main"]

# Stable colours per class id (BGR).
_PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207),
            (10, 249, 72), (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0)]


def _draw(frame: npt.NDArray[np.uint8], dets: Any) -> None:
    """Draws boxes and labels in place (OpenCV when installed, plain rectangles otherwise)."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    h, w = frame.shape[:2]
    for (x1, y1, x2, y2), score, cid, name in zip(dets.boxes, dets.scores, dets.class_ids, dets.names):
        color = _PALETTE[int(cid) % len(_PALETTE)]
        a, b, c, d = int(x1), int(y1), min(int(x2), w - 1), min(int(y2), h - 1)
        if cv2 is not None:
            cv2.rectangle(frame, (a, b), (c, d), color, 2)
            cv2.putText(frame, f"{name} {score:.2f}", (a, max(b - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, color, 1, cv2.LINE_AA)
        else:
            frame[b:b + 2, a:c + 1] = color
            frame[max(d - 1, 0):d + 1, a:c + 1] = color
            frame[b:d + 1, a:a + 2] = color
            frame[b:d + 1, max(c - 1, 0):c + 1] = color


def _table(rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        out.write("  ".join(c.rjust(widths[i]) if i else c.ljust(widths[i]) for i, c in enumerate(r)) + "\n")
        if k == 0:
            out.write("  ".join("-" * wd for wd in widths) + "\n")


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def cmd_detect(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .asset_paths import asset_path
    from .detector import Detector
    from .video import VideoReader, VideoWriter

    model = Path(args.model) if args.model else asset_path("yolov3-tiny.onnx")
    options: dict[str, Any] = {"threads": args.threads}
    if args.key_file:
        options["key_file"] = str(args.key_file)
    if args.classes:
        options["classes"] = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.score is not None:
        options["score_threshold"] = args.score
    if args.input_size:
        w, _, h = args.input_size.partition("x")
        options["input_width"], options["input_height"] = int(w), int(h)

    det = Detector(model, **options)
    reader = VideoReader(args.video)
    writer = VideoWriter(args.out, reader.width, reader.height, reader.fps or 25.0) if args.out else None
    jsonl = open(args.jsonl, "w", encoding="utf-8") if args.jsonl else None  # noqa: SIM115
    total = reader.frame_count if reader.frame_count > 0 else None
    if args.max_frames:
        total = min(total or args.max_frames, args.max_frames)

    latencies: list[float] = []
    per_class: Counter[str] = Counter()
    max_per_frame: Counter[str] = Counter()
    frames = 0
    stopped_early = False  # by --max-frames, not by the stream
    t0 = time.perf_counter()
    try:
        with tqdm(total=total, unit="frame", disable=args.quiet or not sys.stderr.isatty(),
                  desc=Path(args.video).name) as bar:
            for frame in reader:
                if args.max_frames and frames >= args.max_frames:
                    stopped_early = True
                    break
                t = time.perf_counter()
                dets = det(frame)
                latencies.append((time.perf_counter() - t) * 1e3)
                counts = Counter(dets.names)
                per_class.update(counts)
                for k, v in counts.items():
                    max_per_frame[k] = max(max_per_frame[k], v)
                if jsonl:
                    rec = {"frame": frames, "pts_us": reader.pts_us, "detections": list(dets.records())}
                    jsonl.write(json.dumps(rec) + "\n")
                if writer:
                    _draw(frame, dets)
                    writer.write(frame)
                frames += 1
                bar.update(1)
    finally:
        if writer:
            writer.close()
        if jsonl:
            jsonl.close()
        reader.close()
    wall = time.perf_counter() - t0
    vstats = reader.stats()
    partial = not stopped_early and _incomplete(vstats, reader.frame_count)

    out = sys.stdout
    out.write(f"\nvasdk detect: {args.video}\n")
    out.write(f"  model     {det.name} ({det.backend}), input {det.input_size[0]}x{det.input_size[1]}, "
              f"threads {args.threads}\n")
    out.write(f"  frames    {frames} in {wall:.1f} s ({frames / wall if wall else 0:.1f} fps end to end)\n")
    out.write(f"  input     {_input_summary(vstats, reader.frame_count)}\n")
    out.write(f"  detect    median {statistics.median(latencies) if latencies else float('nan'):.1f} ms, "
              f"p90 {_percentile(latencies, 90):.1f} ms per frame (preprocess + inference + decode)\n")
    if args.out:
        out.write(f"  video     {args.out}\n")
    if args.jsonl:
        out.write(f"  jsonl     {args.jsonl}\n")
    out.write("\n")
    rows = [["class", "detections", "per frame", "max in a frame"]]
    for name, n in per_class.most_common():
        rows.append([name, str(n), f"{n / max(frames, 1):.2f}", str(max_per_frame[name])])
    if len(rows) == 1:
        rows.append(["(none)", "0", "0.00", "0"])
    _table(rows, out)
    if partial:
        verdict = ("accepted (--allow-partial)" if args.allow_partial
                   else "failing; pass --allow-partial to accept")
        print(f"vasdk detect: warning: {args.video} is incomplete or damaged: "
              f"{_input_summary(vstats, reader.frame_count)}; {verdict}", file=sys.stderr)
        if not args.allow_partial:
            return 3
    return 0


def _incomplete(stats: Any, frame_count: int) -> bool:
    """True when the stream ended before the container's frame count, or with damage."""
    if stats.truncated or stats.damaged or stats.rejected_packets:
        return True
    return bool(frame_count > 0 and stats.decoded < frame_count)


def _input_summary(stats: Any, frame_count: int) -> str:
    """Decoded, damaged and missing frames against the container's count."""
    if frame_count > 0:
        missing = max(frame_count - stats.decoded - stats.damaged, 0)
        text = (f"{stats.decoded} of {frame_count} frames decoded, {stats.damaged} damaged, "
                f"{missing} missing")
    else:
        text = f"{stats.decoded} frames decoded (count unknown), {stats.damaged} damaged"
    if stats.rejected_packets:
        text += f", {stats.rejected_packets} packets rejected"
    if stats.truncated:
        text += ", input truncated"
    return text


def _stats_rows(st: Any) -> list[list[str]]:
    rows = [["channel", "state", "fps", "p99 ms", "processed", "dropped", "reconnects", "events"]]
    for c in st.channels:
        rows.append([c.id, c.state, f"{c.fps:.1f}", f"{c.latency_p99_ms:.0f}", str(c.processed),
                     str(c.dropped), str(c.reconnects), str(c.events)])
    return rows


# `vasdk run` exit codes (README, CLI section): 0 clean, 1 error, 3 a file source ended
# truncated or damaged (unless --accept-damaged), 130 interrupted.
EXIT_DAMAGED = 3


def source_verdicts(events: Sequence[Any]) -> dict[str, str]:
    """Per channel, how its source ended: the reason an ``end_of_stream`` event starts with
    ("complete", "truncated" or "damaged"), or "damaged" for a channel that reported damage
    without an end (an RTSP camera). Channels with neither are left out."""
    out: dict[str, str] = {}
    for e in events:
        if e.kind != "source":
            continue
        if e.subkind == "end_of_stream":
            reason = e.message.split(":", 1)[0]
            out[e.channel] = reason if reason in ("complete", "truncated", "damaged") else "complete"
        elif e.subkind == "damaged" and out.get(e.channel) != "truncated":
            out[e.channel] = "damaged"
    return out


def _start_live(args: argparse.Namespace, pipe: Any) -> tuple[Any, Any]:
    """The live view of `vasdk run --http HOST:PORT`: the page, its API and RTSP out."""
    from .errors import InvalidArgumentError
    from .live import LiveServer, RtspOut
    from .live.checks import is_loopback

    host, _, port = args.http.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise InvalidArgumentError(f"--http {args.http!r}: expected HOST:PORT with a port in 0..65535")
    token = args.http_token or os.environ.get("VASDK_HTTP_TOKEN") or None
    try:
        server = LiveServer(pipe, host, int(port), token=token).start()
    except OSError as e:
        raise InvalidArgumentError(f"--http {args.http}: cannot serve there: {e}") from None
    rtsp = None
    if args.rtsp_out is not None:
        api = f"http://127.0.0.1:{server.port}" if host in ("0.0.0.0", "::") else server.base_url
        rtsp = RtspOut(api, host, server.token, port=args.rtsp_out).start()
        server.rtsp_url = rtsp.url
    print(f"live view: {server.page_url}", flush=True)
    if not is_loopback(host):
        print(f"live view: bound to {host}: every API call needs the token {server.token}", flush=True)
    print(f"live view: token for changes (Authorization: Bearer): {server.token}", flush=True)
    if rtsp is not None:
        for c in pipe.stats().channels:
            print(f"live view: RTSP out {c.id}: {rtsp.url(c.id)}", flush=True)
    return server, rtsp


def cmd_run(args: argparse.Namespace) -> int:
    """Runs a pipeline config; a live per-channel table (in place on a terminal, lines when piped)."""
    import io

    from .pipeline import Pipeline

    if args.rtsp_out is not None and not args.http:
        print("vasdk run: --rtsp-out needs --http (RTSP out re-streams the live view)", file=sys.stderr)
        return 2
    out = sys.stdout
    live = out.isatty() and not args.plain
    t0 = time.monotonic()
    interrupted = False
    rule_counts: dict[str, Counter[str]] = defaultdict(Counter)
    kind_counts: dict[str, Counter[str]] = defaultdict(Counter)

    source_events: list[Any] = []

    live_server: Any = None

    def count(e: Any) -> None:  # pipeline threads; Counter updates are GIL-atomic enough here
        if live_server is not None:
            live_server.on_event(e)
        kind_counts[e.channel][e.kind] += 1
        if e.kind == "source" and e.subkind in ("damaged", "end_of_stream"):
            source_events.append(e)  # list.append is atomic under the GIL
        if e.kind == "rule":
            rule_counts[e.channel][f"{e.rule_id}.{e.subkind}"] += 1

    # SIGTERM (a service manager, a cluster node being replaced) stops like Ctrl-C: the pipeline
    # stops at once and, in a cluster, leaves the group so that others take its channels now.
    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    with Pipeline(args.config) as pipe:
        pipe.on_result(lambda r: None)  # counted in the stats; no queue to fill
        pipe.on_event(count)
        pipe.start()
        live_server, rtsp_out = _start_live(args, pipe) if args.http else (None, None)
        first = pipe.stats()
        note = next((n for n in first.inference_notes if n.startswith("auto: ")), "")
        out.write(f"inference: {first.inference_backend}, {first.inference_lanes} lane(s)"
                  + (f"; {note}" if note else "") + "\n")
        shown = 0
        try:
            while True:
                done = pipe.wait(timeout=args.interval)
                elapsed = time.monotonic() - t0
                buf = io.StringIO()
                _table(_stats_rows(pipe.stats()), buf)
                text = buf.getvalue()
                if live:
                    # Back over the previous table (cursor up, clear to end), then redraw.
                    out.write((f"\x1b[{shown}F\x1b[J" if shown else "") + f"[{elapsed:6.1f} s]\n" + text)
                    shown = text.count("\n") + 1
                else:
                    out.write(f"[{elapsed:.1f} s]\n{text}")
                out.flush()
                if done or (args.duration and elapsed >= args.duration):
                    break
        except KeyboardInterrupt:
            interrupted = True
        if rtsp_out is not None:
            rtsp_out.stop()
        if live_server is not None:
            live_server.stop()
        pipe.stop(drain=not interrupted)
        final = pipe.stats()
    out.write(f"\nvasdk run: {args.config}: {'interrupted' if interrupted else 'stopped'} after "
              f"{time.monotonic() - t0:.1f} s\n")
    _table(_stats_rows(final), out)
    if args.summary:
        doc = {"config": str(args.config), "seconds": round(time.monotonic() - t0, 2),
               "interrupted": interrupted, "channels": [asdict(c) for c in final.channels],
               "sinks": getattr(final, "sinks", []),
               "rule_counts": {ch: dict(c) for ch, c in rule_counts.items()},
               "event_counts": {ch: dict(c) for ch, c in kind_counts.items()}}
        doc["sources"] = source_verdicts(source_events)
        args.summary.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if interrupted:
        return 130
    bad = {ch: v for ch, v in source_verdicts(source_events).items() if v != "complete"}
    if bad:
        listing = ", ".join(f"{ch} {v}" for ch, v in sorted(bad.items()))
        verdict = ("accepted (--accept-damaged)" if args.accept_damaged
                   else f"exit {EXIT_DAMAGED}; pass --accept-damaged to accept")
        print(f"vasdk run: warning: damaged or truncated input: {listing}; {verdict}", file=sys.stderr)
        if not args.accept_damaged:
            return EXIT_DAMAGED
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    # Only locating ships with vasdk; fetching and verifying is scripts/assets.py in a checkout.
    from .asset_paths import SETUP_HINT, asset_path

    p = argparse.ArgumentParser(prog="vasdk assets", description="locate the real models and clips")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("path", help="print the path of one asset").add_argument("name")
    for name in ("fetch", "verify"):
        sub.add_parser(name, help=f"(development) {name} the assets: python scripts/assets.py {name}")
    args = p.parse_args(args.rest)
    if args.cmd != "path":
        print(f"error: 'vasdk assets {args.cmd}' is a development step; {SETUP_HINT}", file=sys.stderr)
        return 2
    try:
        print(asset_path(args.name))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    if args.action == "convert":
        rest = list(args.rest)
        if rest and rest[0] in ("centerface", "dynamic"):
            from .tools.fixup import main as fixup_main

            return fixup_main(rest)
        from .tools.darknet import main as darknet_main

        return darknet_main(rest)
    prog = f"vasdk model {args.action}"
    # action -> (module in vasdk.tools, its entry point); imported on use (the tools pull onnx, jax).
    tools = {"optimize": ("optimize", "main"), "quantize": ("quantize", "main"),
             "evaluate": ("evaluate", "main"), "prune": ("prune", "main"),
             "search": ("search", "main"), "distill": ("distill", "main"),
             "lowrank": ("lowrank", "main"), "pack": ("pack", "main"), "keygen": ("pack", "keygen_main")}
    if args.action in tools:
        import importlib

        module, entry = tools[args.action]
        run = getattr(importlib.import_module(f".tools.{module}", __package__), entry)
        return int(run(args.rest, prog=prog))
    raise SystemExit(f"vasdk model {args.action}: not available in this version")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vasdk", description="vasdk video analytics")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="detect objects in a video; write annotated video and JSONL")
    d.add_argument("video")
    d.add_argument("--model", help="ONNX model with a .json card beside it, or a model pack "
                   "(default: yolov3-tiny asset)")
    d.add_argument("--key-file", help="key of an encrypted model pack (else $VASDK_MODEL_KEY)")
    d.add_argument("--out", help="annotated video to write (.mp4, .mkv, .avi)")
    d.add_argument("--jsonl", help="JSON-lines file of detections, one line per frame")
    d.add_argument("--classes", help="comma-separated class names to keep, e.g. person,car,truck")
    d.add_argument("--score", type=float, help="score threshold (default: the model card's)")
    d.add_argument("--input-size", help="network input WxH, e.g. 768x576 (default: the card's)")
    d.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    d.add_argument("--max-frames", type=int, default=0, help="stop after N frames")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.add_argument("--allow-partial", action="store_true",
                   help="exit 0 even when the video ends before its frame count or has damaged frames "
                   "(default: exit 3)")
    d.set_defaults(func=cmd_detect)

    r = sub.add_parser("run", help="run a pipeline config (JSON or YAML) with a live per-channel table")
    r.add_argument("config", help="pipeline config: .json, .yaml or .yml")
    r.add_argument("--duration", type=float, default=0, help="stop after S seconds (default: until the "
                   "sources end or Ctrl-C)")
    r.add_argument("--interval", type=float, default=1.0, help="table refresh period in seconds")
    r.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    r.add_argument("--summary", type=Path, help="write the final stats and event counts per channel "
                                                "and rule (JSON) to this file")
    r.add_argument("--accept-damaged", action="store_true",
                   help="exit 0 even when a file source ended truncated or damaged (default: exit 3)")
    r.add_argument("--http", metavar="HOST:PORT", help="serve the live view (page, JSON API, MJPEG, events) "
                   "here, e.g. 127.0.0.1:8080 (port 0: a free one); another address than the loopback "
                   "needs the token for every call")
    r.add_argument("--http-token", help="the live view's token (default: $VASDK_HTTP_TOKEN or a random one, "
                   "printed at start)")
    r.add_argument("--rtsp-out", type=int, metavar="PORT",
                   help="with --http: re-stream every channel's annotated picture as H.264 over RTSP on "
                   "this port (0: a free one), encoded only while played")
    r.set_defaults(func=cmd_run)

    a = sub.add_parser("assets", help="locate the real models and clips (assets path NAME)")
    a.add_argument("rest", nargs=argparse.REMAINDER)
    a.set_defaults(func=cmd_assets)

    m = sub.add_parser("model", help="model tools")
    m.add_argument("action", choices=["convert", "optimize", "quantize", "evaluate", "prune", "distill",
                                             "search", "lowrank", "pack",
                                             "keygen"])
    m.add_argument("rest", nargs=argparse.REMAINDER,
                   help="convert CFG WEIGHTS OUT.onnx [--names F] | convert centerface SRC DST | "
                        "convert dynamic SRC DST [--dim NAME=N,3,H,W] | "
                        "optimize SRC DST | "
                        "quantize SRC DST --calib PATH [--method M] [--preset default|mobile] | "
                        "evaluate [NAME=]MODEL ... --frames PATH | "
                        "prune SRC DST (--ratio R | --ratios F) [--importance l1|l2|bn] | "
                        "distill STUDENT DST --teacher T --frames SRC... [--budget MIN] | "
                        "search MODEL --frames SRC --budget-ms MS --out PLAN | "
                        "lowrank SRC DST (--energy E | --flops-ratio R) | "
                        "pack MODEL OUT.vaspack (--key-file K | --new-key K | --plain) | keygen KEY "
                        "(each takes -h)")
    m.set_defaults(func=cmd_model)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import VasError

    try:
        return int(args.func(args))
    except (VasError, FileNotFoundError) as e:
        print(f"vasdk {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
