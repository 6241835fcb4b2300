from common import set_seed

import numpy as np
import pytest

from envs.gridworld import GridWorld
from IM import maxent
from IM.maxent import MaxEntIRL, demonstrate
from IM.planner import ValueIterationPlanner

# 3 rows x 5 columns, the goal in the top-right corner; the start is the lower-left cell.
GOAL_GRID = [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]


def demonstrations(grid, seed, count=20):
    env = GridWorld(grid)
    set_seed(seed, env)
    teacher = ValueIterationPlanner(env)
    teacher.plan()
    return env, demonstrate(env, teacher, count)


def near(env, state, other):
    (r1, c1), (r2, c2) = env.state_to_coordinate(state), env.state_to_coordinate(other)
    return abs(r1 - r2) + abs(c1 - c2) <= 1


def test_demonstrations_run_from_the_start_to_the_goal():
    env, demos = demonstrations(GOAL_GRID, seed=0)
    goal = env.coordinate_to_state(0, 4)
    assert len(demos) == 20
    for states, actions in demos:
        assert states[0] == env.start_state
        assert states[-1] == goal
        assert len(states) == len(actions) + 1


def test_expected_visitation_sums_to_the_trajectory_length():
    env, demos = demonstrations(GOAL_GRID, seed=1)
    trajectories = [states for states, _ in demos]
    horizon = max(len(t) for t in trajectories)
    irl = MaxEntIRL(env)
    uniform = np.full((env.observation_space.n, 4), 0.25)
    for policy in (uniform, np.eye(4)[np.random.randint(4, size=env.observation_space.n)]):
        visitation = irl.expected_features_under_policy(policy, trajectories)
        assert visitation.sum() == pytest.approx(horizon)
        assert np.all(visitation >= 0)
    # The teacher's own expectation counts the same number of steps (padded at the goal).
    assert irl.calculate_expected_feature(trajectories).sum() == pytest.approx(horizon)


def test_visitation_of_a_deterministic_walk_counts_each_step_once():
    env = GridWorld([[0, 0, 1]], move_prob=1.0)
    irl = MaxEntIRL(env)
    always_right = np.tile([0.0, 0.0, 0.0, 1.0], (3, 1))
    visitation = irl.expected_features_under_policy(always_right, [[0, 1, 2]])
    np.testing.assert_allclose(visitation, [1.0, 1.0, 1.0])
    # A longer horizon keeps the extra steps on the absorbing goal.
    visitation = irl.expected_features_under_policy(always_right, [[0, 1, 2], [0, 0, 1, 2, 2]])
    np.testing.assert_allclose(visitation, [1.0, 1.0, 3.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_estimated_reward_peaks_at_the_goal_on_a_non_square_grid(seed):
    env, demos = demonstrations(GOAL_GRID, seed=seed)
    estimated = MaxEntIRL(env).estimate([states for states, _ in demos], epoch=30)
    assert estimated.shape == (3, 5)
    best = env.coordinate_to_state(*np.unravel_index(estimated.argmax(), estimated.shape))
    assert near(env, best, env.coordinate_to_state(0, 4))


def test_estimate_rejects_states_outside_the_grid():
    env = GridWorld(GOAL_GRID)
    with pytest.raises(ValueError):
        MaxEntIRL(env).estimate([[0, 99]], epoch=1)


def test_main_shows_true_and_estimated_rewards(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    estimated = maxent.main(["--epoch", "40", "--trajectories", "10", "--no-show"])
    assert estimated.shape == (4, 4)
    # The book's grid: +1 in the top-right corner, -1 at row 2, column 1.
    assert np.unravel_index(estimated.argmax(), estimated.shape) == (0, 3)
    assert (tmp_path / "IM" / "maxent" / "rewards.png").stat().st_size > 0
    assert "Estimate reward" in capsys.readouterr().out


def test_main_rejects_a_bad_budget(capsys):
    with pytest.raises(SystemExit) as error:
        maxent.main(["--epoch", "0"])
    assert error.value.code == 2
