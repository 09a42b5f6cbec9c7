"""A board-style app: a pipeline from a config file, results read from the blocking iterator,
best shots saved as JPEG files, and a stats line every few seconds.

    python samples/python/board_app.py CONFIG.(json|yaml) OUT_DIR [--seconds S] [--stall S]

The config is a vasdk pipeline document; channels that should save best shots set
``"analytics": {"best_shot": {"jpeg": true, ...}}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import vasdk


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--seconds", type=float, default=0,
                   help="stop after S seconds (0: run until the sources end)")
    p.add_argument("--stall", type=float, default=30,
                   help="give up when no result comes for S seconds (model load and the "
                        "first connection included; a camera that is down reconnects meanwhile)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True, mode=0o700)  # faces are personal data
    saved = 0

    def on_event(e: vasdk.PipelineEvent) -> None:
        nonlocal saved
        if e.kind == "best_shot" and e.jpeg:
            path = args.out / f"{e.channel}_{e.track_id}_{e.best_shot_id}.jpg"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(e.jpeg)
            saved += 1

    t0 = last = time.monotonic()
    objects = 0
    with vasdk.Pipeline(args.config) as pipe:
        pipe.on_event(on_event)
        pipe.start()
        try:
            for r in pipe.results(timeout=args.stall):  # ends when the sources end
                objects += len(r)
                now = time.monotonic()
                if now - last >= 5:
                    last = now
                    for c in pipe.stats().channels:
                        print(f"{c.id}: {c.fps:.1f} fps, p99 {c.latency_p99_ms:.0f} ms, dropped {c.dropped}")
                if args.seconds and now - t0 >= args.seconds:
                    break
        except TimeoutError:
            print(f"no result for {args.stall:g} s: stopping", file=sys.stderr)
            pipe.stop(drain=False)
            return 1
        pipe.stop(drain=True)
        stats = pipe.stats()
    print(f"done: {sum(c.processed for c in stats.channels)} frames, {objects} objects, "
          f"{saved} best shots in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
