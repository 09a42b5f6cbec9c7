"""Runs every benchmark on the scoreboard and writes one table: benchmarks/results/summary.json.

    OPENBLAS_NUM_THREADS=1 VASDK_ASSETS=$PWD/.cache/assets .venv/bin/python benchmarks/run_all.py \\
        [--quick] [--only engine,tracker,...] [--summary PATH]

For each script it prints one row per measure: vasdk's value, the best peer's (named), the ratio
(oriented so that above 1 favours vasdk), the target and whether it was met. The summary holds
a ``machine`` block (CPU model and flags, the kernel set vasdk's preprocessing picked, core
count, load average and CPU-busy share before the run, library versions: benchmarks/_env.py's
``environment()``), the load after the run, the mode (``full`` or ``quick``), each script's
arguments, exit status and time, and the ``rows``. A missed target is a row with ``met``
false, never an error: the exit status is non-zero only when a script failed, which makes its
rows ``error`` with the reason while the other scripts still run.

``--quick`` gives every script the arguments it states for a quick run (fewer repetitions,
fewer frames, shorter pipeline trials, INT8 models reused from an earlier run that quantized
them from the same inputs: benchmarks/_quantcache.py): the same rows in a few minutes,
noisier. Each script's
own results JSON goes under .cache/run_all/<mode>/ (never over the curated files in
benchmarks/results/), with its log next to it.

The row protocol: how a benchmark joins the scoreboard
------------------------------------------------------
A script ``benchmarks/<name>.py`` is on the scoreboard when it defines, at module level, a
literal (this script reads it with ``ast``, without importing the benchmark)::

    SCOREBOARD = {"full": [...], "quick": [...], "out": ["--out", "{dir}/<name>.json"]}

``full`` and ``quick`` are its command-line arguments for each mode; ``out`` are arguments
added to both, where ``{dir}`` becomes the directory this run keeps results in. When it has
measured, the script builds its rows with ``_env.score_row(measure, unit, vasdk, peer,
peer_name, better="higher"|"lower", target=("ratio"|"vasdk", ">="|"<="|"==", value))`` and
passes the list to ``_env.write_scoreboard(rows)``, which writes them as JSON to the file
named by the environment variable ``VASDK_SCOREBOARD`` (run_all sets it) and returns them for
the script's own results JSON. Targets live in the script that measures them, as constants
next to ``SCOREBOARD``; run_all states none. Each script parses its command line in a
module-level ``parse_args(argv)`` that its ``main`` calls, so a test
(tests/python/test_readme_performance.py) checks that both argument lists parse, without
measuring anything. A script must exit 0 and write its rows; anything else (a non-zero exit,
a timeout, no rows file) makes its rows errors. Scripts in benchmarks/
without ``SCOREBOARD`` (tuning and study scripts) are listed in the summary as not on it.

The README's performance section is generated from the summary by benchmarks/readme_table.py.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SUMMARY = BENCH / "results" / "summary.json"
NOT_SCRIPTS = {"run_all.py", "readme_table.py"}
# A quick run must finish in minutes; no single script may take more than this in it.
QUICK_TIMEOUT_S = 600
FULL_TIMEOUT_S = 6 * 3600

sys.path.insert(0, str(BENCH))
from _env import SCOREBOARD_ENV, environment  # noqa: E402
from readme_table import num as fmt  # noqa: E402  (one number format for both tables)


def scoreboard_spec(path: Path) -> dict[str, Any] | None:
    """The script's SCOREBOARD literal, or None when it has none."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SCOREBOARD"
                                                for t in node.targets):
            spec = ast.literal_eval(node.value)
            if not isinstance(spec, dict) or not {"full", "quick"} <= set(spec):
                raise ValueError(f"{path.name}: SCOREBOARD needs 'full' and 'quick' argument lists")
            return spec
    return None


def script_name(path: Path) -> str:
    return path.stem.removeprefix("bench_")


def discover() -> tuple[dict[str, tuple[Path, dict[str, Any]]], dict[str, str]]:
    """(scripts on the scoreboard by name, the others with the reason they are not)."""
    on: dict[str, tuple[Path, dict[str, Any]]] = {}
    off: dict[str, str] = {}
    for path in sorted(BENCH.glob("*.py")):
        if path.name.startswith("_") or path.name in NOT_SCRIPTS:
            continue
        try:
            spec = scoreboard_spec(path)
        except (SyntaxError, ValueError) as e:  # on the scoreboard, but broken: its rows are errors
            on[script_name(path)] = (path, {"broken": f"unreadable SCOREBOARD (a literal is required): {e}"})
            continue
        if spec is None:
            off[path.name] = "defines no SCOREBOARD (not on the scoreboard)"
        else:
            on[script_name(path)] = (path, spec)
    return on, off


def previous_rows(summary: Path) -> dict[str, list[dict[str, Any]]]:
    """Rows of the last summary by script: the names an error row takes when a script fails."""
    try:
        rows = json.loads(summary.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.get("script", ""), []).append(r)
    return out


