"""The C sample as a bench_pipeline.py side: samples/c/multi_channel with 4 file channels,
paced like cameras, in its own process, so its peak RSS is vasdk's without Python.

The sample prints its memory and CPU at exit; this module runs it and reads those lines. It runs
twice per repeat: with the sample's lean defaults (batches of one frame, NV12 frames, one malloc
arena) and with the pipeline's and glibc's defaults (-b 0 -f bgr24 -a 0), so the two can be told
apart in one run."""

from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

VARIANTS = {"lean": [], "pipeline_defaults": ["-b", "0", "-f", "bgr24", "-a", "0"]}
MEMORY = re.compile(
    r"^memory: ([\d.]+) MiB before the pipeline, ([\d.]+) MiB once created.*?peak ([\d.]+) MiB"
)
CPU = re.compile(r"^cpu ms per frame over (\d+) frames:.* inference ([\d.]+) .*process ([\d.]+)")


def parse(stdout: str) -> dict[str, float]:
    """The sample's exit report as numbers; raises when a line is missing (a failed run)."""
    mem = next((m for m in map(MEMORY.match, stdout.splitlines()) if m), None)
    cpu = next((m for m in map(CPU.match, stdout.splitlines()) if m), None)
    if mem is None or cpu is None:
        raise RuntimeError(f"multi_channel printed no memory/cpu report:\n{stdout[-2000:]}")
    return {
        "rss_before_mib": float(mem.group(1)),
        "rss_created_mib": float(mem.group(2)),
        "peak_rss_mib": float(mem.group(3)),
        "frames": int(cpu.group(1)),
        "inference_cpu_ms_per_frame": float(cpu.group(2)),
        "process_cpu_ms_per_frame": float(cpu.group(3)),
    }


def run(binary: Path, model: str, video: str, seconds: float, repeats: int) -> dict[str, Any]:
    """Median peak RSS of each variant over `repeats` runs of 4 channels for `seconds`."""
    out: dict[str, Any] = {"binary": str(binary), "channels": 4, "seconds": seconds}
    for name, flags in VARIANTS.items():
        runs = []
        for _ in range(repeats):
            p = subprocess.run(
                [str(binary), model, "-t", str(seconds), *flags, *[video] * 4],
                capture_output=True,
                text=True,
                timeout=seconds * 20 + 300,
            )
            if p.returncode != 0:
                why = f"exited {p.returncode}: {p.stderr[-2000:]}"
                raise RuntimeError(f"multi_channel {' '.join(flags)} {why}")
            runs.append(parse(p.stdout))
        out[name] = {
            "flags": flags,
            "runs": runs,
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "inference_cpu_ms_per_frame": statistics.median(r["inference_cpu_ms_per_frame"] for r in runs),
        }
    return out
