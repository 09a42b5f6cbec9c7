#!/usr/bin/env python3
"""Soak test: run what exists for T minutes and check that nothing grows.

Today that is the detector over vtest.avi in a loop with create/destroy cycles: every cycle
creates a ``vasdk.Detector``, opens the video, copies each frame into a block from a bounded
``vasdk.Pool`` (as the pipeline's frame pools will), detects, and destroys everything. Once the
multi-channel pipeline lands this script grows N channels with stop/start and add/remove cycles.

Every ``--interval`` seconds it records RSS, open fds, threads and pool high-water marks to a
CSV file (and a PNG plot when matplotlib is installed), then prints the pass criteria:

- RSS drift under 2 %: the median RSS of the last quarter of the run against the median of
  the first sampled quarter after warm-up (the first ``--warmup`` seconds are skipped: ORT
  loads once per process and allocators settle). Samples are taken between cycles after
  glibc's malloc_trim(0), so they measure live memory rather than what the allocator caches;
  the raw RSS is recorded and plotted too;
- fds and threads back to their baseline, which is taken after the first full create/destroy
  cycle (ORT's environment lives until exit by design) and checked again after the last;
- pool blocks all returned and the pool's high-water mark within its capacity.

    .venv/bin/python scripts/soak.py --minutes 5 --out out/soak
Exit status 0 when all criteria pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import vasdk
from vasdk import asset_paths as assets


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS missing from /proc/self/status")


_libc: ctypes.CDLL | None = None


def trimmed_rss_kib() -> int:
    """RSS after glibc's malloc_trim(0) returns free heap pages to the system.

    Raw RSS at a cycle boundary swings by ~100 MiB depending on which freed ORT and codec
    buffers glibc still caches, which hides a slow leak; after the trim RSS is what is live.
    """
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: raw RSS
        pass
    return rss_kib()


def threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("Threads missing from /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) - 1  # minus the listdir's own descriptor


def make_pool(frame_bytes: int, blocks: int) -> Any | None:
    try:
        from vasdk.preprocess import Pool
    except ImportError:  # pools not built into this vasdk: record -1
        return None
    return Pool("soak-frames", block_size=frame_bytes, max_blocks=blocks)


def pool_high_water(pool: Any | None) -> int:
    """The pool's high-water mark in bytes, or -1 without pools."""
    if pool is None:
        return -1
    return int(pool.stats().get("high_water_bytes", -1))


