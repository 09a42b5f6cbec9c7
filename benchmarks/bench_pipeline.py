"""Multi-channel pipeline: vasdk.Pipeline against the plain Python app a careful user would write.

The peer ("plain app"): one thread per channel, each reading its source with cv2.VideoCapture,
preprocessing with OpenCV + numpy as the model card says (RGB, /255, stretch resize to
768x576, NCHW), running one shared onnxruntime session (same model file, same intra-op threads,
no spinning, optimization level all), decoding the two YOLO heads in numpy (score =
sigmoid(obj) * sigmoid(best class logit) over person/car/truck, threshold 0.25, class-wise NMS
0.45 with cv2.dnn.NMSBoxesBatched), then supervision's ByteTrack and LineZone per channel.
vasdk: the same model, threads, classes, tracker settings and line through one vasdk.Pipeline.
The ceiling: the same model and threads through vasdk.Detector alone, in a loop over decoded
frames (no decode, no tracking, one image per run).

OpenVINO sides (where the openvino package is installed; in the default --sides then):
``peer_ov`` is the same plain app with OpenVINO instead of onnxruntime, as a careful user on
Intel writes it: one compiled model (CPU, PERFORMANCE_HINT THROUGHPUT, INFERENCE_NUM_THREADS
= --threads, the plugin's default precision) and one infer request per channel thread, so
that as many inferences are in flight as the plugin has streams. ``vasdk_ov`` is vasdk with
``"backend": "openvino", "performance_hint": "throughput"`` and the same threads, and
``engine_ov`` the Detector-alone ceiling on OpenVINO. They run the FP32 model everywhere,
capacity included: the quantizer's default INT8 output is in ORT's QOperator form, which
OpenVINO cannot read, and OpenVINO picks its own precision (bf16 on AMX, f32 on AVX2).

Measured, each side in its own subprocess (so peak RSS belongs to that side alone):
  throughput   4 channels, FP32, detection on every frame, sources unpaced (as fast as it goes)
  capacity     INT8 (vasdk model quantize), detection every 3rd frame, sources paced at the
               file's 10 fps; channel counts rise until a side no longer holds real time
               (held: every channel delivers >= 97 % of the frames its camera produced and the
               p99 latency, camera time -> result, stays under 1 s)
  p99 latency  at the largest channel count both sides hold
  peak RSS     ru_maxrss / VmHWM of the 4-channel throughput run
  RSS growth   --minutes M: 4 paced looping channels for M minutes, RSS and malloc's heap in
               use sampled every 5 s; growth = median of the last quarter over the median of the
               first quarter after a 10 % warm-up
  C sample     --c-sample PATH (default build/samples/multi_channel where it exists): vasdk's
               peak RSS without Python, 4 paced file channels, FP32, --c-seconds each, with the
               sample's lean defaults and with the pipeline's (benchmarks/_c_sample.py)

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pipeline.py [--frames 120]
        [--seconds 30] [--max-channels 16] [--minutes 0] [--sides peer,vasdk,engine]

On skipped frames (detect interval 3) the peer does not call its tracker (supervision's
ByteTrack has no predict step) and keeps the last tracks; vasdk's tracker predicts. Prints a
table and writes benchmarks/results/pipeline.json (medians of --repeats runs, and ratios).

Scoreboard (benchmarks/run_all.py): 4-channel FP32 throughput, real-time channels (INT8, every
3rd frame) and peak RSS, vasdk against the plain app; the target for each is vasdk at least as
good (ratio >= 1). --quick: 12 frames per channel, 1 repeat, 6 s trials up to 4 channels (so
its channel count is capped at 4), no ceiling side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _c_sample  # noqa: E402
from _plain_app import CLASSES, INPUT_H, INPUT_W, peer_decode, peer_inference  # noqa: E402

LINE = [[0, 300], [768, 300]]  # across vtest.avi's walkway
# supervision's ByteTrack defaults, spelled in vasdk's tracker options (see bench_tracker.py).
TRACKER = {
    "type": "bytetrack",
    "track_thresh": 0.25,
    "high_thresh": 0.35,
    "match_thresh": 0.8,
    "max_age": 30,
    "min_hits": 2,
    "confirm_first_frame": True,
}
# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [],
              "quick": ["--frames", "12", "--repeats", "1", "--seconds", "6", "--max-channels", "4",
                        "--sides", "peer,vasdk"],
              "out": ["--out", "{dir}/pipeline.json"]}
# Scoreboard target: vasdk at least as good as the plain app on every row.
MIN_RATIO = 1.0
HELD_DELIVERED = 0.97
HELD_P99_MS = 1000.0


def assets() -> Path:
    from vasdk.asset_paths import asset_dir

    return asset_dir()


def int8_model() -> Path:
    """yolov3-tiny INT8 (QDQ) made once with `vasdk model quantize`, cached under .cache/bench."""
    out = ROOT / ".cache" / "bench" / "yolov3-tiny-int8.onnx"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vasdk",
                "model",
                "quantize",
                str(assets() / "yolov3-tiny.onnx"),
                str(out),
                "--calib",
                str(assets() / "vtest.avi"),
            ],
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "python")},
        )
    return out


def rss_kib() -> dict[str, int]:
    """Peak and current resident set of this process (kiB)."""
    status = Path("/proc/self/status").read_text()
    vals = {
        ln.split(":")[0]: int(ln.split()[1])
        for ln in status.splitlines()
        if ln.startswith(("VmHWM", "VmRSS"))
    }
    return {
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vm_hwm_kib": vals.get("VmHWM", 0),
        "vm_rss_kib": vals.get("VmRSS", 0),
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


# ---- the plain Python app ----------------------------------------------------------------------


def run_peer(cfg: dict[str, Any]) -> dict[str, Any]:
    import cv2
    import supervision as sv

    cv2.setNumThreads(1)  # the channels are the parallelism; OpenCV's pool would fight ORT's
    infer = peer_inference(cfg)
    paced, interval, n = cfg["paced"], cfg["interval"], cfg["channels"]
    lat: list[list[float]] = [[] for _ in range(n)]
    done = [0] * n
    crossings = [0] * n
    stop = threading.Event()

    def channel(ch: int, t0: float) -> None:
        cap = cv2.VideoCapture(cfg["video"])
        fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # ByteTrack moves out in 0.31
            tracker = sv.ByteTrack(frame_rate=max(1, round(fps / interval)))
        line = sv.LineZone(start=sv.Point(*LINE[0]), end=sv.Point(*LINE[1]))
        tracks = sv.Detections.empty()
        i = 0
        while not stop.is_set() and (cfg["frames"] <= 0 or i < cfg["frames"]):
            due = t0 + i / fps  # when a live camera would deliver frame i
            if paced and (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            ok, frame = cap.read()
            if not ok:
                if not cfg["loop"]:
                    break
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            t_cap = due if paced else time.perf_counter()
            if i % interval == 0:
                h, w = frame.shape[:2]
                rgb = cv2.cvtColor(cv2.resize(frame, (INPUT_W, INPUT_H)), cv2.COLOR_BGR2RGB)
                x = (rgb.astype(np.float32) * (1 / 255.0)).transpose(2, 0, 1)[None]
                outs = infer(np.ascontiguousarray(x))
                xyxy, s, c = peer_decode(outs, w / INPUT_W, h / INPUT_H)
                tracks = tracker.update_with_detections(sv.Detections(xyxy=xyxy, confidence=s, class_id=c))
                cin, cout = line.trigger(tracks)
                crossings[ch] += int(cin.sum() + cout.sum())
            lat[ch].append((time.perf_counter() - t_cap) * 1e3)
            done[ch] += 1
            i += 1
        cap.release()

    t0 = time.perf_counter() + 0.2
    threads = [threading.Thread(target=channel, args=(c, t0)) for c in range(n)]
    for t in threads:
        t.start()
    if cfg["seconds"] > 0:
        stop.wait(max(0.0, t0 + cfg["seconds"] - time.perf_counter()))
        stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"frames": done, "wall_s": wall, "latency_ms": lat, "crossings": crossings}


# ---- vasdk ---------------------------------------------------------------------------------


def vasdk_config(cfg: dict[str, Any]) -> dict[str, Any]:
    source = {"url": cfg["video"], "loop": cfg["loop"], "realtime": cfg["paced"]}
    channel = {
        "source": source,
        "detect_interval": cfg["interval"],
        # Unpaced runs measure throughput: nothing may be dropped. Paced runs behave like
        # cameras: a late frame is dropped, and that counts against real time.
        "policy": "drop_oldest" if cfg["paced"] else "block",
        "analytics": {
            "tracker": TRACKER,
            "rules": {"rules": [{"id": "line", "type": "line_crossing", "line": LINE}]},
        },
    }
    options = card_option(cfg["model"])
    if cfg["engine"] == "openvino":
        options |= {"backend": "openvino", "performance_hint": "throughput"}
    return {
        "models": {"detector": {"model": cfg["model"], "options": options}},
        "inference": {"threads": cfg["threads"], "spinning": False}
        | ({"max_batch": cfg["max_batch"]} if cfg.get("max_batch") else {}),
        "channels": [{"id": f"cam{c}", **channel} for c in range(cfg["channels"])],
    }


def card_option(model: str) -> dict[str, Any]:
    """Detector options; the INT8 model reads the FP32 card (the quantizer's card carries a
    "quantization" block that the model-card parser does not accept yet)."""
    opts: dict[str, Any] = {"classes": CLASSES}
    if "int8" in Path(model).name:
        opts["card"] = str(assets() / "yolov3-tiny.json")
    return opts


def run_vasdk(cfg: dict[str, Any]) -> dict[str, Any]:
    import vasdk

    n = cfg["channels"]
    lat: list[list[float]] = [[] for _ in range(n)]
    done = [0] * n
    crossings = [0] * n
    all_done = threading.Event()
    limit = cfg["frames"] * n if cfg["frames"] > 0 else 0

    def on_result(r: Any) -> None:
        ch = int(r.channel[3:])
        lat[ch].append(time.time() * 1e3 - r.capture_us / 1e3)
        done[ch] += 1
        if limit and sum(done) >= limit:
            all_done.set()

    def on_event(e: Any) -> None:
        if e.kind == "rule":
            crossings[int(e.channel[3:])] += 1

    with vasdk.Pipeline(vasdk_config(cfg)) as pipe:
        pipe.on_result(on_result)
        pipe.on_event(on_event)
        t0 = time.perf_counter()
        pipe.start()
        all_done.wait(cfg["seconds"] if cfg["seconds"] > 0 else 1800)  # a stalled run ends too
        wall = time.perf_counter() - t0
        stats = pipe.stats()
        pipe.stop(drain=False)
    dropped = [c.dropped for c in stats.channels]
    return {
        "cpu_ms_per_frame": stats.cpu_ms_per_frame,
        "frames": done,
        "wall_s": wall,
        "latency_ms": lat,
        "crossings": crossings,
        "dropped": dropped,
        "stats_p99_ms": [c.latency_p99_ms for c in stats.channels],
    }


def run_engine(cfg: dict[str, Any]) -> dict[str, Any]:
    """The ceiling: vasdk.Detector alone over decoded frames, one image per run."""
    import vasdk

    backend = {"backend": "openvino"} if cfg["engine"] == "openvino" else {}
    det = vasdk.Detector(cfg["model"], threads=cfg["threads"], classes=CLASSES, spinning=False, **backend)
    frames = []
    with vasdk.VideoReader(cfg["video"]) as video:
        for f in video:
            frames.append(f)
            if len(frames) >= 50:
                break
    det(frames[0])
    total = cfg["frames"] * cfg["channels"]
    t0 = time.perf_counter()
    for i in range(total):
        det(frames[i % len(frames)])
    wall = time.perf_counter() - t0
    return {"frames": [total], "wall_s": wall, "latency_ms": [[]], "crossings": [0]}


def heap_in_use_kib() -> int:
    """Bytes glibc's malloc has handed out and not had back (mallinfo2), in kiB: unlike RSS it
    does not move when the allocator opens an arena or keeps freed pages, so a leak shows here."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return 0
    libc.mallinfo2.restype = MallInfo2
    m = libc.mallinfo2()
    return (m.uordblks + m.hblkhd) // 1024


