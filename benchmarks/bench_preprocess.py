"""Preprocessing benchmark: vasdk's kernels against the best OpenCV/numpy chain and a memory floor.

Turns a frame (BGR, and NV12) into a letterboxed, /255, RGB float32 NCHW tensor and prints the
median milliseconds of each method, warm (the frame in cache) and cold (every cache line of
the frame flushed before each call, so the kernel reads it from memory as it would a freshly
decoded frame).

Cases. The headline rows use non-integer ratios, where every bilinear tap is live:
1920x1080 -> 608, 1280x720 -> 416 and 2560x1440 -> 640. 1920x1080 -> 640 is exactly 3:1,
where half-pixel-centre bilinear samples one source pixel per output pixel; vasdk detects that
and OpenCV does not, so it is its own row, labelled as the special case, with numpy's
strided slice (the same shortcut, bit-identical) as a peer.

Methods:
- vasdk (the fastest kernel set this CPU runs) on 1 and on 2 threads, and vasdk's portable
  kernels (plain C++: what x86 CPUs without AVX2 run, and AArch64 for the formats its NEON
  pass does not cover) on 1 thread; output arrays are reused, as a pool buffer would be;
- cv_naive: resize, copyMakeBorder, cvtColor, astype, transpose, allocating on every call
  (NV12: cvtColor of the whole frame first);
- cv_blob: letterbox, then ``cv2.dnn.blobFromImage``;
- cv_best: what a careful user writes: every output preallocated (``cv2.resize(dst=)``,
  ``cv2.split(mv=)``, ``np.multiply(out=)`` straight into the tensor, pads filled each call);
  for NV12 the luma and chroma planes are resized first and converted at the output size;
- np_stride (3:1 BGR only): ``bgr[1::3, 1::3]`` scaled into the preallocated tensor;
- floor (1 and 2 threads, C++): reads the bytes the kernel's taps read (for each source row
  a tap reads, the span from its first to its last tapped byte; all of luma and chroma for
  NV12) and writes every byte of the output once. It moves the least memory any
  implementation of this kernel must move; the JSON gives those bytes per case.

"best peer" is the fastest of the peers; ratios are peer / vasdk (above 1: vasdk is faster)
and vasdk / floor (1 would be as fast as moving the bytes). Each peer's largest absolute
difference from vasdk's output is recorded too: the NV12 cv_best resamples chroma on another
grid, so it differs in more than rounding.

Scoreboard (benchmarks/run_all.py): the headline cases, BGR and NV12, warm, vasdk on 1 thread
against the best peer; the target is vasdk at least as fast (ratio best peer / vasdk >= 1).
--quick runs 2 repetitions of 5 calls instead of 7 of 15.

Run: OPENBLAS_NUM_THREADS=1 nice .venv/bin/python benchmarks/bench_preprocess.py [--reps 7]
Writes benchmarks/results/preprocess.json (other settings: a file named after them).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import environment, results_path, score_row, write_results, write_scoreboard

from vasdk import _testing
from vasdk.preprocess import Preprocessor

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--reps", "2", "--iters", "5"], "out": ["--out", "{dir}/preprocess.json"]}
# Scoreboard target: vasdk (1 thread) at least as fast as the best peer on the headline cases.
MIN_RATIO = 1.0
PAD = 114
SCALE = np.float32(1 / 255)
# (label, source width, source height, network size, headline)
CASES = [
    ("1920x1080->608", 1920, 1080, 608, True),
    ("1280x720->416", 1280, 720, 416, True),
    ("2560x1440->640", 2560, 1440, 640, True),
    ("1920x1080->640 (3:1 special case)", 1920, 1080, 640, False),
]
PEERS = ("cv_naive", "cv_blob", "cv_best", "np_stride")
Fn = Callable[[np.ndarray], object]


def letterbox_geometry(w: int, h: int, net: int) -> tuple[int, int, int, int]:
    s = min(net / w, net / h)
    cw, ch = min(net, round(w * s)), min(net, round(h * s))
    return cw, ch, (net - cw) // 2, (net - ch) // 2


def make_inputs(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # A smooth image (a gradient plus noise) so colour conversion sees realistic values.
    yy, xx = np.mgrid[0:h, 0:w]
    base = ((xx * 255 // w + yy * 255 // h) // 2).astype(np.uint8)
    bgr = np.stack([base, 255 - base, base[::-1]], axis=2)
    bgr = np.clip(bgr.astype(np.int16) + rng.integers(-8, 9, bgr.shape), 0, 255).astype(np.uint8)
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    u = i420[h : h + h // 4].reshape(h // 2, w // 2)
    v = i420[h + h // 4 :].reshape(h // 2, w // 2)
    uv = np.empty((h // 2, w), np.uint8)
    uv[:, 0::2], uv[:, 1::2] = u, v
    return bgr, np.ascontiguousarray(np.vstack([i420[:h], uv]))


# ---- the bytes the kernel must touch ------------------------------------------------------


def bilinear_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2.INTER_LINEAR's taps (half-pixel centres, clamped), as vasdk's plan builds them."""
    ratio = 1.0 / (dst / src)
    s = np.maximum((np.arange(dst) + 0.5) * ratio - 0.5, 0.0)
    i0 = np.floor(s).astype(np.int64)
    w1 = (s - i0).astype(np.float32)
    last = i0 >= src - 1
    i0[last], w1[last] = src - 1, 0
    return i0, np.minimum(i0 + 1, src - 1), w1


