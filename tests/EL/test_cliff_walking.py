import csv
import json

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from EL import cliff_walking
from EL.cliff_walking import (
    CLIFF,
    GOAL,
    OPTIMAL_PATH,
    START,
    greedy_path,
    make_cliff_env,
    mean_reward,
    moves_beside_the_cliff,
    run_all,
    run_one,
    typical_path,
)
from envs.gridworld import DOWN, LEFT, RIGHT, UP
from tests.learning_margins import learning_seeds
from tests.option_checks import BAD_SEEDS, assert_refused


def state(row, column):
    return row * 12 + column


def test_the_cliff_is_a_4_by_12_grid_with_the_rules_of_example_6_6():
    env = make_cliff_env()
    check_env(env, skip_render_check=True)
    assert (env.nrow, env.ncol) == (4, 12) and env.action_space.n == 4
    assert env.reset(seed=0) == (state(*START), {})
    assert START == (3, 0) and GOAL == (3, 11) and CLIFF == [(3, c) for c in range(1, 11)]
    # Into the cliff: −100, back to S, and the episode goes on.
    assert env.step(RIGHT)[:3] == (state(*START), -100.0, False)
    # Every other step costs −1, walls included; the goal ends the episode.
    assert env.step(LEFT)[:3] == (state(*START), -1.0, False)
    assert env.step(UP)[:3] == (state(2, 0), -1.0, False)
    assert env.step(RIGHT)[:3] == (state(2, 1), -1.0, False)
    assert env.step(DOWN)[:3] == (state(*START), -100.0, False)
    env.state = state(2, 11)
    assert env.step(DOWN)[:3] == (state(*GOAL), -1.0, True)
    for s in range(48):
        for a in range(4):
            assert sum(prob for prob, *_ in env.P[s][a]) == pytest.approx(1.0)


def test_the_greedy_path_follows_the_table_and_counts_the_cells_beside_the_cliff():
    env = make_cliff_env()
    Q = np.zeros((48, 4))
    Q[state(*START), UP] = 1
    for column in range(11):
        Q[state(2, column), RIGHT] = 1
    Q[state(2, 11), DOWN] = 1
    path = greedy_path(env, Q)
    assert len(path) - 1 == OPTIMAL_PATH == 13 and path[-1] == state(*GOAL)
    assert moves_beside_the_cliff(env, path) == 10
    Q[state(*START), RIGHT] = 2  # straight into the cliff
    assert greedy_path(env, Q) is None
    assert greedy_path(env, np.zeros((48, 4))) is None  # LEFT into the wall, forever
    length, count, shown = typical_path([None, path, path[:1] + path[1:]])
    assert (length, count, shown) == (13, 2, path)
    assert typical_path([None]) == (None, 0, None)