def error_rows(name: str, reason: str, before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    measures = [(r["measure"], r.get("unit"), r.get("target")) for r in before]
    measures = measures or [(f"{name} (all rows)", None, None)]
    return [{"script": name, "measure": m, "unit": u, "vasdk": None, "peer": None, "peer_name": None,
             "ratio": None, "target": t, "met": None, "error": reason} for m, u, t in measures]


def run_script(name: str, path: Path, spec: dict[str, Any], mode: str, work: Path,
               before: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if "broken" in spec:
        print(f"== {name}: {spec['broken']}", flush=True)
        return {"script": path.name, "error": spec["broken"]}, error_rows(name, spec["broken"], before)
    rows_file = work / f"{name}.rows.json"
    rows_file.unlink(missing_ok=True)
    args = [*spec[mode], *(a.replace("{dir}", str(work)) for a in spec.get("out", []))]
    env = {**os.environ, SCOREBOARD_ENV: str(rows_file)}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    log = work / f"{name}.log"
    t0 = time.perf_counter()
    timeout = QUICK_TIMEOUT_S if mode == "quick" else FULL_TIMEOUT_S
    print(f"== {name}: {path.name} {' '.join(args)}", flush=True)
    with log.open("w") as fh:
        try:
            rc: int | None = subprocess.run([sys.executable, str(path), *args], stdout=fh,
                                            stderr=subprocess.STDOUT, env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = None
    seconds = round(time.perf_counter() - t0, 1)
    info: dict[str, Any] = {"script": path.name, "args": args, "exit": rc, "seconds": seconds,
                            "log": str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log)}
    reason = None
    if rc is None:
        reason = f"timed out after {timeout} s"
    elif rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        reason = f"exit {rc}: {tail[0][:300]}"
    elif not rows_file.exists():
        reason = "exited 0 but wrote no scoreboard rows"
    if reason:
        info["error"] = reason
        print(f"   {name} FAILED ({reason}); log {log}", flush=True)
        return info, error_rows(name, reason, before)
    rows = [{"script": name, **r} for r in json.loads(rows_file.read_text())]
    info["rows"] = len(rows)
    print(f"   {name}: {len(rows)} rows in {seconds} s", flush=True)
    return info, rows


def verdict(r: dict[str, Any]) -> str:
    if r.get("error"):
        return "ERROR"
    return "met" if r["met"] else "missed"


def print_table(rows: list[dict[str, Any]]) -> None:
    hdr = (f"{'measure':66} {'unit':>9} {'vasdk':>8} {'peer':>8} {'ratio':>7} {'target':>14} {'':>7}"
           "  best peer")
    print(hdr)
    print("-" * (len(hdr) + 30))
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"{r['measure'][:66]:66} {(r['unit'] or '-')[:9]:>9} {fmt(r['vasdk']):>8} {fmt(r['peer']):>8} "
              f"{ratio:>7} {(r['target'] or '-'):>14} {verdict(r):>7}  {r['peer_name'] or '-'}")
        if r.get("error"):
            print(f"{'':4}error: {r['error']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each script's quick arguments (minutes, noisier)")
    ap.add_argument("--only", default="", help="comma-separated script names (engine, tracker, ...)")
    ap.add_argument("--summary", type=Path, default=SUMMARY, help=f"where to write the summary ({SUMMARY})")
    ap.add_argument("--work", type=Path, help="results and logs of the scripts (.cache/run_all/<mode>)")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    on, off = discover()
    only = [n.strip().removeprefix("bench_").removesuffix(".py") for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in on]
    if unknown:
        ap.error(f"not on the scoreboard: {unknown}; scripts on it: {sorted(on)}")
    picked = {n: on[n] for n in (only or on)}
    work = args.work or ROOT / ".cache" / "run_all" / mode
    work.mkdir(parents=True, exist_ok=True)
    before = previous_rows(args.summary)

    from vasdk.preprocess import Preprocessor

    machine = environment(kernels=f"preprocess {Preprocessor(64, 64).impl}; onnxruntime CPU (MLAS)")
    print(f"{mode} run of {', '.join(picked)} on {machine['cpu_model']} ({machine['cores']} cores), load "
          f"{machine['load_avg_before']}, CPU busy before {machine['cpu_busy_share_before']}", flush=True)
    t0 = time.perf_counter()
    scripts: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name, (path, spec) in picked.items():
        info, got = run_script(name, path, spec, mode, work, before.get(name, []))
        scripts[name] = info
        rows += got
    summary = {
        "mode": mode,
        "only": only or None,
        "started_utc": machine["time_utc"],
        "wall_s": round(time.perf_counter() - t0, 1),
        "machine": machine,
        "load_avg_after": list(os.getloadavg()),
        "scripts": scripts,
        "not_on_scoreboard": off,
        "rows": rows,
    }
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    print()
    print_table(rows)
    errors = sum(1 for r in rows if r.get("error"))
    missed = sum(1 for r in rows if not r.get("error") and not r["met"])
    print(f"\n{len(rows)} rows: {len(rows) - errors - missed} met, {missed} missed, {errors} errors; "
          f"{summary['wall_s']} s; load before {machine['load_avg_before']}, after "
          f"{[round(v, 2) for v in summary['load_avg_after']]}; wrote {args.summary}")
    for name, why in off.items():
        print(f"  not on the scoreboard: {name}: {why}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
