"""The bias study's outputs: crash-safe files, bootstrap intervals, bounded settings, module structure, and the
claims the README and docs/bias.md make from the default run."""

import ast
import csv
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

import integral_pose.bias.figures as figures
import integral_pose.bias.study as study
from integral_pose.bias.realistic import (
    DARK_INPUTS,
    LOCAL_CANDIDATES,
    NOISE_LEVELS,
    RING_BETAS,
    RING_FACTORS,
    Realistic,
    local_vs_dark_rows,
    paired_bootstrap,
    realistic_rows,
    realistic_study,
)
from integral_pose.bias.report import write_csv, write_report
from integral_pose.bias.settings import PRESETS, StudySettings
from integral_pose.bias.variants import RING_RULES
from integral_pose.cli import main

ROOT = Path(__file__).resolve().parents[1]


# ---- crash-safe outputs ---------------------------------------------------------------------------------------


def test_a_crash_while_writing_a_table_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    path.write_text("a\n1.0\n")  # a complete file from an earlier run

    def disk_full(self, rows):
        raise OSError("No space left on device")

    monkeypatch.setattr(csv.DictWriter, "writerows", disk_full)  # fails after the header is written
    with pytest.raises(OSError, match="No space left"):
        write_csv([{"a": 2.0}], path)
    assert path.read_text() == "a\n1.0\n"  # the earlier file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # and no temporary file
    path.unlink()
    with pytest.raises(OSError, match="No space left"):
        write_csv([{"a": 2.0}], path)
    assert list(tmp_path.iterdir()) == []


def test_summary_is_not_written_when_a_table_fails(tmp_path, monkeypatch):
    def fail_on_second(rows, path, calls=[]):  # noqa: B006 (counts the calls)
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        path.write_text("x\n")

    monkeypatch.setattr("integral_pose.bias.report.write_csv", fail_on_second)
    results = SimpleNamespace(tables={"error_sources": [], "headline": []})
    with pytest.raises(OSError, match="disk full"):
        write_report(results, {}, tmp_path)
    assert not (tmp_path / "summary.md").exists()


def test_run_study_checks_the_folder_first_and_writes_the_summary_last(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setattr(study, "run_experiments", lambda *a, **k: pytest.fail("ran before checking the folder"))
    with pytest.raises(ValueError, match=r"a_file/out: cannot write output files in this folder"):
        study.run_study(blocker / "out", PRESETS["quick"], progress=False)

    def broken_figure(results):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(study, "run_experiments", lambda settings, tick: SimpleNamespace())
    monkeypatch.setattr(figures, "write_figures", lambda results, out: broken_figure(results))
    monkeypatch.setattr(study, "write_figures", figures.write_figures)
    with pytest.raises(RuntimeError, match="figure failed"):
        study.run_study(tmp_path / "out", PRESETS["quick"], progress=False)
    assert list((tmp_path / "out").iterdir()) == []  # no summary.md claiming a complete run


# ---- bootstrap intervals --------------------------------------------------------------------------------------


def test_paired_bootstrap_of_a_constant_difference_is_that_constant():
    low, high = paired_bootstrap(torch.full((50,), -0.25), torch.Generator().manual_seed(0))
    assert (low, high) == (-0.25, -0.25)


def test_paired_bootstrap_matches_the_normal_interval_of_a_large_sample():
    # differences 0, 1/1000, ..., 999/1000: mean 0.4995, standard error sqrt(var / n) with the population
    # variance (n^2 - 1) / 12 / n^2 = 0.0833332; the percentile bootstrap of the mean approaches
    # mean -+ 1.96 * 0.0091287 = 0.4816, 0.5174 (bootstrap noise with 2000 resamples: about 1e-3)
    values = torch.arange(1000, dtype=torch.float64) / 1000
    low, high = paired_bootstrap(values, torch.Generator().manual_seed(0))
    se = math.sqrt((1000**2 - 1) / 12 / 1000**2 / 1000)
    assert low == pytest.approx(0.4995 - 1.96 * se, abs=2e-3)
    assert high == pytest.approx(0.4995 + 1.96 * se, abs=2e-3)
    assert paired_bootstrap(values, torch.Generator().manual_seed(0)) == (low, high)  # seeded


def _fake_realistic() -> Realistic:
    dark = torch.linspace(0.1, 1.0, 200, dtype=torch.float64)
    wobble = 0.05 * torch.sin(torch.arange(200, dtype=torch.float64))  # mean 0.0015, spread 0.035
    per_condition = {
        "lower": dark - 0.1,          # every map 0.1 px better: interval [-0.1, -0.1]
        "higher": dark + 0.1,
        "same": dark + wobble,        # interval around 0.0015 +- 0.005: holds 0
    }
    errors = {}
    for i, (_, local) in enumerate(per_condition.items()):
        decoders = {name: dark + 0.5 for name in DARK_INPUTS} | {"dark-shifted": dark}
        decoders |= dict.fromkeys(LOCAL_CANDIDATES, local)
        errors[(float(i), 0.0, False)] = decoders
    return Realistic(errors, {})


def test_local_vs_dark_verdicts_follow_the_intervals():
    rows = local_vs_dark_rows(_fake_realistic(), torch.Generator().manual_seed(0), resamples=500)
    assert len(rows) == 3 * len(LOCAL_CANDIDATES)
    by_condition = {row["background"]: row for row in rows if row["decoder"] == LOCAL_CANDIDATES[1]}
    assert [by_condition[b]["verdict"] for b in (0.0, 1.0, 2.0)] == ["local better", "DARK better", "unclear"]
    assert all(row["best_dark"] == "dark-shifted" for row in rows)  # the lowest mean of the three inputs
    lower = by_condition[0.0]
    assert lower["difference"] == pytest.approx(-0.1, abs=1e-12)
    assert (lower["ci_low"], lower["ci_high"]) == pytest.approx((-0.1, -0.1), abs=1e-12)
    same = by_condition[2.0]
    assert same["ci_low"] < 0 < same["ci_high"]
    assert same["ci_low"] <= same["difference"] <= same["ci_high"]


# ---- bounded settings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "message"), [
    ({"sigma": 1000.0}, r"sigma: expected 0.5 to min\(H, W\) / 10 = 4.8 px"),
    ({"sigma": 0.01}, r"sigma: expected 0.5 to"),
    ({"shape": (256, 256)}, r"shape and position_step: 102400 maps of 256 x 256 hold 6.7e\+09 values"),
    ({"realistic_maps": 100_000}, r"realistic_maps: 100000 maps of 64 x 48"),
    ({"seed": -1}, r"seed: expected an integer from 0 to 2\*\*63 - 1, got -1"),
])
def test_settings_are_bounded(overrides, message):
    with pytest.raises(ValueError, match=message):
        StudySettings(**overrides)