def worker(cfg: dict[str, Any]) -> None:
    run = {"peer": run_peer, "vasdk": run_vasdk, "engine": run_engine}[cfg["side"].removesuffix("_ov")]
    samples: list[tuple[float, int]] = []
    heap: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample_rss() -> None:  # for --minutes: RSS and heap in use over time
        t0 = time.perf_counter()
        while not stop.wait(5.0):
            samples.append((time.perf_counter() - t0, rss_kib()["vm_rss_kib"]))
            heap.append((time.perf_counter() - t0, heap_in_use_kib()))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    r = run(cfg)
    stop.set()
    r.update(rss_kib())
    r["rss_samples"] = samples
    r["heap_samples"] = heap
    print("RESULT " + json.dumps(r), flush=True)


def measure(side: str, **cfg: Any) -> dict[str, Any]:
    cfg = {
        "side": side,
        "video": str(assets() / "vtest.avi"),
        "loop": False,
        "paced": False,
        "seconds": 0,
        "frames": 0,
        "engine": "openvino" if side.endswith("_ov") else "ort",
        "max_batch": MAX_BATCH[0],
        **cfg,
    }
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "python")}
    # A worker that has not finished long after its work should have is hung, and is tried once
    # more: OpenVINO's Python API deadlocked now and then in the OpenVINO plain app (every channel
    # thread parked in a futex inside InferRequest.infer's input copy; twice in five runs on a
    # 2-core AVX-512 EPYC).
    limit = 120 + 3 * (cfg["seconds"] or 0) + cfg["channels"] * max(cfg["frames"], 0)
    for attempt in (1, 2):
        try:
            p = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(cfg)],
                capture_output=True,
                text=True,
                env=env,
                timeout=limit,
            )
            break
        except subprocess.TimeoutExpired:
            print(f"  {side} worker hung for {limit:.0f} s (attempt {attempt}); killed", flush=True)
            if attempt == 2:
                raise
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"{side} worker failed ({p.returncode}): {p.stderr[-2000:]}")
    r = json.loads(line[len("RESULT ") :])
    lat = [v for ch in r["latency_ms"] for v in ch]
    fps = 10.0
    produced = r["wall_s"] * fps  # frames a camera produced per channel in the window
    r["fps_total"] = sum(r["frames"]) / r["wall_s"]
    r["p50_ms"], r["p99_ms"] = percentile(lat, 50), percentile(lat, 99)
    r["delivered"] = min(r["frames"]) / produced if cfg["paced"] else 1.0
    r["held"] = bool(cfg["paced"] and r["delivered"] >= HELD_DELIVERED and r["p99_ms"] <= HELD_P99_MS)
    del r["latency_ms"]
    return r


