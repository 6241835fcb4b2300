"""The map of the Day3 methods: the success probe, the curves, the table and the script."""

import contextlib
import csv
import io
import json
from pathlib import Path

from common import SEED_MAX, display_width, set_seed

import numpy as np
import pytest

from EL import compare_methods
from EL.compare_methods import METHODS, SuccessProbe, episodes_to, success_curve
from EL.q_learning import QLearningAgent
from envs.frozen_lake import make_frozen_lake, success_probability

# The shortest route on the 4×4 lake: down, down, right, right, down, right.
ROUTE = {0: 1, 4: 1, 8: 2, 9: 2, 10: 1, 14: 2}


def route_table():
    table = np.zeros((16, 4))
    for s, a in ROUTE.items():
        table[s, a] = 1.0
    return table


def saved_paths(out):
    return [Path(line.removeprefix("Saved ")) for line in out.splitlines()
            if line.startswith("Saved ")]


def test_the_book_table_rows():
    book = {name: (correction, updates, assumption)
            for name, (_, correction, updates, assumption, _) in
            list(METHODS.items())[:compare_methods.BOOK_METHODS]}
    assert book == {
        "Q-learning": ("prediction", "value", "off-policy"),
        "Monte Carlo": ("result", "value", "off-policy"),
        "SARSA": ("prediction", "policy", "on-policy"),
        "Actor-Critic": ("prediction", "value + policy", "on-policy"),
        "Off-policy Actor-Critic": ("prediction", "value + policy", "off-policy"),
        "On-policy Monte Carlo": ("result", "value + policy", "on-policy"),
        "Off-policy Monte Carlo": ("result", "value + policy", "off-policy"),
    }
    assert len(METHODS) == 9


def test_episodes_to_is_the_first_episode_at_the_threshold():
    assert episodes_to(np.array([0.0, 0.5, 0.9, 0.8, 1.0]), 0.9) == 2
    assert episodes_to(np.array([0.0, 0.5, 0.8]), 0.9) is None


def test_the_probe_measures_the_greedy_policy_exactly():
    env = make_frozen_lake()
    env.reset(seed=0)
    tables = iter([route_table(), np.zeros((16, 4)), route_table()])
    probe = SuccessProbe(env, lambda: next(tables))
    for _ in range(3):
        probe.reset()
    assert probe.curve[0] == probe.curve[2] == 1.0
    # All ties: every action is equally greedy everywhere, a random walk on the lake.
    assert probe.curve[1] == pytest.approx(success_probability(env, np.zeros((16, 4))))
    assert 0.0 < probe.curve[1] < 0.1


def test_the_probe_does_not_change_what_is_learned():
    learned = []
    for wrap in (False, True):
        env = make_frozen_lake()
        set_seed(6, env)
        agent = QLearningAgent()
        if wrap:
            env = SuccessProbe(env, lambda agent=agent: agent.Q)
        with contextlib.redirect_stdout(io.StringIO()):
            agent.learn(env, episode_count=80)
        learned.append(agent.Q)
    np.testing.assert_array_equal(*learned)


def test_a_success_curve_has_one_point_per_episode_and_ends_at_the_goal():
    curve = success_curve("Q-learning", 400, seed=0)
    assert curve.shape == (401,)
    assert curve[0] < 0.1 and curve[-1] == 1.0
    assert ((0.0 <= curve) & (curve <= 1.0)).all()
    np.testing.assert_array_equal(curve, success_curve("Q-learning", 400, seed=0))


def test_main_prints_the_table_and_saves_the_curves(capsys):
    results = compare_methods.main(["--episodes", "30", "--seeds", "2", "--jobs", "1",
                                    "--no-show"])
    assert list(results) == list(METHODS)
    out = capsys.readouterr().out
    table = out[out.index("\n手法 (method) "):]
    for name, (_, correction, updates, assumption, _) in METHODS.items():
        line = next(line for line in table.splitlines() if line.startswith(name))
        words = [compare_methods.AXIS_WORDS[axis] for axis in (correction, updates, assumption)]
        assert all(word in line for word in words)
        reached = episodes_to(results[name], 0.9)
        assert line.endswith("届かず (not reached)" if reached is None else str(reached))
    assert "確率 0.9 までのエピソード数" in table
    # Japanese characters take two columns: the last column starts at one place on every line.
    rows = [line for line in table.splitlines() if line.startswith(("手法", *METHODS))]
    starts = {display_width(line[:line.rindex("  ") + 2]) for line in rows}
    assert len(rows) == len(METHODS) + 1 and len(starts) == 1
    saved = saved_paths(out)
    assert [path.name for path in saved] == ["success.csv", "compare_methods.png"]
    run_dir = saved[0].parent
    assert run_dir.parent.name == "easy"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    with open(run_dir / "success.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["episode", *METHODS] and len(rows) == 32
    np.testing.assert_allclose([float(row[1]) for row in rows[1:]], results["Q-learning"])


@pytest.mark.slow
def test_processes_give_the_same_curves_as_one_process(capsys):
    argv = ["--episodes", "8", "--seeds", "1", "--seed", "4", "--no-show"]
    here = compare_methods.main([*argv, "--jobs", "1"])
    pooled = compare_methods.main([*argv, "--jobs", "2"])
    for name in METHODS:
        np.testing.assert_array_equal(here[name], pooled[name])


def test_the_slippery_lake_run_goes_to_its_own_folder(capsys):
    compare_methods.main(["--slippery", "--episodes", "5", "--seeds", "1", "--jobs", "1",
                          "--no-show"])
    out = capsys.readouterr().out
    assert saved_paths(out)[0].parent.parent.name == "slippery"
    assert out.count("not reached") == len(METHODS)


@pytest.mark.parametrize("argv, option", [
    (["--threshold", "1.5"], "--threshold"),
    (["--seeds", "0"], "--seeds"),
    (["--jobs", "0"], "--jobs"),
    (["--episodes", "-1"], "--episodes"),
], ids=str)
def test_a_bad_option_gets_one_sentence_and_status_2(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare_methods.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err


def test_seeds_past_the_largest_seed_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare_methods.main(["--seed", str(SEED_MAX), "--seeds", "2", "--no-show"])
    assert exit_info.value.code == 2
    assert "largest seed" in capsys.readouterr().err
