import csv
import json
from collections import deque

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from MM import dyna_maze
from MM.dyna_maze import (
    GOAL,
    LEFT,
    RIGHT,
    SHORTEST_PATH,
    START,
    UP,
    WALLS,
    DynaMaze,
    episodes_to_goal,
    run_all,
    run_one,
)
from tests.learning_margins import learning_seeds
from tests.option_checks import BAD_SEEDS, assert_refused


def state(row, column):
    return row * 9 + column


def test_the_maze_passes_gymnasiums_checks():
    env = DynaMaze()
    check_env(env, skip_render_check=True)  # render() is checked by its text below
    assert env.observation_space.n == 54 and env.action_space.n == 4


def test_reset_starts_at_s_and_the_same_seed_gives_the_same_runs():
    env = DynaMaze()
    assert env.reset(seed=7) == (state(*START), {})
    first, second = run_one(5, 3, 8), run_one(5, 3, 8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(run_one(5, 4, 8)[0], first[0])


def test_walls_and_edges_leave_the_agent_in_place_and_only_the_goal_pays():
    env = DynaMaze()
    env.reset(seed=0)
    # S is at (2, 0): the left edge and, two cells right, the wall (2, 2).
    assert env.step(LEFT) == (state(2, 0), 0.0, False, False, {})
    env.step(RIGHT)
    assert env.step(RIGHT)[0] == state(2, 1)
    for row, column in WALLS:
        for action, (d_row, d_column) in enumerate(dyna_maze.MOVES):
            beside = (row - d_row, column - d_column)
            if 0 <= beside[0] < 6 and 0 <= beside[1] < 9 and beside not in WALLS:
                assert env.move(state(*beside), action) == state(*beside)
    # The top-right corner is G: arriving pays +1 and ends the episode; nothing else pays.
    env.state = state(1, 8)
    assert env.step(UP) == (state(*GOAL), 1.0, True, False, {})
    env.reset()
    assert env.render().splitlines() == [".......#G", "..#....#.", "A.#....#.", "..#......",
                                         ".....#...", "........."]


def test_the_shortest_path_is_14_steps():
    # Breadth-first search over the maze's moves.
    env = DynaMaze()
    distance = {env.start_state: 0}
    frontier = deque([env.start_state])
    while frontier:
        s = frontier.popleft()
        for action in range(4):
            n = env.move(s, action)
            if n not in distance:
                distance[n] = distance[s] + 1
                frontier.append(n)
    assert distance[env.goal_state] == SHORTEST_PATH == 14
    assert len(distance) == 54 - len(WALLS)  # every open cell can be reached


def test_steps_count_every_episode_and_the_greedy_walk_is_measured_after_each():
    steps, greedy = run_one(50, 0, 6)
    assert steps.shape == greedy.shape == (6,)
    assert steps.min() >= SHORTEST_PATH
    assert episodes_to_goal(greedy) <= 6
    assert np.nanmin(greedy) >= SHORTEST_PATH
    assert np.isnan(episodes_to_goal(np.array([np.nan, np.nan])))
    assert episodes_to_goal(np.array([np.nan, 16.0, 14.0])) == 2


@pytest.mark.slow  # starting worker processes takes seconds
def test_the_numbers_do_not_depend_on_the_number_of_processes():
    one = run_all([0, 5], runs=2, episode_count=4, seed=11, n_jobs=1)
    two = run_all([0, 5], runs=2, episode_count=4, seed=11, n_jobs=2)
    for part in (0, 1):
        for n in (0, 5):
            np.testing.assert_array_equal(one[part][n], two[part][n])
    assert one[2] is two[2] is False


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_small_run_prints_the_table_and_saves_the_csv_and_the_figure(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    steps, greedy = dyna_maze.main(["--runs", "2", "--episodes", "5", "--planning-steps", "0",
                                    "5", "--seed", "3", "--no-show"])
    out = capsys.readouterr().out
    assert "2 回目" in out and "[episode 2:" in out and "episode 10" not in out
    (run,) = (tmp_path / "MM" / "dyna_maze").iterdir()
    rows = read_csv(run / "steps.csv")
    assert list(rows[0]) == ["n", "run", "episode", "steps"]
    assert len(rows) == 2 * 2 * 5
    for row in rows:
        assert int(row["steps"]) == steps[int(row["n"])][int(row["run"]), int(row["episode"]) - 1]
    assert (run / "steps.png").stat().st_size > 0
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["runs"] == 2
    assert set(greedy) == {0, 5}


def test_ctrl_c_keeps_the_runs_that_finished_for_every_n(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    calls = []

    def stopped_on_the_fourth(steps_in_model, seed, episode_count):
        calls.append(steps_in_model)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return run_one(steps_in_model, seed, episode_count)

    monkeypatch.setattr(dyna_maze, "run_one", stopped_on_the_fourth)
    with pytest.raises(SystemExit) as stopped:
        dyna_maze.main(["--runs", "3", "--episodes", "3", "--planning-steps", "0", "5",
                        "--no-show"])
    assert stopped.value.code == 130
    assert "keeping the 1 runs" in capsys.readouterr().out
    (run,) = (tmp_path / "MM" / "dyna_maze").iterdir()
    rows = read_csv(run / "steps.csv")
    assert {(row["n"], row["run"]) for row in rows} == {("0", "0"), ("5", "0")}
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("argv, mentions", [
    (["--runs", "0"], "--runs"), (["--episodes", "-1"], "--episodes"),
    (["--episodes", "x"], "--episodes"), (["--planning-steps", "-1"], "--planning-steps"),
    (["--planning-steps"], "--planning-steps"),
    (["--seed", str(2**32 - 1), "--runs", "2"], "--seed"),
    (["--jobs", "0"], "--jobs"), (["--jobs", "-2"], "--jobs"),
] + [(["--seed", seed], "--seed") for seed in BAD_SEEDS])
def test_bad_options_exit_with_status_2_and_one_sentence(argv, mentions, capsys):
    assert_refused(dyna_maze.main, argv, capsys, mentions)


@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_planning_finds_the_way_in_far_fewer_real_episodes(seed, margin):
    # After how many real episodes the greedy policy first walks from S to G: without
    # planning the goal's value creeps back one state per episode; with 50 planning steps
    # the model replays the first episode until the value reaches the start.
    planned = episodes_to_goal(run_one(50, seed, 10)[1])
    plain = episodes_to_goal(run_one(0, seed, 60)[1])
    margin("episodes to the goal with n = 50", planned, below=4)
    margin("episodes without planning / with n = 50", plain / planned, above=5)
    # Once it gets there, the greedy path is short: the shortest (14) or the top route (16).
    assert run_one(50, seed, 10)[1][-1] <= SHORTEST_PATH + 2
