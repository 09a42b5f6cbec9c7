"""`vasdk model search`: the Pareto front keeps exactly the undominated plans, and one greedy
step on yolov3-tiny prunes one notch of one layer, measures it, and reports no plan for a budget
nothing reaches."""

from __future__ import annotations

import json
from pathlib import Path

from vasdk.cli import main as cli_main
from vasdk.tools.calibrate import read_frames
from vasdk.tools.search import Point, pareto, search


def test_pareto_front() -> None:
    pts = [Point({}, 100, 0.9), Point({}, 80, 0.95), Point({}, 90, 0.8), Point({}, 60, 0.5),
           Point({}, 80, 0.7)]
    assert [(p.latency_ms, p.agreement) for p in pareto(pts)] == [(60, 0.5), (80, 0.95)]


def test_one_greedy_step_and_an_unreachable_budget(assets: Path, tmp_path: Path) -> None:
    teacher = assets / "yolov3-tiny.onnx"
    frames = read_frames(assets / "vtest.avi", count=2, step=100)
    # The three heaviest convolutions: halving any of them saves time that a median of 3 runs shows.
    heavy = ["layer10.conv", "layer12.conv", "layer13.conv"]
    kept, best = search(teacher, frames, budget_ms=1.0, step=0.5, runs=3, max_steps=1, layers=heavy)
    assert best is None and len(kept) == 2
    assert kept[0].agreement == 1.0 and all(v == 0 for v in kept[0].ratios.values())
    assert len(kept[0].ratios) == 11  # the plan names every prunable layer, candidates or not
    changed = {k: v for k, v in kept[1].ratios.items() if v}
    assert len(changed) == 1 and next(iter(changed.values())) == 0.5 and next(iter(changed)) in heavy
    assert kept[1].latency_ms > 0 and 0 <= kept[1].agreement <= 1
    # A budget the teacher meets: no step, and the plan written prunes nothing.
    out = tmp_path / "plan.json"
    assert cli_main(["model", "search", str(teacher), "--frames", str(assets / "vtest.avi"), "--count", "2",
                     "--budget-ms", "1e9", "--runs", "1", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {}


def test_unknown_layer_is_refused_with_the_prunable_ones(assets: Path, tmp_path: Path, capsys) -> None:
    rc = cli_main(["model", "search", str(assets / "yolov3-tiny.onnx"), "--frames", str(assets / "vtest.avi"),
                   "--count", "1", "--budget-ms", "1", "--layers", "layer12.conv,head.conv",
                   "--out", str(tmp_path / "plan.json")])
    err = capsys.readouterr().err
    assert rc == 1 and "not a prunable layer of yolov3-tiny.onnx: head.conv" in err and "layer21.conv" in err
    assert not (tmp_path / "plan.json").exists()
