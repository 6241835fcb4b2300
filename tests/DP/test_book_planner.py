"""DP/planner.py, the book's listing: its loops give what the vectorized planners give.

The book's planners walk the states one by one with ``transitions_at``; the server plans with
``DP/vectorized_planner.py``. Planned to a tight threshold, both reach the same values and
the same policy on every maze here, whatever the move probability, γ and the rewards.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

from DP import planner as book
from DP import vectorized_planner as fast
from DP.environment import Action, Environment, State

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
WIDE = [[0, 0, 0, 0, 1], [0, 9, 9, 0, -1], [0, 0, 0, 0, 0]]
rng = np.random.default_rng(7)
RANDOM = np.where(rng.random((6, 6)) < 0.15, 9, 0)
RANDOM[0, 5], RANDOM[2, 3], RANDOM[5, 0] = 1, -1, 0
RANDOM = RANDOM.tolist()
CAMP = [[-0.04, -0.04, -0.04, 1], [-0.04, 0.0, -0.04, -1], [-0.04, -0.04, -0.04, 0.5]]
MAZES = [(SAMPLE, None), (WIDE, None), (RANDOM, None), (SAMPLE, CAMP)]
# (move probability, γ): slips or not, short-sighted or far-sighted.
SETTINGS = [(0.6, 0.95), (0.8, 0.9), (1.0, 0.5), (0.8, 0.95)]
THRESHOLD = 1e-9


def greedy_sets(env, V, gamma):
    """Every best action of each acting cell, from the dict API (ties within 1e-6 kept)."""
    best = {}
    for state in env.states:
        if env.can_action_at(state):
            q = {a: sum(p * (env.reward_func(n)[0] + gamma * V[n.row][n.column])
                        for n, p in env.transit_func(state, a).items()) for a in env.actions}
            best[state] = {a for a, value in q.items() if value >= max(q.values()) - 1e-6}
    return best


@pytest.mark.parametrize("grid, rewards", MAZES, ids=["sample", "wide", "random", "rewards"])
@pytest.mark.parametrize("move_prob, gamma", SETTINGS)
def test_the_books_value_iteration_gives_the_vectorized_values_and_policy(grid, rewards,
                                                                          move_prob, gamma):
    env = Environment(grid, move_prob=move_prob, rewards=rewards)
    V = book.ValueIterationPlanner(env).plan(gamma=gamma, threshold=THRESHOLD)
    vectorized = fast.ValueIterationPlanner(fast.Environment(grid, move_prob, rewards))
    expected = vectorized.plan(gamma=gamma, threshold=THRESHOLD)
    np.testing.assert_allclose(V, expected, atol=1e-7)
    greedy = vectorized.greedy_actions()
    for state, actions in greedy_sets(env, V, gamma).items():
        assert actions == set(greedy[state.row][state.column])


@pytest.mark.parametrize("grid, rewards", MAZES, ids=["sample", "wide", "random", "rewards"])
@pytest.mark.parametrize("move_prob, gamma", SETTINGS)
def test_the_books_policy_iteration_gives_the_vectorized_values_and_policy(grid, rewards,
                                                                           move_prob, gamma):
    env = Environment(grid, move_prob=move_prob, rewards=rewards)
    planner = book.PolicyIterationPlanner(env)
    V = planner.plan(gamma=gamma, threshold=THRESHOLD)
    vectorized = fast.PolicyIterationPlanner(fast.Environment(grid, move_prob, rewards))
    expected = vectorized.plan(gamma=gamma, threshold=THRESHOLD)
    np.testing.assert_allclose(V, expected, atol=1e-7)
    # Both policies are greedy on those values: each chosen action is one of the best.
    greedy = fast.ValueIterationPlanner(fast.Environment(grid, move_prob, rewards))
    greedy.plan(gamma=gamma, threshold=THRESHOLD)
    best = greedy.greedy_actions()
    for state in env.states:
        if env.can_action_at(state):
            chosen = max(planner.policy[state], key=planner.policy[state].get)
            assert chosen in best[state.row][state.column]
            assert sorted(planner.policy[state].values()) == [0, 0, 0, 1]


def test_transitions_at_yields_each_outcome_with_its_reward_on_arrival():
    env = Environment(SAMPLE, move_prob=0.8, rewards=CAMP)
    planner = book.Planner(env)
    outcomes = list(planner.transitions_at(State(2, 2), Action.RIGHT))
    assert outcomes == [(0.8, State(2, 3), 0.5), (pytest.approx(0.1), State(1, 2), -0.04),
                        (pytest.approx(0.1), State(2, 2), -0.04)]
    assert list(planner.transitions_at(State(0, 3), Action.LEFT)) == []  # the end


def test_the_books_sample_values_and_log():
    env = Environment(SAMPLE)
    planner = book.ValueIterationPlanner(env)
    V = planner.plan()
    assert V[0][:3] == pytest.approx([0.610, 0.766, 0.928], abs=1e-3)
    assert V[2][0] == pytest.approx(0.374, abs=1e-3)
    assert planner.log[0] == [[0] * 4] * 3 and len(planner.log) > 1
    assert V[1][1] == 0 and V[0][3] == 0  # the block and the treasure


def test_policy_evaluation_is_an_expectation_over_the_actions():
    env = Environment([[0, 1]], move_prob=1.0)  # RIGHT reaches the treasure, the rest bump
    planner = book.PolicyIterationPlanner(env)
    planner.initialize()  # every action with 1/4
    V = planner.estimate_by_policy(gamma=0.5, threshold=1e-12)
    # V = 1/4 (1 + 0) + 3/4 (-0.04 + 0.5 V)  →  V = (0.25 - 0.03) / (1 - 0.375)
    assert V[State(0, 0)] == pytest.approx(0.22 / 0.625)


def test_main_prints_both_value_grids(capsys):
    book.main(["--gamma", "0.9"])
    out = capsys.readouterr().out
    assert "ValueIterationPlanner" in out and "PolicyIterationPlanner" in out
    assert out.count("  0.610   0.766   0.928   0.000") == 2


def test_the_listing_imports_no_fast_form():
    # A reader follows DP/planner.py through its imports: the environment, nothing more.
    tree = ast.parse(Path(book.__file__).read_text(encoding="utf-8"))
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {m for m in modules if m.startswith("DP")} == {"DP.environment"}
