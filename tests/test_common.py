"""The helpers every script shares: option types, run folders, model loading, quiet start-up."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import common

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def outputs_of_this_test(tmp_path, monkeypatch):
    """Each test sees an empty outputs folder, so runs of other tests do not count."""
    monkeypatch.setenv(common.OUTPUT_ENV_VARIABLE, str(tmp_path / "outputs"))


@pytest.mark.parametrize("kind, text, expected", [
    (common.seed_value, "0", 0),
    (common.seed_value, str(2**32 - 1), 2**32 - 1),
    (common.probability, "0", 0.0),
    (common.probability, "1", 1.0),
    (common.probability, "0.25", 0.25),
    (common.positive_float, "1e-4", 1e-4),
    (common.positive_int, "1", 1),
    (common.non_negative_int, "0", 0),
])
def test_option_types_accept_values_in_range(kind, text, expected):
    assert kind(text) == expected


@pytest.mark.parametrize("kind, text", [
    (common.seed_value, "-1"),
    (common.seed_value, str(2**32)),
    (common.seed_value, "1.5"),
    (common.probability, "-0.01"),
    (common.probability, "1.01"),
    (common.probability, "nan"),
    (common.positive_float, "0"),
    (common.positive_float, "-1"),
    (common.positive_float, "inf"),
    (common.positive_float, "nan"),
    (common.positive_int, "0"),
    (common.positive_int, "ten"),
    (common.non_negative_int, "-1"),
])
def test_option_types_refuse_values_out_of_range(kind, text):
    with pytest.raises(argparse.ArgumentTypeError):
        kind(text)


def test_a_bad_option_exits_2_with_one_sentence(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=common.seed_value, default=0)
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--seed", "-1"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--seed: must be from 0 to 4294967295" in error
    assert "Traceback" not in error


def test_runs_get_folders_of_their_own(tmp_path):
    script = tmp_path / "FN" / "agent.py"
    first = common.new_run_dir(script, kind="catcher")
    second = common.new_run_dir(script, kind="catcher")
    assert first != second
    assert first.parent == second.parent == tmp_path / "outputs" / "FN" / "agent" / "catcher"
    assert json.loads((first / common.RUN_FILE).read_text())["status"] == "running"
    common.finish_run(first, steps=10)
    record = json.loads((first / common.RUN_FILE).read_text())
    assert record["status"] == "finished" and record["steps"] == 10


def test_find_model_plays_the_newest_run_that_ended(tmp_path, capsys):
    script = tmp_path / "FN" / "agent.py"
    older = common.new_run_dir(script)
    (older / "model.keras").write_text("old")
    common.finish_run(older)
    time.sleep(1.01)  # the folders are named by the second they started in
    interrupted = common.new_run_dir(script)
    (interrupted / "model.keras").write_text("interrupted")
    common.finish_run(interrupted, interrupted=True)
    time.sleep(1.01)
    running = common.new_run_dir(script)  # still going, or killed before it saved
    (running / "model.keras").write_text("half")

    found = common.find_model(script, "model.keras", train_command="python FN/agent.py")
    assert found == interrupted / "model.keras"
    assert "stopped with Ctrl-C" in capsys.readouterr().out


def test_find_model_without_a_run_or_with_a_missing_file_exits_2(tmp_path, capsys):
    script = tmp_path / "FN" / "agent.py"
    with pytest.raises(SystemExit) as stopped:
        common.find_model(script, "model.keras", train_command="python FN/agent.py")
    assert stopped.value.code == 2
    assert "python FN/agent.py" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        common.find_model(script, "model.keras", model=tmp_path / "nope.keras",
                          train_command="python FN/agent.py")
    assert stopped.value.code == 2
    assert "nope.keras" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken zip"])
def test_a_damaged_keras_file_exits_2_naming_it(tmp_path, capsys, content):
    path = tmp_path / "damaged.keras"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as stopped:
        common.load_keras_model(path, "python FN/dqn_agent.py")
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "damaged.keras" in error and "Traceback" not in error


def test_a_leftover_temporary_file_of_a_dead_process_is_removed(tmp_path):
    script = tmp_path / "FN" / "agent.py"
    folder = common.output_dir(script)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftover = folder / f".model.{dead.stdout.strip()}.tmp.keras"
    leftover.write_text("half-written")
    alive = folder / f".model.{os.getpid()}.tmp.keras"  # a save in progress: left alone
    alive.write_text("being written")
    common.output_dir(script)
    assert not leftover.exists()
    assert alive.exists()


def test_atomic_path_leaves_nothing_when_the_write_fails(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("good")
    with pytest.raises(RuntimeError), common.atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def _python(code, **kwargs):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_tensorflow_starts_without_noise():
    process = _python("import common\nimport tensorflow as tf\nprint(int(tf.constant(2) + 1))")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out.strip() == "3"
    assert err == ""


@pytest.mark.slow
def test_ctrl_c_while_tensorflow_imports_prints_one_line_and_exits_130():
    process = _python("import common\nimport tensorflow\nimport time\ntime.sleep(60)")
    time.sleep(1.0)  # TensorFlow takes several seconds to import
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == common.INTERRUPTED_EXIT_STATUS
    assert err.strip() == "Interrupted (Ctrl-C)."
