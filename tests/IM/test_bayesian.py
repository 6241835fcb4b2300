from common import set_seed

import numpy as np
import pytest

from envs.gridworld import GridWorld
from IM import bayesian
from IM.bayesian import BayesianIRL
from IM.maxent import demonstrate
from IM.planner import ValueIterationPlanner

GOAL_GRID = [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]


def pairs_from_teacher(grid, seed, count=20):
    env = GridWorld(grid)
    set_seed(seed, env)
    teacher = ValueIterationPlanner(env)
    teacher.plan()
    demos = demonstrate(env, teacher, count)
    return env, [list(zip(states, actions)) for states, actions in demos]


def test_likelihood_is_the_mean_log_softmax_of_the_taken_actions():
    env = GridWorld([[0, 0, 1]])
    irl = BayesianIRL(env, eta=2.0)
    Q = np.array([[0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0]])
    trajectories = [[(0, 3), (1, 3)], [(0, 0)]]

    def log_softmax(row, action):
        return 2.0 * row[action] - np.log(np.exp(2.0 * row).sum())

    expected = (log_softmax(Q[0], 3) + log_softmax(Q[1], 3) + log_softmax(Q[0], 0)) / 2
    assert irl.calculate_likelihood(trajectories, Q) == pytest.approx(expected)
    # The teacher's best actions are likelier than the others.
    assert irl.calculate_likelihood([[(0, 3)]], Q) > irl.calculate_likelihood([[(0, 0)]], Q)


def test_prior_is_the_normal_log_density():
    env = GridWorld([[0, 1]])
    irl = BayesianIRL(env, prior_mean=0.5, prior_scale=2.0)
    reward = np.array([0.5, 2.5])
    expected = 2 * -np.log(2.0 * np.sqrt(2 * np.pi)) - 0.5 * 1.0
    assert irl.log_prior(reward) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_estimated_reward_peaks_at_or_next_to_the_goal_on_a_non_square_grid(seed):
    env, trajectories = pairs_from_teacher(GOAL_GRID, seed)
    irl = BayesianIRL(env)
    estimated = irl.estimate(trajectories, epoch=30)
    assert estimated.shape == (3, 5)
    row, col = np.unravel_index(estimated.argmax(), estimated.shape)
    assert abs(row - 0) + abs(col - 4) <= 1
    # The search climbed the posterior.
    assert irl.log_posterior_history[-1] > irl.log_posterior_history[0]


def test_estimate_rejects_empty_demonstrations():
    with pytest.raises(ValueError):
        BayesianIRL(GridWorld(GOAL_GRID)).estimate([[]], epoch=1)


def test_main_shows_true_and_estimated_rewards(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    estimated = bayesian.main(["--epoch", "5", "--trajectories", "5", "--sample-size", "5",
                               "--no-show"])
    assert estimated.shape == (4, 4)
    assert (tmp_path / "IM" / "bayesian" / "rewards.png").stat().st_size > 0
    assert "Log posterior" in capsys.readouterr().out


def test_main_rejects_a_bad_gamma(capsys):
    with pytest.raises(SystemExit) as error:
        bayesian.main(["--gamma", "-0.1"])
    assert error.value.code == 2
