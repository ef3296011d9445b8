"""The demo end to end on a tiny plan: report files, resuming from what is there, and the report's numbers."""

import json

import pytest

from integral_pose.demo import KINDS, DemoPlan, MachineSpeed, fit_epochs, plan, run_demo

TINY = DemoPlan(images=6, image_size=(96, 96), backbone="small", input_size=(32, 24), epochs=1, batch_size=4,
                device="cpu", workers=0)


def test_plan_scales_with_minutes():
    default, short = plan(15.0), plan(1.0)
    assert default.backbone == "small" and default.input_size == (64, 48)
    assert short.epochs <= default.epochs and short.images <= default.images
    assert plan(15.0, "cuda").backbone == "hrnet_w32"
    with pytest.raises(ValueError, match="minutes"):
        plan(0.0)


def test_fit_epochs_fills_the_budget_and_never_exceeds_the_plan():
    default = plan(15.0)
    # A 2-core machine where a training step of batch 32 takes 190 ms and a val sample 1.5 ms: an epoch of 135
    # steps and 1097 val samples costs 25.65 + 1.65 = 27.3 s, and 0.75 * 900 s / 4 methods = 169 s hold 6 of them.
    slow = MachineSpeed(step_seconds=0.19, val_sample_seconds=1.5e-3, steps_per_epoch=135, val_samples=1097)
    assert fit_epochs(default, 15.0, slow).epochs == 6
    assert fit_epochs(default, 30.0, slow).epochs == 12  # 12.4 fit, the plan has 12
    assert fit_epochs(default, 1.0, slow).epochs == 2  # at least 2
    fitted = fit_epochs(default, 15.0, slow)
    assert fitted.images == default.images and fitted.batch_size == default.batch_size


def test_demo_writes_the_report_and_resumes(tmp_path):
    lines = []
    report = run_demo(tmp_path, progress=False, echo=lines.append, demo=TINY)
    assert report == tmp_path / "report.md"
    stored = json.loads((tmp_path / "plan.json").read_text())
    assert stored["fitted"]["epochs"] == TINY.epochs and stored["speed"]["step_seconds"] > 0
    text = report.read_text()
    for kind in KINDS:
        assert f"| {kind} |" in text
        assert (tmp_path / "runs" / kind / "last.pt").is_file()
        assert (tmp_path / "eval" / kind / "results.json").is_file()
    html = (tmp_path / "report.html").read_text()
    assert "see `plan.json`" in text
    assert html.count("data:image/png;base64,") >= 3 and "<table>" in html
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [row["method"] for row in summary["headline"]] == list(KINDS)
    for row in summary["headline"]:
        assert row["EPE_low"] <= row["EPE"] <= row["EPE_high"]
    assert any(d["difference"] == "compensated - integral" for d in summary["differences"])

    lines.clear()
    (tmp_path / "eval" / "combined" / "metrics.json").unlink()  # as if stopped while evaluating combined
    run_demo(tmp_path, progress=False, echo=lines.append, demo=TINY)
    assert any("reusing the synthetic dataset" in line for line in lines)
    assert any("reusing the plan" in line for line in lines)
    assert sum("reusing" in line and "trained" in line for line in lines) == 4
    evaluated = [line for line in lines if "evaluating" in line]
    assert len(evaluated) == 1 and evaluated[0].startswith("combined: evaluating")