def capacity(side: str, model: str, threads: int, seconds: float, max_channels: int) -> dict[str, Any]:
    """Largest channel count held in real time (INT8, detect interval 3, paced sources)."""
    trials, best = [], None
    n = 1
    while n <= max_channels:
        r = measure(
            side, model=model, threads=threads, channels=n, interval=3, paced=True, loop=True, seconds=seconds
        )
        trials.append(
            {
                "channels": n,
                "held": r["held"],
                "delivered": r["delivered"],
                "p99_ms": r["p99_ms"],
                "p50_ms": r["p50_ms"],
                "vm_hwm_kib": r["vm_hwm_kib"],
            }
        )
        print(
            f"  {side:5s} {n:2d} ch: delivered {r['delivered']:.3f}, p99 {r['p99_ms']:.0f} ms -> "
            f"{'held' if r['held'] else 'NOT held'}",
            flush=True,
        )
        if not r["held"]:
            break
        best = trials[-1]
        n = n + 1 if n < 4 else n + 2
    return {"max_channels": best["channels"] if best else 0, "at_max": best, "trials": trials}


def machine() -> dict[str, Any]:
    import onnxruntime as ort

    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), platform.machine()
    )
    flags = set(next((ln.split(":", 1)[1].split() for ln in info if ln.startswith("flags")), []))
    return {
        "cpu": cpu,
        "isa": [
            f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_vbmi", "amx_int8") if f in flags
        ],
        "cores": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "onnxruntime": ort.__version__,
        "python": platform.python_version(),
    }


