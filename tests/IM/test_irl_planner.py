from common import set_seed

import numpy as np
import pytest

from DP.planner import value_iteration
from envs.gridworld import DEFAULT_GRID, GridWorld
from IM import planner as irl_planner
from IM.planner import PolicyIterationPlanner, ValueIterationPlanner

PLANNERS = [ValueIterationPlanner, PolicyIterationPlanner]
NON_SQUARE = [[0, 0, 0, 0, 1], [0, 9, 0, 0, 0], [0, 0, -1, 0, 0]]


@pytest.mark.parametrize("planner_class", PLANNERS)
@pytest.mark.parametrize("grid", [DEFAULT_GRID, NON_SQUARE])
def test_values_satisfy_the_bellman_equation_and_the_policy_is_greedy(planner_class, grid):
    env = GridWorld(grid)
    planner = planner_class(env)
    V = planner.plan(gamma=0.9, threshold=1e-8)
    assert V.shape == (env.observation_space.n,)
    Q = planner.policy_to_q(V, 0.9)
    acting = ~(env.mdp.terminal | env.mdp.blocked)
    # Bellman optimality: V(s) = max_a Q(s, a) wherever the agent can act.
    np.testing.assert_allclose(Q.max(axis=1)[acting], V[acting], atol=1e-6)
    # The policy only puts probability on best actions, and every row is a distribution.
    policy = planner.policy
    np.testing.assert_allclose(policy.sum(axis=1), 1.0)
    best = Q >= Q.max(axis=1, keepdims=True) - 1e-6
    assert np.all(policy[acting][~best[acting]] == 0)
    for s in np.flatnonzero(acting):
        assert best[s, planner.act(s)]


def test_both_planners_agree_with_the_shared_value_iteration():
    env = GridWorld(DEFAULT_GRID)
    expected, _ = value_iteration(env.mdp, 0.9, 1e-8)
    for planner_class in PLANNERS:
        V = planner_class(env).plan(gamma=0.9, threshold=1e-8)
        np.testing.assert_allclose(V, expected, atol=1e-5)


@pytest.mark.parametrize("planner_class", PLANNERS)
def test_a_plugged_in_reward_changes_the_plan(planner_class):
    env = GridWorld([[0, 0, 0], [0, 0, 0], [0, 0, 0]], move_prob=1.0)
    corner = env.coordinate_to_state(0, 2)
    planner = planner_class(env, reward_func=lambda s: 1.0 if s == corner else 0.0)
    V = planner.plan(gamma=0.9)
    assert V[corner] == pytest.approx(V.max())
    # From the start (lower left), the plan heads up or right, toward the rewarded corner.
    assert planner.act(env.start_state) in (0, 3)
    # Swap the reward to the lower-right corner: now the plan from the start goes right only.
    other = env.coordinate_to_state(2, 2)
    planner.reward_func = lambda s: 1.0 if s == other else 0.0
    planner.plan(gamma=0.9)
    assert planner.act(env.start_state) == 3


def test_main_prints_both_plans(capsys):
    set_seed(0)
    results = irl_planner.main([])
    assert set(results) == {"Value Iteration", "Policy Iteration"}
    np.testing.assert_allclose(results["Value Iteration"], results["Policy Iteration"],
                               atol=1e-3)
    assert "Policy Iteration" in capsys.readouterr().out


def test_main_rejects_a_bad_gamma(capsys):
    with pytest.raises(SystemExit) as error:
        irl_planner.main(["--gamma", "1.5"])
    assert error.value.code == 2
