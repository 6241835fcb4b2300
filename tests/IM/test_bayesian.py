import json

from common import set_seed

import numpy as np
import pytest

from envs.gridworld import GridWorldEnv
from IM import bayesian
from IM.bayesian import BayesianIRL
from IM.irl_demo import judge, teacher_demonstrations
from tests.learning_margins import learning_seeds

WIDE = [[0, 0, 0, 0, 1], [0, 9, 0, 0, 0], [0, 0, -1, 0, 0]]
BOOK = [[0, 0, 0, 1], [0, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 0]]


def pairs_from_teacher(grid, seed, count=20):
    env = GridWorldEnv(grid)
    set_seed(seed)
    demos = teacher_demonstrations(env, count, seed)
    return env, [list(zip(states, actions)) for states, actions in demos]


def test_likelihood_is_the_mean_log_softmax_of_the_taken_actions():
    env = GridWorldEnv([[0, 0, 1]])
    irl = BayesianIRL(env, eta=2.0)
    Q = np.array([[0.0, 0.0, 1.0, 0.0], [0.5, 0.0, 0.2, 0.0], [0.0, 0.0, 0.0, 0.0]])
    trajectories = [[(0, 2), (1, 2)], [(0, 0)]]

    def log_softmax(row, action):
        return 2.0 * row[action] - np.log(np.exp(2.0 * row).sum())

    expected = (log_softmax(Q[0], 2) + log_softmax(Q[1], 2) + log_softmax(Q[0], 0)) / 2
    assert irl.calculate_likelihood(trajectories, Q) == pytest.approx(expected)
    # The teacher's best actions are likelier than the others.
    assert irl.calculate_likelihood([[(0, 2)]], Q) > irl.calculate_likelihood([[(0, 0)]], Q)


def test_prior_is_the_normal_log_density():
    env = GridWorldEnv([[0, 1]])
    irl = BayesianIRL(env, prior_mean=0.5, prior_scale=2.0)
    reward = np.array([0.5, 2.5])
    expected = 2 * -np.log(2.0 * np.sqrt(2 * np.pi)) - 0.5 * 1.0
    assert irl.log_prior(reward) == pytest.approx(expected)


@pytest.mark.slow
@pytest.mark.parametrize("grid", [WIDE, BOOK])
@pytest.mark.parametrize("seed", learning_seeds(0, 1))
@pytest.mark.learning
def test_the_three_facts_hold(grid, seed, margin):
    env, trajectories = pairs_from_teacher(grid, seed)
    irl = BayesianIRL(env)
    estimated = irl.estimate(trajectories)
    assert estimated.shape == env.shape
    facts = judge(env, estimated, 0.9)
    for fact in ("peak_near_treasure", "danger_below_median", "reaches_treasure"):
        margin(fact, facts[fact], above=0.5)
    # The search climbed the posterior.
    assert irl.log_posterior_history[-1] > irl.log_posterior_history[0]


def test_the_books_eta_leaves_the_danger_cell_at_the_prior():
    # Why the default differs from the book: with η = 0.8 the teacher's avoidance of the
    # Danger cell hardly moves its estimate away from the prior's 0, while η = 5 pushes it
    # clearly below. Same demonstrations, same random draws.
    env, trajectories = pairs_from_teacher(BOOK, 0)
    danger = env.coordinate_to_state(2, 1)
    estimates = {}
    for eta in (0.8, 5.0):
        set_seed(0)
        estimates[eta] = BayesianIRL(env, eta=eta).estimate(trajectories, epoch=30,
                                                            sample_size=10).ravel()
    assert estimates[5.0][danger] < estimates[0.8][danger] - 0.2


def test_estimate_rejects_empty_demonstrations():
    with pytest.raises(ValueError):
        BayesianIRL(GridWorldEnv(WIDE)).estimate([[]], epoch=1)


def test_main_writes_the_estimate_and_prints_the_facts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    maze = tmp_path / "maze.json"
    maze.write_text(json.dumps({"grid": WIDE}))
    estimated = bayesian.main(["--grid", str(maze), "--epoch", "3", "--trajectories", "5",
                               "--sample-size", "4", "--no-show"])
    assert estimated.shape == (3, 5)
    out = capsys.readouterr().out
    assert "対数事後確率 (log posterior)" in out
    assert "1. 推定した報酬の最大 (highest estimate)" in out and "3. 推定した報酬で計画した" in out
    (run,) = (tmp_path / "IM" / "bayesian").iterdir()
    np.testing.assert_allclose(np.loadtxt(run / "estimated_reward.csv", delimiter=","),
                               estimated, atol=1e-6)
    assert (run / "rewards.png").stat().st_size > 0


@pytest.mark.parametrize("argv", [["--eta", "-1"], ["--eta", "0"], ["--eta", "inf"],
                                  ["--gamma", "-0.1"], ["--gamma", "1"],
                                  ["--sample-size", "1"], ["--seed", "-1"]])
def test_main_rejects_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as error:
        bayesian.main(argv)
    assert error.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
