"""Where a benchmark ran: the record every results JSON carries, and the rules for writing one.

Every benchmark calls ``environment()`` just before its timed part and stores the result under
``"environment"``. It holds the CPU model and the flags that pick kernels (AVX2, AVX-512 VBMI,
VNNI, NEON), the load average and the share of CPU time other processes used over a short
sample, and the versions of vasdk, ONNX Runtime, OpenCV and numpy. A number read apart from
this is not worth much on a shared 2-core machine.

``write_results`` writes one run to one file. A run whose settings differ from the
benchmark's defaults goes to a file named after the difference, so runs with different
settings never share a file.

``score_row`` and ``write_scoreboard`` are the scoreboard's row protocol (see
benchmarks/run_all.py): a script states its targets where it measures, builds its rows with
``score_row`` and hands them to ``write_scoreboard``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from argparse import ArgumentParser
from importlib import metadata
from pathlib import Path
from typing import Any

from vasdk.tools.cpuinfo import cpu_info

__all__ = [
    "BUSY_LIMIT",
    "SCOREBOARD_ENV",
    "cpu_busy_share",
    "environment",
    "results_path",
    "score_row",
    "thread_counts",
    "write_results",
    "write_scoreboard",
]

# Above this share of CPU time used by other processes before a run, timings are not trusted.
BUSY_LIMIT = 0.10

# Flags as /proc/cpuinfo spells them, and the name a reader looks for.
_FLAGS = {
    "avx2": "avx2",
    "fma": "fma",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512vbmi": "avx512_vbmi",
    "avx512_vnni": "avx512_vnni",
    "avx_vnni": "avx_vnni",
    "avx512_bf16": "avx512_bf16",
    "amx_bf16": "amx_bf16",
    "amx_int8": "amx_int8",
    "asimd": "neon",
    "asimddp": "neon_dotprod",
}


def _proc_stat() -> tuple[int, int] | None:
    """(busy, total) jiffies summed over all CPUs, or None where /proc/stat is missing."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    except OSError:
        return None
    v = [int(x) for x in fields]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already counted in user
    return total - idle, total


def cpu_busy_share(seconds: float = 1.0) -> float | None:
    """Share (0..1) of all CPUs' time that was busy over `seconds`, sampled now.

    Called before a run, while the benchmark itself sleeps, this is what other processes used.
    """
    a = _proc_stat()
    time.sleep(seconds)
    b = _proc_stat()
    if a is None or b is None or b[1] == a[1]:
        return None
    return round((b[0] - a[0]) / (b[1] - a[1]), 3)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _flags() -> dict[str, bool]:
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("flags", "features"):
                flags = set(value.split())
                break
    except OSError:
        pass
    out = {name: src in flags for src, name in _FLAGS.items()}
    if platform.machine() in ("aarch64", "arm64"):
        out["neon"] = True  # Advanced SIMD is mandatory on AArch64
    return out


