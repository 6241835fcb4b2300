import numpy as np
import pytest

from DP.environment import Environment
from DP.planner import (
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    main,
)

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
GRIDS = [
    SAMPLE,
    [[0, 0, 0, 0, 1], [0, 9, 9, 0, -1], [0, 0, 0, 0, 0]],  # 3 x 5, not square
    [[0, 1]],  # 1 x 2
    [[0, 0], [0, 0], [0, 0]],  # no terminal at all
    [[0, 9, 1], [9, 0, 0], [0, 9, 0]],  # the terminal cannot be reached
]


def bellman_backup(env, V, gamma):
    """The Bellman optimality backup, written from the dict API, independently of the planner."""
    backed_up, best_actions = {}, {}
    for state in env.states:
        if not env.can_action_at(state):
            backed_up[state], best_actions[state] = 0.0, []
            continue
        values = {}
        for action in env.actions:
            values[action] = sum(
                prob * (env.reward_func(n)[0] + gamma * V[n.row][n.column])
                for n, prob in env.transit_func(state, action).items()
            )
        backed_up[state] = max(values.values())
        best_actions[state] = [a for a, v in values.items() if v >= backed_up[state] - 1e-6]
    return backed_up, best_actions


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_value_iteration_satisfies_the_bellman_equation(grid, gamma):
    env = Environment(grid, move_prob=0.8)
    threshold = 1e-8
    V = ValueIterationPlanner(env).plan(gamma=gamma, threshold=threshold)
    backed_up, _ = bellman_backup(env, V, gamma)
    for state, value in backed_up.items():
        assert V[state.row][state.column] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("grid", GRIDS)
def test_value_and_policy_iteration_agree(grid):
    env = Environment(grid, move_prob=0.8)
    V_value = ValueIterationPlanner(env).plan(gamma=0.9, threshold=1e-8)
    V_policy = PolicyIterationPlanner(env).plan(gamma=0.9, threshold=1e-8)
    np.testing.assert_allclose(V_value, V_policy, atol=1e-6)


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("planner_class", [ValueIterationPlanner, PolicyIterationPlanner])
def test_greedy_actions_are_greedy_with_respect_to_the_values(grid, planner_class):
    env = Environment(grid, move_prob=0.8)
    planner = planner_class(env)
    V = planner.plan(gamma=0.9, threshold=1e-8)
    _, best_actions = bellman_backup(env, V, 0.9)
    greedy = planner.greedy_actions()
    for state in env.states:
        assert set(greedy[state.row][state.column]) == set(best_actions[state])


def test_policy_iteration_policy_is_greedy_and_deterministic():
    env = Environment(SAMPLE)
    planner = PolicyIterationPlanner(env)
    V = planner.plan()
    _, best_actions = bellman_backup(env, V, 0.9)
    for state, action_probs in planner.policy.items():
        assert sorted(action_probs.values()) == [0.0, 0.0, 0.0, 1.0]
        if env.can_action_at(state):
            chosen = max(action_probs, key=action_probs.get)
            assert chosen in best_actions[state]


def test_policy_evaluation_is_an_expectation_not_a_max():
    env = Environment(SAMPLE)
    planner = PolicyIterationPlanner(env)
    planner.initialize()  # the uniformly random policy
    V_random = planner.estimate_by_policy(gamma=0.9, threshold=1e-10)
    V_best = ValueIterationPlanner(env).plan(gamma=0.9, threshold=1e-10)
    # The random policy wanders: its values are strictly worse than the optimal ones.
    start = env.reset()
    assert V_random[start] < V_best[start.row][start.column] - 0.1


def test_the_books_sample_values():
    env = Environment(SAMPLE)
    V = ValueIterationPlanner(env).plan()
    assert V[0][:3] == pytest.approx([0.610, 0.766, 0.928], abs=1e-3)
    assert V[2][0] == pytest.approx(0.374, abs=1e-3)


def test_log_holds_every_sweep_and_ends_with_the_result():
    env = Environment(SAMPLE)
    planner = ValueIterationPlanner(env)
    V = planner.plan()
    assert planner.log[0] == [[0.0] * 4] * 3
    assert planner.log[-1] == V
    assert planner.iterations == len(planner.log) - 1 > 1


def test_a_diverging_plan_stops_at_the_limit():
    env = Environment([[0, 0], [0, 0]])  # no terminal and γ = 1: values fall forever
    with pytest.raises(PlanningDidNotConverge):
        ValueIterationPlanner(env).plan(gamma=1.0, max_iterations=500)


def test_main_prints_both_value_grids(capsys):
    main([])
    out = capsys.readouterr().out
    assert "Value Iteration" in out and "Policy Iteration" in out
    assert "0.610" in out


def test_main_reads_a_saved_maze_and_rejects_a_bad_one(tmp_path, capsys):
    good = tmp_path / "maze.json"
    good.write_text('{"grid": [[0, 0, 1], [0, 9, -1]], "prob": 0.9}')
    main(["--grid", str(good)])
    assert "move_prob=0.9" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"grid": [[0, 0, 1], [9]]}')
    with pytest.raises(SystemExit) as exit_info:
        main(["--grid", str(bad)])
    assert exit_info.value.code == 2
    assert "rectangular" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--grid", str(tmp_path / "missing.json")])
