from functools import partialmethod

import numpy as np
import pytest

from DP.environment import ACTIONS, Action, State
from DP.vectorized_planner import (
    Environment,
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


def books_policy_evaluation(env, policy, gamma, threshold=1e-12):
    """The book's ``estimate_by_policy``, written with dicts: in-place sweeps of
    V(s) ← Σ_a π(a|s) Σ_s' T(s'|s,a) (R(s') + γ V(s')), independently of the planner."""
    V = {state: 0.0 for state in env.states}
    while True:
        delta = 0.0
        for state in env.states:
            if not env.can_action_at(state):
                continue
            expected = sum(
                action_prob * sum(prob * (env.reward_func(n)[0] + gamma * V[n])
                                  for n, prob in env.transit_func(state, action).items())
                for action, action_prob in policy[state].items()
            )
            delta = max(delta, abs(expected - V[state]))
            V[state] = expected
        if delta < threshold:
            return V


def test_policy_evaluation_of_the_random_policy_by_hand():
    # One cell next to the treasure, moves that never slip: RIGHT (1 in 4) reaches the
    # treasure, the other three bump into the edge, pay −0.04 and stay. So
    #   V = 1/4 · 1 + 3/4 · (−0.04 + γ V),  that is  V = (0.25 − 0.03) / (1 − 0.75 γ).
    # A max instead of the expectation would give V = 1.
    env = Environment([[0, 1]], move_prob=1.0)
    planner = PolicyIterationPlanner(env)
    planner.initialize()  # the uniformly random policy
    V = planner.estimate_by_policy(gamma=0.9, threshold=1e-12)
    assert V[State(0, 0)] == pytest.approx(0.22 / (1 - 0.75 * 0.9), abs=1e-9)
    assert V[State(0, 1)] == 0.0  # nothing follows the end of the episode


@pytest.mark.parametrize("grid", GRIDS)
def test_policy_evaluation_matches_the_books_dict_backup(grid):
    env = Environment(grid, move_prob=0.8)
    planner = PolicyIterationPlanner(env)
    planner.initialize()
    # A stochastic policy that is neither uniform nor greedy, one row per state.
    planner.policy_probs = np.random.default_rng(0).dirichlet(np.ones(4), env.mdp.n_states)
    V = planner.estimate_by_policy(gamma=0.9, threshold=1e-12)
    expected = books_policy_evaluation(env, planner.policy, gamma=0.9)
    for state in env.states:
        assert V[state] == pytest.approx(expected[state], abs=1e-8)


def test_policy_evaluation_is_an_expectation_not_a_max():
    env = Environment(SAMPLE)
    planner = PolicyIterationPlanner(env)
    planner.initialize()  # the uniformly random policy
    V_random = planner.estimate_by_policy(gamma=0.9, threshold=1e-10)
    V_best = ValueIterationPlanner(env).plan(gamma=0.9, threshold=1e-10)
    # The random policy wanders: its values are strictly worse than the optimal ones.
    start = env.reset()
    assert V_random[start] < V_best[start.row][start.column] - 0.1


class StartingFromRight(PolicyIterationPlanner):
    """Policy Iteration that starts from "always RIGHT" instead of the random policy."""

    def initialize(self):
        super().initialize()
        self.policy_probs = np.eye(len(ACTIONS))[[ACTIONS.index(Action.RIGHT)] * 9]


def test_policy_iteration_keeps_the_current_action_when_it_ties():
    # Treasures on both sides of the top middle cell: there LEFT and RIGHT are worth exactly
    # the same, whatever the rest of the policy is (the maze is a mirror image).
    grid = [[1, 0, 1], [9, 0, 9], [0, 0, 0]]
    env = Environment(grid)
    V = ValueIterationPlanner(env).plan(gamma=0.9, threshold=1e-10)
    _, best_actions = bellman_backup(env, V, 0.9)
    assert set(best_actions[State(0, 1)]) == {Action.LEFT, Action.RIGHT}

    planner = StartingFromRight(env)
    planner.plan(gamma=0.9, threshold=1e-10)
    right = ACTIONS.index(Action.RIGHT)
    # RIGHT was the current action and stays: switching to the tied LEFT (np.argmax's first
    # choice) would be a change that improves nothing, and could go on forever.
    assert [step[0][1] for step in planner.policy_log] == [right] * len(planner.policy_log)
    assert planner.policy[State(0, 1)][Action.RIGHT] == 1.0


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


def test_main_reads_a_saved_maze_with_its_parameters(tmp_path, capsys):
    good = tmp_path / "maze.json"
    good.write_text('{"grid": [[0, 0, 1], [0, 9, -1]], "prob": 0.9, "gamma": 0.8}')
    main(["--grid", str(good)])
    out = capsys.readouterr().out
    assert "(γ=0.8, move_prob=0.9)" in out
    main(["--grid", str(good), "--gamma", "0.5", "--move-prob", "1"])
    assert "(γ=0.5, move_prob=1.0)" in capsys.readouterr().out


BAD_MAZES = {
    "deep.json": "[" * 100_000 + "]" * 100_000,  # Python's JSON parser recurses per level
    "deep-grid.json": '{"grid": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "cut-short.json": '{"grid": [[0, 0, 1], [0',
    "binary.json": b"\x89PNG\r\n\x1a\n\x00\xff\xfe",
    "empty.json": "",
    "number.json": "42",
    "no-grid.json": '{"prob": 0.8}',
    "ragged.json": '{"grid": [[0, 0, 1], [9]]}',
    "rows-not-lists.json": '{"grid": [0, 1]}',
    "unknown-cell.json": '{"grid": [[0, 2]]}',
    "blocked-start.json": '{"grid": [[0, 1], [9, 0]]}',
    "prob-text.json": '{"grid": [[0, 1]], "prob": "high"}',
    "prob-true.json": '{"grid": [[0, 1]], "prob": true}',
    "prob-nan.json": '{"grid": [[0, 1]], "prob": NaN}',
    "gamma-too-big.json": '{"grid": [[0, 1]], "gamma": 1.5}',
}


@pytest.mark.parametrize("name", BAD_MAZES)
def test_a_broken_maze_file_gets_one_sentence_naming_it(name, tmp_path, capsys):
    path = tmp_path / name
    content = BAD_MAZES[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SystemExit) as exit_info:
        main(["--grid", str(path)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    (line,) = captured.err.splitlines()
    assert line.startswith(f"error: {path} ")
    assert "python DP/run_server.py" in line  # how to make a good one


@pytest.mark.parametrize("where", ["missing.json", "."])
def test_a_missing_maze_file_gets_one_sentence_naming_it(where, tmp_path, capsys):
    path = tmp_path / where
    with pytest.raises(SystemExit) as exit_info:
        main(["--grid", str(path)])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {path} ") and "python DP/run_server.py" in line


def test_a_plan_that_does_not_converge_gets_one_sentence(tmp_path, capsys, monkeypatch):
    maze = tmp_path / "no-goal.json"
    maze.write_text('{"grid": [[0, 0], [0, 0]]}')
    # No goal and γ = 1: the values fall forever. 200 sweeps show it as well as 100,000.
    monkeypatch.setattr(ValueIterationPlanner, "plan",
                        partialmethod(ValueIterationPlanner.plan, max_iterations=200))
    with pytest.raises(SystemExit) as exit_info:
        main(["--grid", str(maze), "--gamma", "1"])
    assert exit_info.value.code == 2
    assert "--gamma 0.99" in capsys.readouterr().err
