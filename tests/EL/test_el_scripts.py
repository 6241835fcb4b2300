import importlib
import json
import pkgutil
from pathlib import Path

from common import output_dir

import numpy as np
import pytest

import EL
from EL import actor_critic, compare_q_s, epsilon_greedy, monte_carlo, q_learning, sarsa
from tests.option_checks import BAD_SEEDS, assert_refused

TRAINING_SCRIPTS = [monte_carlo, q_learning, sarsa, actor_critic]
RESULT_FILES = ["q_table.npz", "reward_log.csv", "q_value.png", "reward_history.png"]


def saved_paths(out):
    """The files a script says it saved ("Saved PATH" lines), in order."""
    return [Path(line.removeprefix("Saved ")) for line in out.splitlines()
            if line.startswith("Saved ")]


def run_record(run_dir):
    return json.loads((run_dir / "run.json").read_text())


@pytest.mark.parametrize("script", TRAINING_SCRIPTS, ids=lambda m: m.__name__)
def test_training_script_runs_and_saves_its_results(script, capsys):
    result = script.main(["--episodes", "120", "--seed", "3", "--no-show"])
    out = capsys.readouterr().out
    assert "At Episode 100 average reward is" in out
    assert "greedy な戦略は" in out and "(the greedy policy" in out
    saved = saved_paths(out)
    assert [path.name for path in saved] == RESULT_FILES
    # Every file of the run is in one new folder of its own, under the script's folder.
    run_dir = saved[0].parent
    assert run_dir.parent == output_dir(script.__file__)
    assert all(path.parent == run_dir and path.stat().st_size > 0 for path in saved)
    assert run_record(run_dir)["status"] == "finished"
    agent = result[0] if isinstance(result, tuple) else result
    assert len(agent.reward_log) == 120
    with np.load(run_dir / "q_table.npz") as data:
        np.testing.assert_array_equal(data["Q"], agent.Q)
    rows = (run_dir / "reward_log.csv").read_text().splitlines()
    assert rows[0] == "episode,reward" and len(rows) == 121
    assert rows[1:] == [f"{e},{reward}" for e, reward in enumerate(agent.reward_log)]


def test_a_second_run_stopped_with_ctrl_c_leaves_the_first_run_intact(capsys, monkeypatch):
    q_learning.main(["--episodes", "60", "--seed", "1", "--no-show"])
    first = saved_paths(capsys.readouterr().out)
    before = {path: path.read_bytes() for path in first}

    update = q_learning.QLearningAgent.update
    steps = []

    def update_until_ctrl_c(self, *args, **kwargs):
        steps.append(1)
        if len(steps) > 100:
            raise KeyboardInterrupt
        return update(self, *args, **kwargs)

    monkeypatch.setattr(q_learning.QLearningAgent, "update", update_until_ctrl_c)
    agent = q_learning.main(["--episodes", "5000", "--seed", "2", "--no-show"])
    out = capsys.readouterr().out
    assert "中断しました。ここまでに学んだ分は残します" in out
    second = saved_paths(out)
    assert second[0].parent != first[0].parent
    assert {path: path.read_bytes() for path in first} == before
    assert run_record(first[0].parent)["status"] == "finished"
    record = run_record(second[0].parent)
    assert record["status"] == "interrupted"
    assert record["episodes"] == len(agent.reward_log) < 5000
    with np.load(second[0].parent / "q_table.npz") as data:
        np.testing.assert_array_equal(data["Q"], agent.Q)  # what it learned before Ctrl-C


def test_training_script_on_the_slippery_lake(capsys):
    agent = q_learning.main(["--episodes", "30", "--slippery", "--no-show"])
    assert agent.Q.shape == (16, 4) and len(agent.reward_log) == 30


def day3_scripts():
    """Every module of EL/ that has a ``main``: new scripts are checked without a new line."""
    modules = (importlib.import_module(f"EL.{info.name}") for info in pkgutil.iter_modules(
        EL.__path__))
    return [module for module in modules if hasattr(module, "main")]


SCRIPTS = day3_scripts()


def test_every_script_is_checked():
    names = {module.__name__ for module in SCRIPTS}
    assert {"EL.epsilon_greedy", "EL.monte_carlo", "EL.q_learning", "EL.sarsa",
            "EL.actor_critic", "EL.compare_q_s"} <= names


@pytest.mark.parametrize("seed", BAD_SEEDS)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_a_bad_seed_gets_one_sentence_and_status_2(script, seed, capsys):
    assert_refused(script.main, ["--seed", seed, "--no-show"], capsys, "argument --seed:")


@pytest.mark.parametrize("script, argv, option", [
    (epsilon_greedy, ["--runs", "0"], "--runs"),
    (epsilon_greedy, ["--runs", "2.5"], "--runs"),
    (compare_q_s, ["--epsilon", "nan"], "--epsilon"),
    (compare_q_s, ["--epsilon", "1.5"], "--epsilon"),
    (compare_q_s, ["--episodes", "-3"], "--episodes"),
    *[(script, ["--episodes", value], "--episodes")
      for script in TRAINING_SCRIPTS for value in ("0", "many")],
], ids=str)
def test_a_value_out_of_range_gets_one_sentence_and_status_2(script, argv, option, capsys):
    assert_refused(script.main, [*argv, "--no-show"], capsys, f"argument {option}:")


def test_hole_penalty_changes_only_the_hole_reward():
    env = compare_q_s.make_env()
    env.reset(seed=0)
    assert env.step(1)[:3] == (4, 0.0, False)  # DOWN onto ice
    assert env.step(2)[:3] == (5, -0.5, True)  # RIGHT into the hole
    env.reset()
    for action in (1, 1, 2, 2, 1):
        _ = env.step(action)
    assert env.step(2)[:3] == (15, 1.0, True)  # the goal still pays 1


def test_compare_q_s_trains_both_and_draws_one_figure(capsys):
    results = compare_q_s.main(["--episodes", "60", "--seed", "2", "--no-show"])
    assert list(results) == ["Q-learning", "SARSA"]
    for Q, rewards, _ in results.values():
        assert Q.shape == (16, 4) and rewards.shape == (60,)
        assert set(np.unique(rewards)) <= {-0.5, 0.0, 1.0}
    (path,) = saved_paths(capsys.readouterr().out)
    assert path.name == "compare_q_s.png" and path.stat().st_size > 0
    assert path.parent.parent == output_dir(compare_q_s.__file__)
    assert run_record(path.parent)["status"] == "finished"


@pytest.mark.parametrize("script, argv", [
    (epsilon_greedy, ["--runs", "1"]),
    (q_learning, ["--episodes", "5"]),
], ids=["epsilon_greedy", "q_learning"])
def test_each_run_saves_into_a_new_folder(script, argv, capsys):
    script.main([*argv, "--no-show"])
    first = saved_paths(capsys.readouterr().out)
    before = {path: path.read_bytes() for path in first}
    script.main([*argv, "--seed", "9", "--no-show"])
    second = saved_paths(capsys.readouterr().out)
    assert {path.parent for path in first}.isdisjoint(path.parent for path in second)
    assert {path: path.read_bytes() for path in first} == before


def test_compare_q_s_training_is_reproducible_and_the_agents_differ():
    local = compare_q_s.train(False, episode_count=40, seed=5)
    again = compare_q_s.train(False, episode_count=40, seed=5)
    np.testing.assert_array_equal(local[0], again[0])
    q_local = compare_q_s.train(True, episode_count=40, seed=5)
    assert not np.array_equal(local[0], q_local[0])
