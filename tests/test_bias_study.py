from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from integral_pose.bias.realistic import BACKGROUNDS
from integral_pose.bias.settings import PRESETS, StudySettings
from integral_pose.bias.study import run_experiments, work_units
from integral_pose.cli import main


@pytest.fixture(scope="module")
def quick():
    ticks = []
    results = run_experiments(PRESETS["quick"], lambda: ticks.append(1))
    return results, len(ticks)


def _row(rows, **match):
    (row,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return row


def test_progress_ticks_match_the_announced_total(quick):
    results, ticks = quick
    assert ticks == work_units(results.settings)


def test_compensated_is_exact_on_clean_interior_maps(quick):
    results, _ = quick
    for beta in (1.0, 2.0, 5.0):
        row = _row(results.tables["headline"], beta=beta, method="compensated")
        assert row["interior_max"] < 2e-4  # float32 rounding and (beta = 5) grid sampling of 1e-4
    plain = _row(results.tables["headline"], beta=1.0, method="plain")
    assert plain["interior_mean"] > 5.0  # the bias compensation removes


def test_plain_soft_argmax_follows_the_closed_form(quick):
    results, _ = quick
    for row in results.tables["closed_form"]:
        assert row["identity_residual_max"] < 1e-4  # float32 rounding of a float64 identity
        if row["beta"] <= 5:
            assert row["prediction_residual_interior_max"] < 1e-4


def test_error_sources_show_sampling_and_border(quick):
    results, _ = quick
    rows = {r["beta"]: r for r in results.tables["error_sources"]}
    # at beta = 50 the weights exp(50 G) - 1 are 0.28 px wide: the sampled mean snaps towards pixel centres
    assert rows[50.0]["sampling_max"] > 0.1
    assert rows[1.0]["sampling_max"] < 1e-6
    assert rows[1.0]["border_max"] > 0.5  # keypoints on the border lose half their blob
    assert all(r["float32_vs_float64_max"] < 1e-4 for r in rows.values())


def test_closed_form_breaks_with_a_background_level(quick):
    results, _ = quick
    limits = results.tables["closed_form_limits"]
    assert _row(limits, kind="background", value=0.0, beta=1.0)["compensated_mean"] < 1e-4
    assert _row(limits, kind="background", value=0.1, beta=1.0)["compensated_mean"] > 1.0
    assert _row(limits, kind="background", value=-1.0, beta=1.0)["fallback_share"] == 1.0


def test_local_decoder_ignores_the_background_level(quick):
    results, _ = quick
    clean = [results.realistic.errors[(b, 0.0, False)]["local r=3sigma"] for b in BACKGROUNDS]
    for errors in clean[1:]:
        torch.testing.assert_close(errors, clean[0], atol=1e-4, rtol=0)
    assert clean[0].mean() < 0.02


def test_settings_are_checked():
    with pytest.raises(ValueError, match="shape"):
        StudySettings(shape=(20, 20))
    with pytest.raises(ValueError, match="betas"):
        replace(PRESETS["quick"], betas=(1.0, -2.0))


def test_cli_writes_the_expected_files(tmp_path):
    result = CliRunner().invoke(main, ["bias", "--out", str(tmp_path), "--quick", "--no-progress"])
    assert result.exit_code == 0, result.output
    expected = {"summary.md", "headline.csv", "positions.csv", "closed_form.csv", "error_sources.csv",
                "float32_vs_float64.csv", "closed_form_limits.csv", "realistic.csv", "realistic_maps.csv",
                "targets.csv", "local_vs_dark.csv", "window.csv", "ring_rules.csv", "expectation_1d.png",
                "error_maps_soft_argmax.png", "error_maps_detection.png", "closed_form.png",
                "compensation_error_sources.png", "closed_form_limits.png", "realistic_errors.png",
                "window_radius.png", "ring_rules.png"}
    assert expected <= {p.name for p in tmp_path.iterdir()}
    summary = (tmp_path / "summary.md").read_text()
    assert "## Recommendation" in summary and "float32 against float64" in summary
    assert "### Local against DARK, with 95% bootstrap intervals" in summary
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert (tmp_path / "expectation_1d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_a_small_map(tmp_path):
    result = CliRunner().invoke(main, ["bias", "--out", str(tmp_path), "--quick", "--size", "10", "10"])
    assert result.exit_code == 2
    assert "--size" in result.output and "40<=x<=256" in result.output
