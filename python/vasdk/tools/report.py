"""Reports of :func:`vasdk.tools.evaluate.evaluate`: markdown, JSON and a plot, side by side.

The plot needs matplotlib; without it the markdown and JSON are still written and the
markdown says that the plot was skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import write_atomic

__all__ = ["markdown", "plot_png", "write_report"]


def _fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def markdown(report: Mapping[str, Any], image: str | None = None) -> str:
    """The report as a markdown document (one table, all variants side by side)."""
    threads = [str(t) for t in report["threads"]]
    has_gt = any("map50_vs_ground_truth" in r for r in report["variants"])
    cls = report.get("classes", "all")
    cls = ", ".join(cls) if isinstance(cls, list) else str(cls)
    lines = [f"# {report['title']}: model variants", ""]
    lines.append(f"Frames: {report['frames']} ({report.get('frame_source') or 'given frames'}); "
                 f"latency: median of {report['latency_frames']} frames per variant "
                 f"(median of {report.get('latency_reps', 1)} repetitions), one detection "
                 f"(preprocess + inference + decode) through the SDK; `infer`: the model alone through "
                 f"the SDK's engine; runtime optimization "
                 f"`{report['optimization']}`. Agreement: mAP@0.5 of each variant's detections with "
                 f"`{report['reference']}`'s detections as ground truth; classes: {cls}.")
    cpu = report.get("cpu")
    if cpu:
        lines.append("")
        lines.append(f"CPU: {cpu['model']} ({cpu['arch']}, {cpu['cores']} cores, load "
                     f"{cpu['load_avg']}); features: {' '.join(cpu['features']) or '-'}; int8 "
                     f"kernels: {cpu['int8_kernels']}.")
    lines.append("")
    head = ["variant", "precision", "size MB"]
    has_inf = all("inference_ms" in r for r in report["variants"])
    head += [f"{t} thr ms" for t in threads] + [f"speedup {t} thr" for t in threads]
    if has_inf:
        head += [f"infer {t} thr ms" for t in threads] + [f"infer speedup {t} thr" for t in threads]
    head += ["mAP@0.5 vs ref", "detections"] + (["mAP@0.5 vs GT"] if has_gt else [])
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for r in report["variants"]:
        prec = r["precision"] + (f" ({r['quant_target']})" if r.get("quant_target") else "")
        cells = [f"`{r['name']}`", prec, f"{r['size_bytes'] / 1e6:.2f}"]
        cells += [_fmt_ms(r["latency_ms"].get(t)) for t in threads]
        cells += [f"{r['speedup'].get(t, float('nan')):.2f}x" for t in threads]
        if has_inf:
            cells += [_fmt_ms(r["inference_ms"].get(t)) for t in threads]
            cells += [f"{r['inference_speedup'].get(t, float('nan')):.2f}x" for t in threads]
        cells += [f"{r['map50_vs_reference']:.3f}", str(r["detections"])]
        if has_gt:
            g = r.get("map50_vs_ground_truth")
            cells.append("-" if g is None else f"{g:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for r in report["variants"][1:]:
        if r["ap50_per_class"]:
            per = ", ".join(f"{k} {v:.3f}" for k, v in r["ap50_per_class"].items())
            lines.append(f"- `{r['name']}` AP@0.5 per class: {per}")
    for r in report["variants"][1:]:
        spread = [f"{what} {t} thr {lo:.2f}-{hi:.2f}x"
                  for what, key in (("detect", "latency_speedup_range"), ("infer", "inference_speedup_range"))
                  for t, (lo, hi) in r.get(key, {}).items()]
        if spread and report.get("latency_reps", 1) > 1:
            lines.append(f"- `{r['name']}` speedup range over the repetitions: {', '.join(spread)}")
    extra = report.get("notes")
    if extra:
        lines += ["", *[f"- {n}" for n in extra]]
    lines.append("")
    if image:
        lines += [f"![latency and agreement]({image})", ""]
    elif image is not None:
        lines += ["(plot skipped: matplotlib is not installed)", ""]
    return "\n".join(lines)


def plot_png(report: Mapping[str, Any], path: str | os.PathLike[str]) -> bool:
    """Latency per thread count and agreement per variant, as a PNG; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    import numpy as np

    rows = report["variants"]
    names = [r["name"] for r in rows]
    threads = [str(t) for t in report["threads"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(len(rows))
    w = 0.8 / max(1, len(threads))
    for k, t in enumerate(threads):
        a1.bar(x + (k - (len(threads) - 1) / 2) * w, [r["latency_ms"].get(t, 0) for r in rows], w,
               label=f"{t} thread(s)")
    a1.set_xticks(x, names, rotation=30, ha="right")
    a1.set_ylabel("median latency, ms")
    a1.set_title("latency (lower is better)")
    a1.legend()
    a2.bar(x, [r["map50_vs_reference"] for r in rows], 0.6, color="tab:green")
    a2.set_xticks(x, names, rotation=30, ha="right")
    a2.set_ylim(min(0.8, *[r["map50_vs_reference"] for r in rows]) - 0.02, 1.005)
    a2.set_ylabel(f"mAP@0.5 vs {report['reference']}")
    a2.set_title("agreement (higher is better)")
    fig.suptitle(str(report["title"]))
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=80, format="png")
    plt.close(fig)
    return True


def write_report(report: Mapping[str, Any], out_dir: str | os.PathLike[str], name: str) -> list[Path]:
    """Write ``NAME.json``, ``NAME.png`` (when matplotlib is there) and ``NAME.md`` into ``out_dir``."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    png = d / f"{name}.png"
    written = []
    tmp_png = d / f".{name}.png.tmp{os.getpid()}"
    try:
        have_png = plot_png(report, tmp_png)
        items = [(d / f"{name}.json", (json.dumps(report, indent=2) + "\n").encode("utf-8")),
                 (d / f"{name}.md", markdown(report, png.name if have_png else "").encode("utf-8"))]
        if have_png:
            items.append((png, tmp_png.read_bytes()))
        write_atomic(items)
        written = [p for p, _ in items]
    finally:
        tmp_png.unlink(missing_ok=True)
    return written