def test_the_same_seed_gives_the_same_numbers():
    first, second = run_one("sarsa", 3, 20), run_one("sarsa", 3, 20)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]
    assert not np.array_equal(run_one("sarsa", 4, 20)[0], first[0])
    rewards, paths, interrupted = run_all(2, 5, seed=3)
    assert not interrupted and rewards["sarsa"].shape == rewards["q_learning"].shape == (2, 5)
    np.testing.assert_array_equal(rewards["sarsa"][0], run_one("sarsa", 3, 5)[0])
    np.testing.assert_array_equal(rewards["q_learning"][1], run_one("q_learning", 4, 5)[0])


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_small_run_prints_the_means_and_paths_and_saves_the_csv_and_the_figure(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    rewards, paths = cliff_walking.main(["--runs", "2", "--episodes", "30", "--seed", "3",
                                         "--no-show"])
    out = capsys.readouterr().out
    assert "1〜30 エピソードの平均 (2 回)" in out and "[mean sum of rewards per episode" in out
    assert "SARSA (On-policy)" in out and "Q-learning (Off-policy)" in out
    assert "いちばん多い長さ" in out and "[most common length" in out
    (run,) = (tmp_path / "EL" / "cliff_walking").iterdir()
    rows = read_csv(run / "rewards.csv")
    assert list(rows[0]) == ["method", "run", "episode", "reward"]
    assert len(rows) == 2 * 2 * 30
    assert {row["method"] for row in rows} == {"sarsa", "q_learning"}
    for row in rows:
        expected = rewards[row["method"]][int(row["run"]), int(row["episode"]) - 1]
        assert float(row["reward"]) == expected
    assert (run / "rewards.png").stat().st_size > 0
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["runs"] == 2
    assert record["mean_reward"]["sarsa"] == pytest.approx(mean_reward(rewards["sarsa"]), abs=0.01)
    assert set(paths) == {"sarsa", "q_learning"} and len(paths["sarsa"]) == 2


def test_ctrl_c_keeps_the_runs_that_finished_for_both_methods(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    calls = []

    def stopped_on_the_fourth(method, seed, episode_count):
        calls.append(method)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return run_one(method, seed, episode_count)

    monkeypatch.setattr(cliff_walking, "run_one", stopped_on_the_fourth)
    with pytest.raises(SystemExit) as stopped:
        cliff_walking.main(["--runs", "3", "--episodes", "3", "--no-show"])
    assert stopped.value.code == 130
    assert "keeping the 1 runs" in capsys.readouterr().out
    (run,) = (tmp_path / "EL" / "cliff_walking").iterdir()
    rows = read_csv(run / "rewards.csv")
    assert {(row["method"], row["run"]) for row in rows} == {("sarsa", "0"), ("q_learning", "0")}
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("argv, mentions", [
    (["--runs", "0"], "--runs"), (["--runs", "x"], "--runs"), (["--episodes", "-1"], "--episodes"),
    (["--episodes", "1.5"], "--episodes"), (["--seed", str(2**32 - 1), "--runs", "2"], "--seed"),
] + [(["--seed", seed], "--seed") for seed in BAD_SEEDS])
def test_bad_options_exit_with_status_2_and_one_sentence(argv, mentions, capsys):
    assert_refused(cliff_walking.main, argv, capsys, mentions)


RUNS, EPISODES = 10, 300  # about a second; learning test seed s uses runs 10 s ... 10 s + 9


@pytest.fixture(scope="module")
def learned():
    """Runs of both methods for each seed, shared by the learning tests of that seed."""
    cache = {}

    def get(seed):
        if seed not in cache:
            cache[seed] = run_all(RUNS, EPISODES, seed=RUNS * seed)
        return cache[seed]

    return get


@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_sarsa_earns_more_while_it_explores(seed, margin, learned):
    # ε = 0.1 sends Q-learning, on the edge, into the cliff now and then (−100 each time);
    # SARSA has priced that exploration in and walks further up.
    rewards, _, _ = learned(seed)
    gap = mean_reward(rewards["sarsa"]) - mean_reward(rewards["q_learning"])
    margin("SARSA − Q-learning, mean reward over episodes 100-300", gap, above=10)


@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_q_learnings_greedy_path_runs_along_the_edge(seed, margin, learned):
    env = make_cliff_env()
    _, paths, _ = learned(seed)
    on_the_edge = [path is not None and len(path) - 1 == OPTIMAL_PATH
                   and moves_beside_the_cliff(env, path) == 10 for path in paths["q_learning"]]
    margin("share of Q-learning runs on the 13-move edge path", np.mean(on_the_edge), above=0.8)


@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_sarsas_greedy_path_keeps_away_from_the_cliff(seed, margin, learned):
    env = make_cliff_env()
    _, paths, _ = learned(seed)
    arrived = [path for path in paths["sarsa"] if path is not None]
    # A few greedy snapshots bump into the top wall forever: an action tried rarely still
    # looks better than it is, since the table starts at 0 and every step costs −1.
    margin("share of SARSA runs whose greedy path reaches G", len(arrived) / RUNS, above=0.5)
    beside = np.mean([moves_beside_the_cliff(env, path) for path in arrived])
    margin("SARSA: mean cells beside the cliff on the greedy path (Q-learning: 10)", beside,
           below=2)
    assert typical_path(paths["sarsa"])[0] > OPTIMAL_PATH
