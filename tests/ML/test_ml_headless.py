"""The scripts run as a reader runs them, from a terminal with no display at all."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_headless(*command):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command", [
    # Without --no-show: with no display the plot is saved and the script ends on its own.
    ["ML/discounted_return.py"],
    ["-m", "ML.mdp", "--episodes", "50"],
    # TensorFlow takes seconds to import in a fresh process; in-process tests cover the rest.
    pytest.param(["ML/explanation_tf.py", "--no-show"], marks=pytest.mark.slow),
])
def test_script_runs_headless_from_the_command_line(command):
    result = run_headless(*command)
    assert result.returncode == 0, result.stderr
    assert "Saved " in result.stdout
    saved = Path(result.stdout.split("Saved ")[-1].strip())
    assert saved.suffix == ".png" and saved.is_file()


def test_a_bad_argument_gives_one_sentence_and_status_2():
    result = run_headless("ML/mdp.py", "--gamma", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "mdp.py: error: argument --gamma: must be from 0 to 1, got 2")