def environment(*, kernels: str | None = None, busy_seconds: float = 1.0) -> dict[str, Any]:
    """The record of where and how a run happened; `kernels` names the kernel set that ran."""
    busy = cpu_busy_share(busy_seconds)
    info = cpu_info()
    try:
        import vasdk

        vasdk_version: str | None = getattr(vasdk, "__version__", None) or _version("vasdk")
    except ImportError:
        vasdk_version = None
    versions = {
        "vasdk": vasdk_version,
        "onnxruntime": _version("onnxruntime"),
        "opencv": _version("opencv-python-headless") or _version("opencv-python"),
        "numpy": _version("numpy"),
        "python": platform.python_version(),
    }
    return {
        "cpu_model": info["model"],
        "arch": info["arch"],
        "cores": info["cores"],
        "cpu_flags": _flags(),
        "kernels": kernels,
        "load_avg_before": info["load_avg"],
        "cpu_busy_share_before": busy,
        "busy_sample_s": busy_seconds,
        "busy": busy is not None and busy > BUSY_LIMIT,
        "versions": versions,
        "threads_env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "platform": platform.platform(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def results_path(default: Path, settings: dict[str, Any], defaults: dict[str, Any]) -> Path:
    """`default` when every setting equals its default, else a name that spells the changes
    (``preprocess--reps3-iters5.json``), so one file never holds runs of different settings."""
    diff = [f"{k}{settings[k]}" for k in sorted(settings) if settings[k] != defaults.get(k)]
    if not diff:
        return default
    tag = "-".join(str(d).replace("/", "_").replace(",", "_").replace(" ", "") for d in diff)
    return default.with_name(f"{default.stem}--{tag}{default.suffix}")


def write_results(path: Path, result: dict[str, Any]) -> Path:
    """Writes one run's results (never appended to an earlier run's file)."""
    if "environment" not in result or "settings" not in result:
        raise ValueError("results need 'environment' and 'settings'")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# ---- the scoreboard row protocol (benchmarks/run_all.py) ----------------------------------

# run_all.py names the file a script writes its rows to in this variable.
SCOREBOARD_ENV = "VASDK_SCOREBOARD"
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}


def score_row(
    measure: str,
    unit: str,
    vasdk: float | None,
    peer: float | None,
    peer_name: str | None,
    *,
    better: str,
    target: tuple[str, str, float],
    note: str | None = None,
) -> dict[str, Any]:
    """One scoreboard row. `better` is "higher" or "lower" (for `vasdk` and `peer`); the ratio
    is always oriented so that above 1 means vasdk is better (vasdk / peer when higher is
    better, peer / vasdk when lower is). `target` is (what, op, value): what is "ratio" or
    "vasdk", op one of >=, <=, ==; `met` is that comparison (false when the value is missing)."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', not {better!r}")
    what, op, value = target
    if what not in ("ratio", "vasdk") or op not in _OPS:
        raise ValueError(f"bad target {target!r}")
    ratio: float | None = None
    if vasdk is not None and peer is not None:
        num, den = (vasdk, peer) if better == "higher" else (peer, vasdk)
        ratio = float(num) / float(den) if den else None
    got = ratio if what == "ratio" else vasdk
    met = bool(got is not None and _OPS[op](float(got), value))
    return {
        "measure": measure,
        "unit": unit,
        "vasdk": None if vasdk is None else float(vasdk),
        "peer": None if peer is None else float(peer),
        "peer_name": peer_name,
        "ratio": ratio,
        "better": better,
        "target": f"{what} {op} {value:g}",
        "met": met,
        "note": note,
    }


def write_scoreboard(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Writes `rows` where run_all.py asked (the file named by $VASDK_SCOREBOARD), and returns
    them so the script can keep them in its own results JSON too. Without the variable (a
    script run by hand) it only prints them."""
    for r in rows:
        missing = {"measure", "unit", "vasdk", "peer", "peer_name", "ratio", "target", "met"} - set(r)
        if missing:
            raise ValueError(f"scoreboard row {r.get('measure')!r} lacks {sorted(missing)}")
    path = os.environ.get(SCOREBOARD_ENV)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(rows, indent=2) + "\n")
    print("\nscoreboard:")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"  {r['measure']}: vasdk {r['vasdk']} {r['unit']}, {r['peer_name'] or '-'} {r['peer']}, "
              f"ratio {ratio}, target {r['target']}: {'met' if r['met'] else 'MISSED'}")
    return rows


def thread_counts(parser: ArgumentParser, text: str) -> tuple[int, ...]:
    """``--threads 1,2`` as a tuple; 1 must be there, since scoreboard rows are 1-thread figures."""
    try:
        counts = tuple(int(v) for v in text.split(","))
    except ValueError:
        parser.error(f"--threads: comma-separated integers, not {text!r}")
    if 1 not in counts:
        parser.error("--threads must include 1: the scoreboard's rows are the 1-thread figures")
    return counts
