"""benchmarks/_env.py: what every results file records, and that runs with other settings
never land in the default file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _env


def test_environment_names_the_cpu_its_flags_load_and_versions() -> None:
    env = _env.environment(kernels="avx2", busy_seconds=0.05)
    assert env["cpu_model"] and env["cores"] >= 1 and env["kernels"] == "avx2"
    assert set(env["cpu_flags"]) >= {"avx2", "avx512_vbmi", "avx512_vnni", "neon"}
    busy = env["cpu_busy_share_before"]
    assert busy is None or 0.0 <= busy <= 1.0
    assert env["busy"] == (busy is not None and busy > _env.BUSY_LIMIT)
    assert len(env["load_avg_before"]) == 3
    import numpy as np

    assert env["versions"]["numpy"] == np.__version__
    assert env["versions"]["vasdk"] and env["versions"]["onnxruntime"]


def test_other_settings_get_their_own_file(tmp_path: Path) -> None:
    default = tmp_path / "preprocess.json"
    d = {"reps": 7, "iters": 15}
    assert _env.results_path(default, dict(d), d) == default
    other = _env.results_path(default, {"reps": 3, "iters": 15}, d)
    assert other != default and other.name == "preprocess--reps3.json"
    assert _env.results_path(default, {"reps": 3, "iters": 5}, d).name == "preprocess--iters5-reps3.json"


def test_write_results_needs_environment_and_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="environment"):
        _env.write_results(tmp_path / "x.json", {"settings": {}})
    p = _env.write_results(tmp_path / "x.json", {"settings": {"a": 1}, "environment": {"b": 2}})
    p = _env.write_results(p, {"settings": {"a": 2}, "environment": {"b": 2}})
    assert json.loads(p.read_text()) == {"settings": {"a": 2}, "environment": {"b": 2}}  # not merged