@pytest.mark.parametrize(("args", "message"), [
    (["--sigma", "1000"], "'--sigma': 1000.0 is not in the range 0.5<=x<=25.6"),
    (["--size", "10000", "10000"], "'--size': 10000 is not in the range 40<=x<=256"),
    (["--size", "256", "256"], "4761 maps of 256 x 256 hold 3.1e+08 values, more than the 1e+08"),
    (["--seed", "-1"], "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["--seed", str(2**64)], "is not in the range 0<=x<=4294967295"),
])
def test_cli_options_are_bounded(tmp_path, monkeypatch, args, message):
    monkeypatch.setattr("integral_pose.bias.run_study", lambda *a, **k: pytest.fail("ran with a bad option"))
    result = CliRunner().invoke(main, ["bias", "--out", str(tmp_path), "--quick", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert message in result.output


# ---- structure ----------------------------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement of ``path``, at any depth (function bodies included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_bias_modules_import_each_other_without_a_cycle():
    folder = ROOT / "integral_pose" / "bias"
    modules = {f"integral_pose.bias.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name, trail):
        if state.get(name) == "open":
            raise AssertionError(f"import cycle: {' -> '.join([*trail, name])}")
        if state.get(name) == "done":
            return
        state[name] = "open"
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        visit(name, [])
    assert "integral_pose.bias.study" not in graph["integral_pose.bias.figures"] | graph["integral_pose.bias.report"]


def test_figures_leave_matplotlib_global_state_alone():
    code = ("import sys, matplotlib\n"
            "matplotlib.use('svg')\n"
            "import integral_pose.bias.figures, integral_pose.bias.study, integral_pose.subsets.plots\n"
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


# ---- the claims of the README and docs/bias.md ----------------------------------------------------------------


@pytest.fixture(scope="module")
def default_run():
    """Section 2 of the default run (seed 0), as ``integral-pose bias`` computes it, with its bootstrap rows."""
    settings = PRESETS["default"]
    maps = realistic_study(settings, torch.Generator().manual_seed(settings.seed), lambda: None)
    return realistic_rows(maps), local_vs_dark_rows(maps, torch.Generator().manual_seed(settings.seed))


def test_readme_claims_what_the_intervals_support(default_run):
    _, rows = default_run
    tuned = [r for r in rows if r["decoder"] == "local r=2sigma beta=0.25"]
    counts = {v: sum(r["verdict"] == v for r in tuned) for v in ("local better", "DARK better", "unclear")}
    readme = " ".join((ROOT / "README.md").read_text().split())
    claim = re.search(r"lower than DARK's with 95% bootstrap confidence in (\d+) of the bias study's (\d+) "
                      r"conditions .*?, higher in (\d+) .*?, and not distinguishable in the other (\d+)", readme)
    assert claim, "README: the local decoder's comparison with DARK"
    assert [int(g) for g in claim.groups()] == [counts["local better"], len(tuned), counts["DARK better"],
                                                counts["unclear"]]
    assert "beats DARK in" not in readme


def test_docs_numbers_are_the_default_runs(default_run):
    realistic, _ = default_run
    docs = " ".join((ROOT / "docs" / "bias.md").read_text().split())
    row = next(r for r in realistic if (r["background"], r["noise"], r["second_peak"], r["decoder"])
               == (-2.0, 0.0, 0, "compensated"))
    assert f"{row['mean']:.2f} px mean error and {row['max']:.1f} px at worst at b = -2" in docs


def test_ring_rules_caption_names_every_rule_and_the_librarys():
    rows = [{"noise": noise, "second_peak": second, "factor": factor, "beta": beta, "rule": rule, "mean": 1.0}
            for second in (0, 1) for noise in NOISE_LEVELS for factor in RING_FACTORS for beta in RING_BETAS
            for rule in RING_RULES]
    _, caption = figures.plot_ring_rules(SimpleNamespace(tables={"ring_rules": rows}))
    assert "by 5 rules (max, mean, median, log-mean-exp, mean+2sd; the library's rule is the maximum)" in caption