def touched(src: int, dst: int) -> np.ndarray:
    """Sorted source indices a bilinear axis reads (the second tap only where it weighs)."""
    i0, i1, w1 = bilinear_taps(src, dst)
    return np.unique(np.concatenate([i0, i1[(w1 != 0) & (i1 != i0)]]))


def touched_spans(w: int, h: int, net: int, fmt: str) -> tuple[np.ndarray, dict[str, Any]]:
    """(offset, length) byte spans of the frame the kernel reads, and a summary."""
    cw, ch, _, _ = letterbox_geometry(w, h, net)
    rows, cols = touched(h, ch), touched(w, cw)
    if fmt == "bgr":
        b0, b1 = 3 * int(cols[0]), 3 * int(cols[-1]) + 3
        spans = [(int(r) * 3 * w + b0, b1 - b0) for r in rows]
        col_bytes = np.unique(np.concatenate([3 * cols + k for k in range(3)]))
        total = 3 * w * h
    else:
        b0, b1 = int(cols[0]), int(cols[-1]) + 1
        c0, c1 = int(cols[0]) & ~1, (int(cols[-1]) & ~1) + 2
        spans = [(int(r) * w + b0, b1 - b0) for r in rows]
        spans += [(w * h + int(r) * w + c0, c1 - c0) for r in np.unique(rows // 2)]
        col_bytes = cols
        total = w * h * 3 // 2
    arr = np.array(spans, np.int64)
    # Within each span, the share of 64-byte lines holding a tapped byte: 1.0 means reading
    # the whole span costs no more memory traffic than reading only the taps.
    lines = np.unique(col_bytes // 64)
    span_lines = (3 * int(cols[-1]) + 3 if fmt == "bgr" else b1) // 64 - b0 // 64 + 1
    info = {
        "source_rows_read": len(rows),
        "source_rows": h,
        "bytes_read": int(arr[:, 1].sum()),
        "frame_bytes": total,
        "share_of_frame_read": round(float(arr[:, 1].sum()) / total, 3),
        "cache_lines_with_taps_in_span": round(len(lines) / span_lines, 3),
        "output_bytes_written": 3 * net * net * 4,
    }
    return arr, info


# ---- peers --------------------------------------------------------------------------------


def cv_naive(bgr: np.ndarray, net: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    cw, ch, x0, y0 = letterbox_geometry(w, h, net)
    r = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_LINEAR)
    r = cv2.copyMakeBorder(r, y0, net - ch - y0, x0, net - cw - x0, cv2.BORDER_CONSTANT, value=(PAD,) * 3)
    r = cv2.cvtColor(r, cv2.COLOR_BGR2RGB)
    x = r.astype(np.float32) * SCALE
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def cv_blob(bgr: np.ndarray, net: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    cw, ch, x0, y0 = letterbox_geometry(w, h, net)
    r = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_LINEAR)
    r = cv2.copyMakeBorder(r, y0, net - ch - y0, x0, net - cw - x0, cv2.BORDER_CONSTANT, value=(PAD,) * 3)
    return cv2.dnn.blobFromImage(r, scalefactor=1 / 255, swapRB=True)


class CvBest:
    """The careful chain: no allocation per call, the float conversion written in place."""

    def __init__(self, w: int, h: int, net: int, fmt: str) -> None:
        self.w, self.h, self.fmt = w, h, fmt
        self.cw, self.ch, self.x0, self.y0 = letterbox_geometry(w, h, net)
        if fmt == "nv12" and (self.cw % 2 or self.ch % 2):
            raise ValueError("NV12 at the output size needs an even content size")
        self.out = np.empty((1, 3, net, net), np.float32)
        self.small = np.empty((self.ch, self.cw, 3), np.uint8)
        self.planes = [np.empty((self.ch, self.cw), np.uint8) for _ in range(3)]
        self.nv = np.empty((self.ch * 3 // 2, self.cw), np.uint8)
        self.pad = np.float32(PAD) * SCALE

    def __call__(self, img: np.ndarray) -> np.ndarray:
        cw, ch, x0, y0 = self.cw, self.ch, self.x0, self.y0
        if self.fmt == "bgr":
            cv2.resize(img, (cw, ch), dst=self.small, interpolation=cv2.INTER_LINEAR)
        else:
            y, uv = img[: self.h], img[self.h :].reshape(self.h // 2, self.w // 2, 2)
            cv2.resize(y, (cw, ch), dst=self.nv[:ch], interpolation=cv2.INTER_LINEAR)
            cv2.resize(uv, (cw // 2, ch // 2), dst=self.nv[ch:].reshape(ch // 2, cw // 2, 2),
                       interpolation=cv2.INTER_LINEAR)
            cv2.cvtColor(self.nv, cv2.COLOR_YUV2BGR_NV12, dst=self.small)
        cv2.split(self.small, self.planes)
        o = self.out[0]
        for c in range(3):  # RGB from BGR planes
            np.multiply(self.planes[2 - c], SCALE, out=o[c, y0 : y0 + ch, x0 : x0 + cw])
        o[:, :y0] = self.pad
        o[:, y0 + ch :] = self.pad
        o[:, y0 : y0 + ch, :x0] = self.pad
        o[:, y0 : y0 + ch, x0 + cw :] = self.pad
        return self.out


class NpStride:
    """3:1 only: the one live bilinear tap per pixel is a strided slice."""

    def __init__(self, w: int, h: int, net: int) -> None:
        self.cw, self.ch, self.x0, self.y0 = letterbox_geometry(w, h, net)
        self.out = np.empty((1, 3, net, net), np.float32)
        self.pad = np.float32(PAD) * SCALE

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        cw, ch, x0, y0 = self.cw, self.ch, self.x0, self.y0
        o = self.out[0]
        for c in range(3):
            np.multiply(bgr[1::3, 1::3, 2 - c], SCALE, out=o[c, y0 : y0 + ch, x0 : x0 + cw])
        o[:, :y0] = self.pad
        o[:, y0 + ch :] = self.pad
        o[:, y0 : y0 + ch, :x0] = self.pad
        o[:, y0 : y0 + ch, x0 + cw :] = self.pad
        return self.out


def exact_three_to_one(w: int, h: int, net: int) -> bool:
    cw, ch, _, _ = letterbox_geometry(w, h, net)
    return w == 3 * cw and h == 3 * ch


def methods(w: int, h: int, net: int, fmt: str) -> tuple[dict[str, Fn], dict[str, Any]]:
    """The timed callables for one case and format, each taking the frame."""
    out1, out2, outp = (np.empty((1, 3, net, net), np.float32) for _ in range(3))
    p1, p2 = Preprocessor(net, net, threads=1), Preprocessor(net, net, threads=2)
    pp = Preprocessor(net, net, threads=1, impl="portable")
    f1, f2 = _testing.SpanFloor(1), _testing.SpanFloor(2)
    spans, info = touched_spans(w, h, net, fmt)
    floor_out = np.empty((1, 3, net, net), np.float32)
    name = fmt.upper()
    m: dict[str, Fn] = {
        "vasdk_1t": lambda x: p1(x, name, out=out1),
        "vasdk_2t": lambda x: p2(x, name, out=out2),
        "vasdk_portable_1t": lambda x: pp(x, name, out=outp),
        "floor_1t": lambda x: f1.run(x, spans, floor_out),
        "floor_2t": lambda x: f2.run(x, spans, floor_out),
    }
    if fmt == "bgr":
        m["cv_naive"] = lambda x: cv_naive(x, net)
        m["cv_blob"] = lambda x: cv_blob(x, net)
        if exact_three_to_one(w, h, net):
            m["np_stride"] = NpStride(w, h, net)
    else:
        m["cv_naive"] = lambda x: cv_naive(cv2.cvtColor(x, cv2.COLOR_YUV2BGR_NV12), net)
        m["cv_blob"] = lambda x: cv_blob(cv2.cvtColor(x, cv2.COLOR_YUV2BGR_NV12), net)
    m["cv_best"] = CvBest(w, h, net, fmt)
    info["kernels"] = {"vasdk": p1.impl, "vasdk_portable": pp.impl}
    return m, info


# ---- timing -------------------------------------------------------------------------------


def time_calls(fn: Fn, frame: np.ndarray, iters: int, cold: bool) -> list[float]:
    out = []
    for _ in range(iters):
        if cold:
            _testing.evict(frame)
        t = time.perf_counter()
        fn(frame)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def faults_per_call(fn: Fn, frame: np.ndarray, iters: int = 20) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(iters):
        fn(frame)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / iters


def max_abs_diff(a: object, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float32).reshape(b.shape) - b)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions (methods interleaved)")
    ap.add_argument("--iters", type=int, default=15, help="timed calls per repetition")
    ap.add_argument("--cases", default="all", help="comma-separated case indices, or all")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "preprocess.json")
    args = ap.parse_args(argv)
    if args.reps < 1 or args.iters < 1:
        ap.error("--reps and --iters must be at least 1")
    try:
        args.picked = (list(range(len(CASES))) if args.cases == "all"
                       else [int(c) for c in args.cases.split(",")])
    except ValueError:
        ap.error(f"--cases: comma-separated case indices or all, not {args.cases!r}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    picked = args.picked

    cv2.setNumThreads(1)
    table: dict[str, dict[str, Any]] = {}
    jobs = []
    for ci in picked:
        label, w, h, net, _ = CASES[ci]
        frames = dict(zip(("bgr", "nv12"), make_inputs(w, h)))
        for fmt, frame in frames.items():
            fns, info = methods(w, h, net, fmt)
            ref = np.asarray(fns["vasdk_1t"](frame)).copy()
            info["max_abs_diff_vs_vasdk"] = {
                k: max_abs_diff(fns[k](frame), ref)
                for k in ("vasdk_portable_1t", "vasdk_2t", *PEERS)
                if k in fns
            }
            for fn in fns.values():
                fn(frame)  # warm-up: first touch of outputs, plans, caches
            key = f"{label} {fmt.upper()}"
            table[key] = {"case": label, "format": fmt, "info": info,
                          "samples": {s: {k: [] for k in fns} for s in ("warm", "cold")}}
            jobs.append((key, fns, frame))
    env = environment(kernels=str(next(iter(table.values()))["info"]["kernels"]))
    print(f"CPU {env['cpu_model']} ({env['cores']} cores), kernels {env['kernels']}, load "
          f"{env['load_avg_before']}, CPU busy before the run {env['cpu_busy_share_before']}")
    t_start = time.time()
    for _ in range(args.reps):
        for key, fns, frame in jobs:
            for state in ("warm", "cold"):
                for name, fn in fns.items():
                    ms = time_calls(fn, frame, args.iters, state == "cold")
                    table[key]["samples"][state][name].append(ms)
    wall = time.time() - t_start

    for key, fns, frame in jobs:
        row = table[key]
        for state in ("warm", "cold"):
            reps = row["samples"][state]
            med = {k: float(np.median(np.concatenate(v))) for k, v in reps.items()}
            rep_med = {k: [float(np.median(r)) for r in v] for k, v in reps.items()}
            peers = {k: med[k] for k in PEERS if k in med}
            best = min(peers, key=peers.__getitem__)
            row[state] = {
                "median_ms": med,
                "spread": {k: round((max(v) - min(v)) / med[k], 3) for k, v in rep_med.items()},
                "best_peer": best,
                "best_peer_over_vasdk_1t": med[best] / med["vasdk_1t"],
                "best_peer_over_vasdk_portable_1t": med[best] / med["vasdk_portable_1t"],
                "naive_cv_over_vasdk_1t": med["cv_naive"] / med["vasdk_1t"],
                "vasdk_1t_over_floor_1t": med["vasdk_1t"] / med["floor_1t"],
                "vasdk_2t_over_floor_2t": med["vasdk_2t"] / med["floor_2t"],
                "vasdk_1t_over_2t": med["vasdk_1t"] / med["vasdk_2t"],
            }
        del row["samples"]
        if key.startswith(CASES[0][0]):
            row["page_faults_per_call_warm"] = {
                k: faults_per_call(fns[k], frame) for k in ("vasdk_1t", "cv_naive", "cv_best")
            }
    print_tables(table)

    settings = {"reps": args.reps, "iters": args.iters, "cases": args.cases}
    out = results_path(args.out, settings, {"reps": 7, "iters": 15, "cases": "all"})
    headline = {c[0] for c in CASES if c[4]}
    score = write_scoreboard([
        score_row(f"preprocess {row['case']} {row['format'].upper()}, warm, 1 thread", "ms",
                  row["warm"]["median_ms"]["vasdk_1t"], row["warm"]["median_ms"][row["warm"]["best_peer"]],
                  row["warm"]["best_peer"], better="lower", target=("ratio", ">=", MIN_RATIO))
        for row in table.values() if row["case"] in headline
    ])
    result = {
        "benchmark": "preprocess",
        "settings": settings,
        "environment": env,
        "timed_wall_s": round(wall, 1),
        "output": "letterboxed RGB float32 NCHW, /255, pad 114, bilinear",
        "rows": table,
        "scoreboard": score,
    }
    print(f"\nwrote {write_results(out, result)}")


def print_tables(table: dict[str, dict[str, Any]]) -> None:
    hdr = (f"{'median ms':38} {'state':5} {'vasdk':>7} {'2t':>7} {'portbl':>7} {'naive':>7} "
           f"{'blob':>7} {'best':>7} {'np3:1':>7} {'floor':>7} {'fl 2t':>7} "
           f"{'best peer':>10} {'peer/vasdk':>10} {'peer/portbl':>11} {'vasdk/floor':>11}")
    print(hdr)
    print("-" * len(hdr))
    for key, row in table.items():
        for state in ("warm", "cold"):
            r = row[state]
            m = r["median_ms"]
            cells = [m.get(k) for k in ("vasdk_1t", "vasdk_2t", "vasdk_portable_1t", "cv_naive", "cv_blob",
                                        "cv_best", "np_stride", "floor_1t", "floor_2t")]
            text = " ".join(f"{c:7.3f}" if c is not None else f"{'-':>7}" for c in cells)
            print(f"{key:38} {state:5} {text}"
                  + f" {r['best_peer']:>10} {r['best_peer_over_vasdk_1t']:9.2f}x "
                  f"{r['best_peer_over_vasdk_portable_1t']:10.2f}x {r['vasdk_1t_over_floor_1t']:10.2f}x")
    print("\nfloor: bytes the kernel's taps read + the whole output written")
    for key, row in table.items():
        i = row["info"]
        print(f"  {key:38} rows read {i['source_rows_read']}/{i['source_rows']}, "
              f"{i['share_of_frame_read']:.0%} of the frame, lines with taps in span "
              f"{i['cache_lines_with_taps_in_span']:.0%}; max |diff| vs vasdk "
              + ", ".join(f"{k} {v:.3g}" for k, v in i["max_abs_diff_vs_vasdk"].items()))


if __name__ == "__main__":
    main()