def long_run(side: str, model: str, threads: int, minutes: float) -> dict[str, Any]:
    """4 paced looping channels (INT8, every 3rd frame) for `minutes`; RSS sampled every 5 s."""
    r = measure(side, model=model, threads=threads, channels=4, interval=3, paced=True, loop=True,
                seconds=minutes * 60)
    smp, heap = r["rss_samples"], r.get("heap_samples", [])

    def growth(series: list[tuple[float, int]]) -> tuple[float, float, float | None]:
        # Median of the last quarter against the median of the first quarter after a 10 %
        # warm-up: one sample's noise does not decide it.
        v = [x for _, x in series]
        if len(v) < 8:
            return 0.0, 0.0, None
        w = len(v) // 10
        q = max(1, (len(v) - w) // 4)
        a, b = statistics.median(v[w:w + q]), statistics.median(v[-q:])
        return a, b, (b / a - 1) * 100 if a else None

    ra, rb, rg = growth(smp)
    ha, hb, hg = growth(heap)
    return {
        "minutes": minutes,
        "rss_samples": smp,
        "heap_samples": heap,
        "rss_start_kib": ra,
        "rss_end_kib": rb,
        "rss_max_kib": max(v for _, v in smp) if smp else 0,
        "growth_pct": rg,
        "heap_start_kib": ha,
        "heap_end_kib": hb,
        "heap_growth_pct": hg,
        "held": r["held"],
        "p99_ms": r["p99_ms"],
    }


MAX_BATCH = [0]  # --max-batch, handed to each worker in its config
ALL_SIDES = ("peer", "vasdk", "engine", "peer_ov", "vasdk_ov", "engine_ov")
# Targets against the OpenVINO plain app (the channel-density targets).
MIN_RATIO_OV_THROUGHPUT = 1.15
MIN_RATIO_OV_CHANNELS = 1.3


def ov_rows(sd: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Scoreboard rows of vasdk on OpenVINO against the OpenVINO plain app, when both ran."""
    if not ("peer_ov" in sd and "vasdk_ov" in sd):
        return []
    from _env import score_row

    peer = "plain Python app (OpenCV + OpenVINO throughput streams + supervision)"
    cap = f"FP32 model at OpenVINO's default precision, every 3rd frame, {args.seconds:g} s trials"
    return [
        score_row("pipeline on OpenVINO, 4 channels FP32, unpaced", "fps", sd["vasdk_ov"]["fps_4ch_fp32"],
                  sd["peer_ov"]["fps_4ch_fp32"], peer, better="higher",
                  target=("ratio", ">=", MIN_RATIO_OV_THROUGHPUT)),
        score_row("pipeline on OpenVINO, real-time channels", "channels",
                  sd["vasdk_ov"]["capacity"]["max_channels"], sd["peer_ov"]["capacity"]["max_channels"], peer,
                  better="higher", target=("ratio", ">=", MIN_RATIO_OV_CHANNELS), note=cap),
    ]


def default_sides() -> list[str]:
    """Every side; the OpenVINO ones only where the openvino package is installed."""
    import importlib.util

    has_ov = importlib.util.find_spec("openvino") is not None
    return [s for s in ALL_SIDES if has_ov or not s.endswith("_ov")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sides", default=",".join(default_sides()))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=120, help="frames per channel in throughput runs")
    ap.add_argument("--repeats", type=int, default=3, help="throughput runs per side (median)")
    ap.add_argument("--seconds", type=float, default=30, help="length of each real-time trial")
    ap.add_argument("--max-channels", type=int, default=16)
    ap.add_argument("--minutes", type=float, default=0, help="long run for RSS growth (0: skip)")
    ap.add_argument("--long-only", action="store_true",
                    help="only the --minutes run (RSS growth), e.g. into its own --out file")
    ap.add_argument("--c-sample", default=str(ROOT / "build/samples/multi_channel"),
                    help="samples/c/multi_channel binary for the C side ('' or missing: skipped)")
    ap.add_argument("--c-seconds", type=float, default=10, help="length of each C sample run")
    ap.add_argument("--int8-model", default="", help="the INT8 model of the real-time trials and the long "
                    "run (default: yolov3-tiny through `vasdk model quantize`, cached), e.g. a pruned one")
    ap.add_argument("--max-batch", type=int, default=0,
                    help="vasdk's inference.max_batch (0: the pipeline's default for its backend)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/pipeline.json"))
    args = ap.parse_args(argv)
    if args.long_only and args.minutes <= 0:
        ap.error("--long-only needs --minutes")
    unknown = set(args.sides.split(",")) - set(ALL_SIDES)
    if unknown:
        ap.error(f"--sides: unknown {sorted(unknown)} ({', '.join(ALL_SIDES)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    MAX_BATCH[0] = args.max_batch
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    sides = args.sides.split(",")
    fp32 = str(assets() / "yolov3-tiny.onnx")
    int8 = args.int8_model or (str(int8_model()) if set(sides) & {"peer", "vasdk"} else "")
    info = machine()
    print(
        f"{info['cpu']} ({' '.join(info['isa'])}), {info['cores']} cores, load {info['loadavg']}, "
        f"onnxruntime {info['onnxruntime']}"
    )
    res: dict[str, Any] = {"machine": info, "settings": vars(args) | {"worker": None}, "sides": {}}
    for side in sides:
        rt_model = fp32 if side.endswith("_ov") else int8  # OpenVINO cannot read QOperator INT8
        if args.long_only:
            res["sides"][side] = {"long_run": long_run(side, rt_model, args.threads, args.minutes)}
            g = res["sides"][side]["long_run"]
            rss = f"{g['rss_start_kib'] / 1024:.0f} -> {g['rss_end_kib'] / 1024:.0f} MiB"
            heap = f"{g['heap_start_kib'] / 1024:.0f} -> {g['heap_end_kib'] / 1024:.0f} MiB"
            print(f"  {side:6s} {args.minutes:g} min, 4 paced channels: RSS {rss} "
                  f"({g['growth_pct']:+.2f} %), malloc heap in use {heap} ({g['heap_growth_pct']:+.2f} %), "
                  f"held {g['held']}, p99 {g['p99_ms']:.0f} ms", flush=True)
            continue
        runs = [
            measure(side, model=fp32, threads=args.threads, channels=4, interval=1, frames=args.frames)
            for _ in range(args.repeats)
        ]
        s: dict[str, Any] = {
            "throughput_runs": [
                {k: r[k] for k in ("fps_total", "wall_s", "vm_hwm_kib", "ru_maxrss_kib")} for r in runs
            ]
        }
        s["fps_4ch_fp32"] = statistics.median(r["fps_total"] for r in runs)
        s["peak_rss_mib_4ch"] = statistics.median(r["vm_hwm_kib"] for r in runs) / 1024
        print(
            f"  {side:6s} 4 ch FP32 unpaced: {s['fps_4ch_fp32']:.1f} fps total, peak RSS "
            f"{s['peak_rss_mib_4ch']:.0f} MiB",
            flush=True,
        )
        if not side.startswith("engine"):
            s["capacity"] = capacity(side, rt_model, args.threads, args.seconds, args.max_channels)
            if args.minutes > 0:
                s["long_run"] = long_run(side, rt_model, args.threads, args.minutes)
        res["sides"][side] = s
    sd = res["sides"]
    ratios: dict[str, float] = {}
    if args.long_only:
        sd = {}  # nothing but the long runs, printed above
    if "peer" in sd and "vasdk" in sd:
        ratios["throughput_vasdk_over_peer"] = sd["vasdk"]["fps_4ch_fp32"] / sd["peer"]["fps_4ch_fp32"]
        ratios["rss_peer_over_vasdk"] = sd["peer"]["peak_rss_mib_4ch"] / sd["vasdk"]["peak_rss_mib_4ch"]
        cp, cv = sd["peer"]["capacity"]["max_channels"], sd["vasdk"]["capacity"]["max_channels"]
        if cp:
            ratios["channels_vasdk_over_peer"] = cv / cp
    if "peer_ov" in sd and "vasdk_ov" in sd:
        vo, po = sd["vasdk_ov"], sd["peer_ov"]
        ratios["throughput_vasdk_ov_over_peer_ov"] = vo["fps_4ch_fp32"] / po["fps_4ch_fp32"]
        ratios["rss_peer_ov_over_vasdk_ov"] = po["peak_rss_mib_4ch"] / vo["peak_rss_mib_4ch"]
        cp, cv = sd["peer_ov"]["capacity"]["max_channels"], sd["vasdk_ov"]["capacity"]["max_channels"]
        if cp:
            ratios["channels_vasdk_ov_over_peer_ov"] = cv / cp
    # The ceiling is the best backend's engine alone, measured in this run.
    ceilings = [sd[e]["fps_4ch_fp32"] for e in ("engine", "engine_ov") if e in sd]
    if ceilings:
        for side in ("peer", "vasdk", "peer_ov", "vasdk_ov"):
            if side in sd:
                ratios[f"throughput_{side}_over_best_ceiling"] = sd[side]["fps_4ch_fp32"] / max(ceilings)
    c_bin = Path(args.c_sample) if args.c_sample else None
    if c_bin is not None and c_bin.is_file() and not args.long_only:
        c = _c_sample.run(c_bin, fp32, str(assets() / "vtest.avi"), args.c_seconds, args.repeats)
        res["c_sample"] = c
        if "vasdk" in sd:
            lean = c["lean"]["peak_rss_mib"]
            ratios["rss_c_sample_over_vasdk_python"] = lean / sd["vasdk"]["peak_rss_mib_4ch"]
        for name in _c_sample.VARIANTS:
            v = c[name]
            print(f"  C sample, 4 paced channels FP32, {name}: peak RSS {v['peak_rss_mib']:.0f} MiB, "
                  f"inference {v['inference_cpu_ms_per_frame']:.0f} ms CPU per frame", flush=True)
    res["ratios"] = ratios
    res["machine"]["loadavg_end"] = list(os.getloadavg())  # other work on the machine skews results
    print("\nside    4ch FP32 fps  of ceiling  peak RSS MiB  RT channels (INT8, every 3rd)  p99 ms at max")
    print("-" * 98)
    ceil = max(ceilings) if ceilings else None
    for side, s in sd.items():
        cap = s.get("capacity", {})
        at = cap.get("at_max") or {}
        of = f"{s['fps_4ch_fp32'] / ceil:.2f}" if ceil else "-"
        print(
            f"{side:7s} {s['fps_4ch_fp32']:12.1f} {of:>11s} {s['peak_rss_mib_4ch']:13.0f} "
            f"{cap.get('max_channels', '-')!s:>29s} {at.get('p99_ms', float('nan')):14.0f}"
        )
    for k, v in ratios.items():
        print(f"  {k}: {v:.2f}")
    if "peer" in sd and "vasdk" in sd:
        # Imported here: _env loads vasdk, which the peer's worker process must not carry.
        from _env import score_row, write_scoreboard

        peer = "plain Python app (OpenCV + onnxruntime + supervision)"
        cap = f"INT8, every 3rd frame, {args.seconds:g} s trials, at most {args.max_channels}"
        res["scoreboard"] = write_scoreboard([
            score_row("pipeline 4 channels FP32, unpaced", "fps", sd["vasdk"]["fps_4ch_fp32"],
                      sd["peer"]["fps_4ch_fp32"], peer, better="higher", target=("ratio", ">=", MIN_RATIO)),
            score_row("pipeline real-time channels (10 fps cameras)", "channels",
                      sd["vasdk"]["capacity"]["max_channels"], sd["peer"]["capacity"]["max_channels"], peer,
                      better="higher", target=("ratio", ">=", MIN_RATIO), note=cap),
            score_row("pipeline peak RSS, 4 channels FP32", "MiB", sd["vasdk"]["peak_rss_mib_4ch"],
                      sd["peer"]["peak_rss_mib_4ch"], peer, better="lower",
                      target=("ratio", ">=", MIN_RATIO)),
            *ov_rows(sd, args),
        ])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
