"""The README's performance block is what benchmarks/readme_table.py makes of the committed
benchmarks/results/summary.json, and that summary is what benchmarks/run_all.py writes."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import readme_table  # noqa: E402
import run_all  # noqa: E402
from _env import score_row  # noqa: E402

ROW_KEYS = {"script", "measure", "unit", "vasdk", "peer", "peer_name", "ratio", "target", "met"}


def summary() -> dict[str, Any]:
    return json.loads((ROOT / "benchmarks" / "results" / "summary.json").read_text())


def test_readme_block_matches_the_committed_summary() -> None:
    have = readme_table.block((ROOT / "README.md").read_text())
    assert have is not None, "README.md lost its performance markers"
    assert have == readme_table.render(summary()), (
        "README.md's performance block is not what benchmarks/readme_table.py makes of "
        "benchmarks/results/summary.json: run the script instead of editing the block by hand"
    )


def test_summary_rows_come_from_scripts_that_state_their_targets() -> None:
    s = summary()
    assert s["mode"] in ("quick", "full")
    for key in ("cpu_model", "cpu_flags", "kernels", "cores", "load_avg_before", "versions", "time_utc"):
        assert key in s["machine"], key
    on, _ = run_all.discover()
    assert s["rows"], "an empty scoreboard"
    measures = [r["measure"] for r in s["rows"]]
    assert len(set(measures)) == len(measures), "two rows measure the same thing under one name"
    for r in s["rows"]:
        assert set(r) >= ROW_KEYS, r
        assert r["script"] in on, f"{r['measure']}: {r['script']} is not a scoreboard script"
        if r.get("error"):
            assert r["met"] is None
            continue
        assert isinstance(r["met"], bool), r
        assert r["target"], r
        if r["ratio"] is not None:  # the ratio is the one the values give, oriented for vasdk
            num, den = (r["vasdk"], r["peer"]) if r["better"] == "higher" else (r["peer"], r["vasdk"])
            assert r["ratio"] == pytest.approx(num / den, rel=1e-3), r
        # met is the stated target applied to the stated values
        what, op, value = r["target"].split()
        got = r["ratio"] if what == "ratio" else r["vasdk"]
        want = {">=": got is not None and got >= float(value), "<=": got is not None and got <= float(value),
                "==": got is not None and got == float(value)}[op]
        assert r["met"] == want, r
    # Every script the run names gave rows (or error rows); a script that joins the scoreboard
    # later shows up at the next run_all.py, not as a failure here.
    assert set(s["scripts"]) == {r["script"] for r in s["rows"]}


def test_score_row_orients_the_ratio_and_applies_the_target() -> None:
    fast = score_row("m", "ms", 2.0, 3.0, "p", better="lower", target=("ratio", ">=", 1.5))
    assert fast["ratio"] == pytest.approx(1.5) and fast["met"]
    slow = score_row("m", "fps", 2.0, 3.0, "p", better="higher", target=("ratio", ">=", 1))
    assert slow["ratio"] == pytest.approx(2 / 3) and not slow["met"]
    absolute = score_row("m", "x", 0.5, None, None, better="higher", target=("vasdk", "<=", 0.4))
    assert absolute["ratio"] is None and not absolute["met"]
    with pytest.raises(ValueError):
        score_row("m", "x", 1, 1, "p", better="faster", target=("ratio", ">=", 1))


def test_run_all_reports_misses_as_rows_and_failures_as_errors(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "_env.py").write_text((ROOT / "benchmarks" / "_env.py").read_text())
    (bench / "bench_missed.py").write_text(textwrap.dedent("""
        import sys
        from _env import score_row, write_scoreboard
        SCOREBOARD = {"full": ["--value", "2"], "quick": ["--value", "1"], "out": []}
        v = float(sys.argv[sys.argv.index("--value") + 1])
        write_scoreboard([score_row("missed", "ms", v, 1.5, "peer", better="lower",
                                    target=("ratio", ">=", 1))])
    """))
    (bench / "bench_broken.py").write_text(textwrap.dedent("""
        SCOREBOARD = {"full": [], "quick": [], "out": []}
        raise SystemExit("cannot measure")
    """))
    (bench / "study.py").write_text("print('not on the scoreboard')\n")
    monkeypatch.setattr(run_all, "BENCH", bench)
    monkeypatch.setenv("PYTHONPATH", str(bench))
    out = tmp_path / "summary.json"
    rc = run_all.main(["--quick", "--summary", str(out), "--work", str(tmp_path / "work")])
    s = json.loads(out.read_text())
    assert rc == 1  # because a script failed, not because a target was missed
    rows = {r["script"]: r for r in s["rows"]}
    assert rows["missed"]["vasdk"] == 1.0  # the quick arguments were used
    assert rows["missed"]["met"] is True
    assert rows["broken"]["error"].startswith("exit 1") and rows["broken"]["met"] is None
    assert s["mode"] == "quick" and "study.py" in s["not_on_scoreboard"]
    assert run_all.main(["--only", "missed", "--summary", str(out), "--work", str(tmp_path / "work")]) == 0
    s = json.loads(out.read_text())
    assert s["mode"] == "full" and [r["met"] for r in s["rows"]] == [False]


def load_script(path: Path) -> ModuleType:
    """A benchmark script imported as a module (its main() does not run); the sys.path entries
    it adds for itself are taken back."""
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(f"_scoreboard_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path[:] = saved
    return mod


@pytest.fixture(scope="module")
def scoreboard_scripts() -> dict[str, tuple[ModuleType, dict[str, Any]]]:
    on, _ = run_all.discover()
    broken = {n: spec["broken"] for n, (_, spec) in on.items() if "broken" in spec}
    assert not broken, broken
    return {name: (load_script(path), spec) for name, (path, spec) in on.items()}


def test_every_scoreboard_script_accepts_its_quick_and_full_arguments(
        scoreboard_scripts: dict[str, tuple[ModuleType, dict[str, Any]]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """run_all.py passes SCOREBOARD's arguments blind: a quick argument the script's parser
    rejects (renamed, misspelt, out of range) would only show as error rows after minutes of
    benchmarks. Each script's parse_args(argv), which main() calls, checks them here without
    measuring anything."""
    assert {"engine", "openvino", "pipeline", "quantize"} <= set(scoreboard_scripts)
    for name, (mod, spec) in scoreboard_scripts.items():
        assert callable(getattr(mod, "parse_args", None)), f"{name}: no parse_args(argv) to check"
        out = [a.replace("{dir}", str(tmp_path)) for a in spec.get("out", [])]
        for mode in ("full", "quick"):
            argv = [*spec[mode], *out]
            try:
                mod.parse_args(argv)
            except SystemExit as e:
                pytest.fail(f"bench_{name}.py rejects its {mode} arguments {argv} (exit {e.code}): "
                            f"{capsys.readouterr().err.strip()}")
        # The check can fail: the same parser refuses an option it does not have.
        with pytest.raises(SystemExit):
            mod.parse_args(["--no-such-option", *out])
        capsys.readouterr()


def test_openvino_rows_are_errors_with_one_line_reason_without_the_wheel(
        scoreboard_scripts: dict[str, tuple[ModuleType, dict[str, Any]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mod, spec = scoreboard_scripts["openvino"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(SystemExit) as e:
        mod.main([*spec["quick"], "--out", str(tmp_path / "openvino.json")])
    # run_all takes the last line of the log as the reason of the script's error rows.
    assert isinstance(e.value.code, str) and "openvino is not installed" in e.value.code
    assert "\n" not in e.value.code
    assert not list(tmp_path.iterdir())


def test_quantized_model_cache_key_covers_the_inputs(tmp_path: Path) -> None:
    """Quick runs reuse INT8 models (benchmarks/_quantcache.py); anything the quantized bytes
    depend on must change the key, or a quick run would time a stale model."""
    import numpy as np
    from _quantcache import cache_key

    from vasdk.tools.quantize import QuantizeConfig

    src = tmp_path / "m.onnx"
    src.write_bytes(b"model")
    (tmp_path / "m.json").write_text("{}")
    frames = [np.zeros((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8)]
    key = cache_key(src, tmp_path / "q.onnx", frames, QuantizeConfig())
    assert key == cache_key(src, tmp_path / "q.onnx", [f.copy() for f in frames], QuantizeConfig())
    other_frames = [frames[0], np.full((4, 4, 3), 2, np.uint8)]
    assert key != cache_key(src, tmp_path / "q.onnx", other_frames, QuantizeConfig())
    assert key != cache_key(src, tmp_path / "q.onnx", frames, QuantizeConfig(target="vnni"))
    assert key != cache_key(src, tmp_path / "r.onnx", frames, QuantizeConfig())
    (tmp_path / "m.json").write_text('{"classes": []}')
    assert key != cache_key(src, tmp_path / "q.onnx", frames, QuantizeConfig())
