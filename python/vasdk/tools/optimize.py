"""Offline graph optimization with ONNX Runtime, saved to a new ONNX file.

ONNX Runtime's ``extended`` level does constant folding, conv + batch-norm (+ activation)
fusion, identity and dropout removal, and (for QDQ models) fuses quantize/dequantize pairs
into QLinear operators. The ``all`` level is refused on purpose: it writes NCHWc layouts that
are specific to the CPU the file was written on.

Usage::

    python -m vasdk.tools.optimize model.onnx model.opt.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from . import write_atomic
from .cards import card_text
from .onnxutil import ModelToolError, file_size, load_model, op_counts, ort_session, staging_dir

__all__ = ["LEVELS", "OptimizeResult", "main", "measure_latency", "optimize_model"]

LEVELS = ("basic", "extended")


@dataclass
class OptimizeResult:
    """Node counts by op type, sizes and latencies of a model before and after optimization."""

    src: Path
    dst: Path
    level: str
    ops_before: dict[str, int]
    ops_after: dict[str, int]
    size_before: int
    size_after: int
    latency_ms_before: float | None = None
    latency_ms_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nodes_before(self) -> int:
        return sum(self.ops_before.values())

    @property
    def nodes_after(self) -> int:
        return sum(self.ops_after.values())

    def table(self) -> str:
        """A side-by-side text table of op counts, sizes and latency."""
        ops = list(dict.fromkeys([*self.ops_before, *self.ops_after]))
        rows = [("op", "before", "after")]
        rows += [(o, str(self.ops_before.get(o, 0)), str(self.ops_after.get(o, 0))) for o in ops]
        rows.append(("(nodes)", str(self.nodes_before), str(self.nodes_after)))
        rows.append(("(MB)", f"{self.size_before / 1e6:.2f}", f"{self.size_after / 1e6:.2f}"))
        if self.latency_ms_before is not None and self.latency_ms_after is not None:
            rows.append(("(ms, median)", f"{self.latency_ms_before:.1f}", f"{self.latency_ms_after:.1f}"))
        w = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}" for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)


def _input_feed(session: Any, shape_hint: dict[str, int]) -> dict[str, np.ndarray]:
    feeds = {}
    for i in session.get_inputs():
        dims = []
        for k, d in enumerate(i.shape):
            if isinstance(d, int) and d > 0:
                dims.append(d)
            else:
                dims.append({0: 1, 1: 3, 2: shape_hint.get("height", 480),
                             3: shape_hint.get("width", 640)}.get(k, 1))
        if "float" not in i.type:
            raise ModelToolError(f"input '{i.name}' is {i.type}; latency needs a float input")
        feeds[i.name] = np.random.default_rng(0).random(dims, dtype=np.float32)
    return feeds


def measure_latency(model: str | os.PathLike[str], *, threads: int = 1, repeats: int = 10,
                    runtime_level: str = "none", width: int = 640, height: int = 480) -> float:
    """Median latency (ms) of one run on random input, ONNX Runtime CPU.

    ``runtime_level`` defaults to ``none`` so the graph is timed as written; at ``all`` the
    runtime redoes the same fusions and both files time alike.
    """
    sess = ort_session(model, threads=threads, level=runtime_level)
    feeds = _input_feed(sess, {"width": width, "height": height})
    sess.run(None, feeds)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def optimize_model(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, level: str = "extended",
                   latency: bool = False, threads: int = 1, repeats: int = 10) -> OptimizeResult:
    """Write ``src`` optimized at ``level`` to ``dst``, and a copy of its card when it has one.

    Raises ModelToolError on bad input and then writes nothing.
    """
    if level not in LEVELS:
        raise ModelToolError(f"optimization level must be one of {', '.join(LEVELS)} "
                             f"(never 'all': it writes hardware-specific NCHWc), got {level!r}")
    src, dst = Path(src), Path(dst)
    before = load_model(src)
    card = src.with_suffix(".json")
    with staging_dir(dst) as work:
        out = work / "opt.onnx"
        ort_session(str(src), level=level, optimized_path=out, what=src.name)
        after = onnx.load(str(out))
        res = OptimizeResult(src, dst, level, op_counts(before), op_counts(after), file_size(src),
                             out.stat().st_size)
        if latency:
            size = {}
            if card.is_file():
                spec = json.loads(card.read_text(encoding="utf-8")).get("input", {})
                size = {"width": int(spec.get("width", 640)), "height": int(spec.get("height", 480))}
            res.latency_ms_before = measure_latency(src, threads=threads, repeats=repeats, **size)
            res.latency_ms_after = measure_latency(out, threads=threads, repeats=repeats, **size)
        items = [(dst, out.read_bytes())]
        if card.is_file() and dst.suffix == ".onnx":
            doc = json.loads(card.read_text(encoding="utf-8"))
            doc["model"] = dst.name
            items.append((dst.with_suffix(".json"), card_text(doc).encode("utf-8")))
        write_atomic(items)
    return res


def main(argv: Sequence[str] | None = None, prog: str = "python -m vasdk.tools.optimize") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Offline ONNX Runtime graph optimization.")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--level", choices=LEVELS, default="extended", help="default extended")
    p.add_argument("--no-latency", action="store_true", help="skip the before/after timing")
    p.add_argument("--threads", type=int, default=1, help="threads for the timing (default 1)")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per model (default 10)")
    args = p.parse_args(argv)
    try:
        res = optimize_model(args.src, args.dst, level=args.level, latency=not args.no_latency,
                             threads=args.threads, repeats=args.repeats)
    except ModelToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {res.dst} (ONNX Runtime level {res.level})")
    if res.latency_ms_before is not None:
        print(f"latency: ONNX Runtime CPU, {args.threads} thread(s), runtime optimizations off, "
              f"median of {args.repeats}")
    print(res.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
