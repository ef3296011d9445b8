"""The command line as a whole: a fast, torch-free --help, and bounded options on every command."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from integral_pose.cli import main

ROOT = Path(__file__).resolve().parents[1]

HELP_WITHOUT_TORCH = """
import sys
from integral_pose.cli import main
for args in (["--help"], *([name, "--help"] for name in sorted(main.commands))):
    try:
        main(args, prog_name="integral-pose")
    except SystemExit as exit:
        assert exit.code == 0, (args, exit.code)
heavy = sorted(m for m in ("torch", "matplotlib", "numpy", "cv2", "pycocotools") if m in sys.modules)
assert not heavy, f"--help imported {heavy}"
"""


def test_help_does_not_import_torch():
    result = subprocess.run([sys.executable, "-c", HELP_WITHOUT_TORCH], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage: integral-pose" in result.stdout


def test_the_package_loads_its_decoders_on_first_use():
    code = ("import sys, integral_pose\n"
            "assert 'torch' not in sys.modules\n"
            "from integral_pose import soft_argmax, argmax\n"
            "from integral_pose.decode import soft_argmax as direct\n"
            "assert soft_argmax is direct and 'torch' in sys.modules\n"
            "assert 'soft_argmax' in dir(integral_pose)\n"
            "try:\n    integral_pose.missing\nexcept AttributeError as e:\n    assert 'missing' in str(e)\n"
            "else:\n    raise AssertionError('no AttributeError')\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (["synth", "--images", "2", "--size", "100000x100000"], "expected each side from 32 to 4096 pixels"),
    (["synth", "--images", "2", "--size", "16x16"], "expected each side from 32 to 4096 pixels"),
    (["synth", "--images", "2", "--size", "big"], "expected HxW such as 256x256, got 'big'"),
    (["synth", "--images", "2", "--seed", "-1"], "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["synth", "--images", "2", "--seed", str(2**40)], "is not in the range 0<=x<=4294967295"),
    (["show", ".", "--seed", "-5"], "'--seed': -5 is not in the range 0<=x<=4294967295"),
    (["show", ".", "--count", "0"], "'--count': 0 is not in the range 1<=x<=1000"),
])
def test_options_are_bounded(tmp_path, monkeypatch, args, message):
    import integral_pose.data.synth

    monkeypatch.setattr(integral_pose.data.synth, "generate", lambda *a, **k: pytest.fail("ran with a bad option"))
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert message in result.output
