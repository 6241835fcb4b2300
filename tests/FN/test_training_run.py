"""What every FN script does around its trainer: run folders that no later run replaces,
Ctrl-C that keeps what was learned, --play and --model, and one sentence for bad input."""

import json

from common import find_model

import keras
import pytest

from FN import (
    a2c_agent,
    dqn_agent,
    policy_gradient_agent,
    policy_gradient_continuous_agent,
    value_function_agent,
)
from FN.dqn_agent import DeepQNetworkAgent, DeepQNetworkAgentTest


def status(run):
    return json.loads((run / "run.json").read_text())["status"]


def test_an_interrupted_run_leaves_the_earlier_model_intact_and_playable(
        tmp_path, monkeypatch, capsys, run_folders, interrupt_dqn_at):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    dqn_agent.main(["--test", "--steps", "1100", "--no-show"])
    (first,) = run_folders(tmp_path, "dqn_agent", "cartpole")
    model = first / "dqn_agent_test.keras"
    saved = model.read_bytes()

    # Ctrl-C before the network exists: nothing to save, and --play still finds the first.
    interrupt_dqn_at(50)
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--test", "--no-show"])
    assert error.value.code == 130
    first_again, second = run_folders(tmp_path, "dqn_agent", "cartpole")
    assert first_again == first and status(second) == "interrupted"
    assert not (second / "dqn_agent_test.keras").exists()
    assert find_model(dqn_agent.__file__, "dqn_agent_test.keras", kind="cartpole") == model
    assert len(dqn_agent.main(["--test", "--play"])) == 5

    # Ctrl-C after learning: that run keeps its own model, marked interrupted; --play picks
    # it and says so, and the first run's model is untouched and can still be played.
    interrupt_dqn_at(1050)
    with pytest.raises(SystemExit):
        dqn_agent.main(["--test", "--no-show"])
    third = run_folders(tmp_path, "dqn_agent", "cartpole")[-1]
    assert status(third) == "interrupted" and (third / "dqn_agent_test.keras").is_file()
    capsys.readouterr()
    assert find_model(dqn_agent.__file__, "dqn_agent_test.keras",
                      kind="cartpole") == third / "dqn_agent_test.keras"
    assert "stopped with Ctrl-C" in capsys.readouterr().out
    assert model.read_bytes() == saved and status(first) == "finished"
    assert len(dqn_agent.main(["--test", "--play", "--model", str(model)])) == 5
    # The Catcher mode keeps its runs apart: it has none yet.
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--play"])
    assert error.value.code == 2


@pytest.mark.parametrize("script, argv", [
    (dqn_agent, ["--seed", "-1"]),
    (dqn_agent, ["--test", "--steps", "1e3"]),
    (a2c_agent, ["--envs", "0"]),
    (a2c_agent, ["--seed", "nan"]),
    (policy_gradient_agent, ["--episodes", "-3"]),
    (policy_gradient_continuous_agent, ["--seed", str(2**32)]),
    (value_function_agent, ["--epsilon", "-0.1"]),
])
def test_bad_options_exit_2_without_a_traceback(script, argv, capsys):
    with pytest.raises(SystemExit) as error:
        script.main(argv)
    err = capsys.readouterr().err
    assert error.value.code == 2 and "error: argument" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["garbage", "truncated", "wrong suffix", "missing"])
def test_a_corrupt_keras_file_exits_2_with_one_sentence(kind, tmp_path, capsys):
    path = tmp_path / ("model.h5" if kind == "wrong suffix" else "model.keras")
    if kind == "garbage":
        path.write_bytes(b"\x00 not a keras file")
    elif kind == "truncated":
        agent = DeepQNetworkAgentTest(0.0, [0, 1])
        agent.make_model((4,))
        agent.save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "wrong suffix":
        path.write_bytes(b"")
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--test", "--play", "--model", str(path)])
    err = capsys.readouterr().err
    assert error.value.code == 2 and str(path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_model_for_other_states_exits_2_with_one_sentence(tmp_path, capsys):
    """A Catcher network (40×40×2 frames) given to the CartPole mode, and the other way."""
    catcher = DeepQNetworkAgent(0.0, [0, 1, 2])
    catcher.make_model((40, 40, 2))
    catcher_path = catcher.save(tmp_path / "catcher.keras")
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--test", "--play", "--model", str(catcher_path)])
    err = capsys.readouterr().err
    assert error.value.code == 2
    assert "trained on states of shape (40, 40, 2)" in err and "shape (4,)" in err
    cartpole = DeepQNetworkAgentTest(0.0, [0, 1])
    cartpole.make_model((4,))
    cartpole_path = cartpole.save(tmp_path / "cartpole.keras")
    with pytest.raises(SystemExit) as error:
        a2c_agent.main(["--play", "--headless", "--model", str(cartpole_path)])
    assert error.value.code == 2 and "python FN/a2c_agent.py" in capsys.readouterr().err


def test_each_run_writes_into_a_folder_of_its_own(tmp_path, monkeypatch, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for _ in range(2):
        policy_gradient_agent.main(["--episodes", "3", "--no-show", "--seed", "4"])
    first, second = run_folders(tmp_path, "policy_gradient_agent")
    for run in (first, second):
        assert status(run) == "finished"
        assert (run / "rewards_history.csv").is_file() and (run / "rewards_history.png").is_file()
        # Only three episodes: not enough random play to build the network, so no model.
        assert json.loads((run / "run.json").read_text())["model"] is None
    histories = [(run / "rewards_history.csv").read_text() for run in (first, second)]
    assert histories[0] == histories[1]


def test_keras_is_given_a_complete_model_to_load(tmp_path):
    """A file saved by FNAgent.save holds the whole network (it plays without the script)."""
    agent = DeepQNetworkAgentTest(0.0, [0, 1])
    agent.make_model((4,))
    path = agent.save(tmp_path / "q.keras")
    assert keras.models.load_model(path, compile=False).output_shape == (None, 2)