class Recorder:
    """Samples process counters into rows; one row per interval."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.t0 = time.monotonic()
        self.next_at = self.t0
        self.rows: list[dict[str, Any]] = []

    def maybe_sample(self, cycle: int, frames: int, pool_hw: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self.next_at:
            return
        self.next_at = now + self.interval
        self.rows.append(
            {
                "t_s": round(now - self.t0, 2),
                "cycle": cycle,
                "frames": frames,
                "rss_kib": rss_kib(),
                "rss_trimmed_kib": trimmed_rss_kib(),
                "fds": open_fds(),
                "threads": threads(),
                "pool_high_water_bytes": pool_hw,
            }
        )


def run_cycle(
    model: str, video: str, frames_per_cycle: int, threads_opt: int, pool_blocks: int
) -> tuple[int, int, int, int]:
    """One create/use/destroy cycle; returns (frames, detections, pool high-water, capacity)."""
    det = vasdk.Detector(model, threads=threads_opt, classes=["person", "car", "truck"])
    n_frames = n_dets = 0
    pool = None
    held: list[np.ndarray] = []  # a small ring of pooled frames, like a bounded frame queue
    with vasdk.VideoReader(video) as reader:
        for frame in reader:
            if pool is None:
                pool = make_pool(frame.nbytes, pool_blocks)
            if pool is not None:
                if len(held) >= pool_blocks - 1:
                    held.pop(0)
                block = pool.acquire_array(frame.shape, np.uint8)
                block[...] = frame
                held.append(block)
            n_dets += len(det(held[-1] if held else frame))
            n_frames += 1
            if n_frames >= frames_per_cycle:
                break
    hw = pool_high_water(pool)
    capacity = int(pool.stats()["capacity_bytes"]) if pool is not None else -1
    held.clear()
    block = None  # the last pooled frame goes back too
    if pool is not None:
        pool.check_idle()  # raises if a block is still out
        pool.close()
    del det
    gc.collect()
    return n_frames, n_dets, hw, capacity


def write_plot(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    t = [r["t_s"] / 60 for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].plot(t, [r["rss_kib"] / 1024 for r in rows], label="RSS")
    axes[0].plot(t, [r["rss_trimmed_kib"] / 1024 for r in rows], label="RSS after malloc_trim")
    axes[0].legend()
    axes[0].set_ylabel("MiB")
    axes[1].plot(t, [r["fds"] for r in rows], label="open fds")
    axes[1].plot(t, [r["threads"] for r in rows], label="threads")
    axes[1].legend()
    axes[1].set_ylabel("count")
    axes[2].plot(t, [r["pool_high_water_bytes"] / 2**20 for r in rows])
    axes[2].set_ylabel("pool high-water (MiB)")
    axes[2].set_xlabel("minutes")
    fig.suptitle("vasdk soak: detector create/destroy cycles over vtest.avi")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=1.0, help="run time (default 1)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    ap.add_argument(
        "--warmup", type=float, default=None, help="seconds ignored for drift (default 20%% of the run)"
    )
    ap.add_argument("--frames-per-cycle", type=int, default=60, help="frames per create/destroy cycle")
    ap.add_argument("--threads", type=int, default=1, help="detector threads")
    ap.add_argument("--pool-blocks", type=int, default=4, help="frame pool capacity in blocks")
    ap.add_argument("--max-drift", type=float, default=2.0, help="allowed RSS drift in percent")
    ap.add_argument("--out", default="out/soak", help="output prefix for .csv and .png")
    args = ap.parse_args(argv)

    model = str(assets.asset_path("yolov3-tiny.onnx"))
    video = str(assets.asset_path("vtest.avi"))
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else 0.2 * duration
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    # Baseline after one full cycle: ORT and the codecs are loaded once per process.
    run_cycle(model, video, 5, args.threads, args.pool_blocks)
    base_fds, base_threads = open_fds(), threads()
    rec = Recorder(args.interval)
    rec.maybe_sample(0, 0, -1, force=True)
    cycle = frames = dets = 0
    max_hw = capacity = -1
    end = time.monotonic() + duration
    while time.monotonic() < end:
        n, d, hw, capacity = run_cycle(model, video, args.frames_per_cycle, args.threads, args.pool_blocks)
        cycle += 1
        frames += n
        dets += d
        max_hw = max(max_hw, hw)
        rec.maybe_sample(cycle, frames, hw)
    gc.collect()
    rec.maybe_sample(cycle, frames, max_hw, force=True)
    end_fds, end_threads = open_fds(), threads()

    csv_path = out.with_suffix(".csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rec.rows[0]))
        w.writeheader()
        w.writerows(rec.rows)
    png_path = out.with_suffix(".png")
    plotted = write_plot(rec.rows, png_path)

    settled = [r for r in rec.rows if r["t_s"] >= warmup]
    if len(settled) < 4:
        settled = rec.rows[len(rec.rows) // 2 :]
    q = max(1, len(settled) // 4)
    first = statistics.median(r["rss_trimmed_kib"] for r in settled[:q])
    last = statistics.median(r["rss_trimmed_kib"] for r in settled[-q:])
    raw_peak = max(r["rss_kib"] for r in rec.rows)
    drift = 100.0 * (last - first) / first
    peak_threads = max(r["threads"] for r in rec.rows)

    checks = [
        (
            f"RSS drift {drift:+.2f}% (trimmed RSS median {first / 1024:.1f} -> {last / 1024:.1f} MiB "
            f"after {warmup:.0f} s warm-up; raw peak {raw_peak / 1024:.1f} MiB) under {args.max_drift}%",
            abs(drift) < args.max_drift,
        ),
        (f"open fds back to baseline: {base_fds} -> {end_fds}", end_fds == base_fds),
        (
            f"threads back to baseline: {base_threads} -> {end_threads} (peak {peak_threads})",
            end_threads == base_threads,
        ),
    ]
    if max_hw >= 0:
        checks.append(
            (
                f"pool high-water {max_hw} B within its capacity {capacity} B "
                f"({args.pool_blocks} frames), every block returned each cycle",
                max_hw <= capacity,
            )
        )
    print(
        f"soak: {duration / 60:.1f} min, {cycle} create/destroy cycles, {frames} frames, "
        f"{dets} detections, {len(rec.rows)} samples"
    )
    print(f"  csv: {csv_path}" + (f"   plot: {png_path}" if plotted else "   (no matplotlib: no plot)"))
    ok = True
    for text, passed in checks:
        print(f"  [{'PASS' if passed else 'FAIL'}] {text}")
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
