import json

from common import set_seed

import numpy as np
import pytest

from envs.gridworld import GridWorldEnv
from IM import maxent
from IM.irl_demo import demonstrate, judge, teacher_demonstrations
from IM.maxent import MaxEntIRL
from IM.vectorized_planner import ValueIterationPlanner
from tests.learning_margins import learning_seeds

# 3 rows x 5 columns, not square: the goal top right, a block, and a Danger cell in the way
# of a walk along the bottom row.
WIDE = [[0, 0, 0, 0, 1], [0, 9, 0, 0, 0], [0, 0, -1, 0, 0]]


def demonstrations(grid, seed, count=20):
    env = GridWorldEnv(grid)
    set_seed(seed)
    return env, teacher_demonstrations(env, count, seed)


def test_demonstrations_run_from_the_start_to_an_end_cell():
    env, demos = demonstrations(WIDE, seed=0)
    assert len(demos) == 20
    for states, actions in demos:
        assert states[0] == env.start_state
        assert env.mdp.terminal[states[-1]]
        assert not env.mdp.terminal[states[:-1]].any()
        assert len(states) == len(actions) + 1


def test_the_teacher_counts_each_visit_once():
    env = GridWorldEnv([[0, 0, 1]], move_prob=1.0)
    counts = MaxEntIRL(env).calculate_expected_feature([[0, 1, 2], [0, 0, 1, 2]])
    np.testing.assert_allclose(counts, [1.5, 1.0, 1.0])


def test_planned_visitation_of_a_deterministic_walk_counts_each_step_once():
    # By hand: always right on a 1 x 3 corridor from cell 0 visits 0, 1 and then the goal,
    # once each; a longer horizon adds nothing, because the walk is over at the goal.
    env = GridWorldEnv([[0, 0, 1]], move_prob=1.0)
    irl = MaxEntIRL(env)
    always_right = np.tile([0.0, 0.0, 1.0, 0.0], (3, 1))  # LEFT, DOWN, RIGHT, UP
    np.testing.assert_allclose(irl.expected_features_under_policy(always_right, [[0, 1, 2]]),
                               [1.0, 1.0, 1.0])
    np.testing.assert_allclose(
        irl.expected_features_under_policy(always_right, [[0, 1, 2], [0, 0, 0, 0, 1, 2]]),
        [1.0, 1.0, 1.0])
    # Always left bumps into the wall: cell 0 again and again, for the whole horizon of 4.
    always_left = np.tile([1.0, 0.0, 0.0, 0.0], (3, 1))
    np.testing.assert_allclose(irl.expected_features_under_policy(always_left, [[0, 0, 1, 2]]),
                               [4.0, 0.0, 0.0])


def test_planned_visitation_with_slips_by_hand():
    # 1 x 3 again, move_prob 0.8: right from cell 0 goes right with 0.8; the two slips (up,
    # down) bump into the edges and stay. Two steps: cell 0 counts 1 + 0.2, cell 1 counts 0.8.
    env = GridWorldEnv([[0, 0, 1]], move_prob=0.8)
    always_right = np.tile([0.0, 0.0, 1.0, 0.0], (3, 1))
    visits = MaxEntIRL(env).expected_features_under_policy(always_right, [[0, 1]])
    np.testing.assert_allclose(visits, [1.2, 0.8, 0.0])


@pytest.mark.parametrize("grid", [WIDE, [[0, 0, 0, 1], [0, 0, 0, 0], [0, -1, 0, 0],
                                         [0, 0, 0, 0]]])
@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2))
@pytest.mark.learning
def test_the_three_facts_hold(grid, seed, margin):
    env, demos = demonstrations(grid, seed=seed)
    estimated = MaxEntIRL(env).estimate([states for states, _ in demos], epoch=100)
    assert estimated.shape == env.shape
    facts = judge(env, estimated, 0.9)
    for fact in ("peak_near_treasure", "danger_below_median", "reaches_treasure"):
        margin(fact, facts[fact], above=0.5)


def test_judge_by_hand():
    env = GridWorldEnv(WIDE, move_prob=1.0)
    # Highest on the treasure, danger lowest: the plan walks up the left side and along the
    # top (the block is in the middle row), 6 moves.
    good = np.zeros(15)
    good[4], good[12] = 1.0, -1.0
    facts = judge(env, good, 0.9)
    assert facts["peak"] == 4 and facts["peak_near_treasure"]
    assert facts["danger_below_median"] and facts["reaches_treasure"]
    assert facts["path"][0] == env.start_state and facts["path"][-1] == 4
    assert len(facts["path"]) - 1 == 6
    # Highest next to the treasure counts as near it, but a plan that can collect that reward
    # again and again (bumping into the top edge) never ends its walk: the third fact fails.
    loiter = np.zeros(15)
    loiter[3] = 1.0
    facts = judge(env, loiter, 0.9)
    assert facts["peak_near_treasure"] and not facts["reaches_treasure"]
    # Highest at the start, danger above the median: the plan stays at the start forever.
    bad = np.zeros(15)
    bad[10], bad[12] = 1.0, 0.5
    facts = judge(env, bad, 0.9)
    assert not facts["peak_near_treasure"]
    assert not facts["danger_below_median"]
    assert not facts["reaches_treasure"]


def test_demonstrate_stops_at_max_steps():
    env = GridWorldEnv([[0, 0, 1]], move_prob=1.0)
    planner = ValueIterationPlanner(env, reward_func=lambda s: 0.0)
    planner.plan()
    (states, actions), = demonstrate(env, planner, count=1, max_steps=7)
    assert len(actions) <= 7


def test_estimate_rejects_states_outside_the_grid():
    with pytest.raises(ValueError):
        MaxEntIRL(GridWorldEnv(WIDE)).estimate([[0, 99]], epoch=1)


def test_main_writes_the_estimate_and_prints_the_facts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    maze = tmp_path / "maze.json"
    maze.write_text(json.dumps({"grid": WIDE, "prob": 0.8}))
    estimated = maxent.main(["--grid", str(maze), "--no-show"])
    assert estimated.shape == (3, 5)
    out = capsys.readouterr().out
    assert "宝 (Treasure) かその隣か: はい (yes)" in out
    assert "中央値より低いか: はい (yes)" in out
    assert "宝に着くか (reaches the Treasure): はい (yes)" in out
    (run,) = (tmp_path / "IM" / "maxent").iterdir()
    np.testing.assert_allclose(np.loadtxt(run / "estimated_reward.csv", delimiter=","),
                               estimated, atol=1e-6)
    assert (run / "rewards.png").stat().st_size > 0
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["reaches_treasure"] is True
    # A second run has a folder of its own.
    maxent.main(["--epoch", "2", "--no-show"])
    assert len(list((tmp_path / "IM" / "maxent").iterdir())) == 2


@pytest.mark.parametrize("argv", [["--epoch", "0"], ["--learning-rate", "nan"],
                                  ["--learning-rate", "-1"], ["--gamma", "1"],
                                  ["--seed", "-1"], ["--trajectories", "0"]])
def test_main_rejects_bad_options_up_front(argv, capsys):
    with pytest.raises(SystemExit) as error:
        maxent.main(argv)
    assert error.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_main_refuses_a_bad_maze_file_in_one_sentence(tmp_path, capsys):
    no_treasure = tmp_path / "no_treasure.json"
    no_treasure.write_text(json.dumps({"grid": [[0, 0], [0, -1]]}))
    for path in (tmp_path / "missing.json", no_treasure):
        with pytest.raises(SystemExit) as error:
            maxent.main(["--grid", str(path), "--no-show"])
        assert error.value.code == 2
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err
