"""DP/vectorized_planner.py: the contracts the main tests leave open, found by mutation testing.

The book's defaults, the stopping rule, a reward that replaces the maze's, the steps the
simulator plays back, the text grid and every sentence ``load_maze`` can end in. Each test
compares with a hand computation or with an independent path (the book's dict backup, or a
maze built with the same rewards), never with the planner's own arrays.
"""

import errno
import json
import os

import numpy as np
import pytest

from DP.environment import ACTIONS, Action, State
from DP.vectorized_planner import (
    MAZE_HINT,
    Environment,
    GridMDP,
    Planner,
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    backup,
    format_grid,
    greedy_mask,
    load_maze,
    policy_evaluation,
    value_iteration,
)

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
# Rewards on arrival for SAMPLE, unlike the defaults everywhere (the block's is ignored).
REWARDS = [[-0.5, 0.2, -0.1, 2.0], [0.1, 0.0, -0.3, -2.0], [0.0, -0.2, 0.3, -0.1]]
UNIFORM = np.full((12, 4), 0.25)


def dict_q(env, V_grid, gamma):
    """Q(s, a) by the book's dict backup: {State: {Action: value}} for the acting cells."""
    return {state: {action: sum(prob * (env.reward_func(n)[0] + gamma * V_grid[n.row][n.column])
                                for n, prob in env.transit_func(state, action).items())
                    for action in env.actions}
            for state in env.states if env.can_action_at(state)}


def test_the_defaults_are_the_books_gamma_and_threshold():
    env = Environment(SAMPLE)
    V, history = value_iteration(env.mdp)
    V_explicit, history_explicit = value_iteration(env.mdp, 0.9, 0.0001)
    np.testing.assert_array_equal(V, V_explicit)
    assert len(history) == len(history_explicit)
    np.testing.assert_array_equal(policy_evaluation(env.mdp, UNIFORM),
                                  policy_evaluation(env.mdp, UNIFORM, 0.9, 0.0001))
    for planner_class in (ValueIterationPlanner, PolicyIterationPlanner):
        default, explicit = planner_class(env), planner_class(env)
        assert default.plan() == explicit.plan(0.9, 0.0001)
        assert default.iterations == explicit.iterations and default.gamma == 0.9


def test_a_sweep_stops_only_when_the_change_is_strictly_below_the_threshold():
    # The book's rule is "if delta < threshold: break". With the threshold equal to the first
    # sweep's change, a second sweep must follow.
    mdp = GridMDP(SAMPLE)
    _, history = value_iteration(mdp, 0.9, 1e-12)
    first_change = np.abs(history[1] - history[0]).max()
    _, history = value_iteration(mdp, 0.9, first_change)
    assert len(history) > 2
    sweeps = []
    policy_evaluation(mdp, UNIFORM, 0.9, 1e-12, sweeps=sweeps)
    sweeps_at_first_change = []
    policy_evaluation(mdp, UNIFORM, 0.9, np.abs(sweeps[0]).max(), sweeps=sweeps_at_first_change)
    assert len(sweeps_at_first_change) > 1


def test_value_iteration_matches_the_dict_backup_when_moves_never_slip():
    # move_prob = 1 (and 0.5): the probabilities of a move sum to exactly 1.
    for move_prob in (1.0, 0.5):
        env = Environment(SAMPLE, move_prob=move_prob)
        V, _ = value_iteration(env.mdp, 0.9, 1e-10)
        grid = V.reshape(3, 4).tolist()
        for state, q in dict_q(env, grid, 0.9).items():
            assert grid[state.row][state.column] == pytest.approx(max(q.values()), abs=1e-8)
        planner = ValueIterationPlanner(env)
        planner.plan(0.9, 1e-10)
        for state, q in dict_q(env, planner.log[-1], 0.9).items():
            best = max(q.values())
            assert set(planner.greedy_actions()[state.row][state.column]) == {
                a for a, value in q.items() if value >= best - 1e-6}


def test_the_sweep_limit_is_passed_on_and_named_in_the_error():
    # γ = 1 on a lone cell: every sweep lowers its value by the step cost, forever.
    env = Environment([[0]])
    with pytest.raises(PlanningDidNotConverge, match="Value Iteration did not converge in 3 "):
        value_iteration(env.mdp, 1.0, max_iterations=3)
    with pytest.raises(PlanningDidNotConverge, match="policy evaluation did not converge in 4 "):
        policy_evaluation(env.mdp, np.full((1, 4), 0.25), 1.0, max_iterations=4)
    with pytest.raises(PlanningDidNotConverge, match="did not converge in 5 sweeps"):
        ValueIterationPlanner(env).plan(1.0, max_iterations=5)
    with pytest.raises(PlanningDidNotConverge, match="did not converge in 6 sweeps"):
        PolicyIterationPlanner(env).plan(1.0, max_iterations=6)
    planner = PolicyIterationPlanner(env)
    planner.initialize()
    with pytest.raises(PlanningDidNotConverge, match="did not converge in 7 sweeps"):
        planner.estimate_by_policy(1.0, 1e-4, max_iterations=7)
    # Policy Iteration's own limit counts improvement steps: the first one always changes the
    # uniform start policy. (A loose threshold lets each evaluation stop after one sweep.)
    with pytest.raises(PlanningDidNotConverge, match="Policy Iteration did not converge in 1 st"):
        PolicyIterationPlanner(Environment(SAMPLE)).plan(0.9, threshold=10, max_iterations=1)


def test_policy_evaluation_starts_from_the_values_it_is_given():
    mdp = GridMDP(SAMPLE)
    V = policy_evaluation(mdp, UNIFORM, 0.9, 1e-12)
    sweeps = []
    again = policy_evaluation(mdp, UNIFORM, 0.9, 1e-6, V=V, sweeps=sweeps)
    assert len(sweeps) == 1
    np.testing.assert_allclose(again, V, atol=1e-9)


class RewardOverride:
    """A planner that plans with REWARDS through ``reward_vector``, as inverse RL does."""

    def reward_vector(self):
        return np.array(REWARDS, dtype=float).ravel()


@pytest.mark.parametrize("planner_class", [ValueIterationPlanner, PolicyIterationPlanner])
def test_reward_vector_replaces_the_mazes_reward_everywhere(planner_class):
    # Planning with reward_vector() must equal planning a maze built with those rewards.
    overriding = type("Overriding", (RewardOverride, planner_class), {})(Environment(SAMPLE))
    built = planner_class(Environment(SAMPLE, rewards=REWARDS))
    np.testing.assert_allclose(overriding.plan(0.9, 1e-8), built.plan(0.9, 1e-8), atol=1e-9)
    assert overriding.greedy_actions() == built.greedy_actions()
    for ours, theirs in zip(overriding.actions_log(), built.actions_log()):
        np.testing.assert_array_equal(ours, theirs)
    if planner_class is PolicyIterationPlanner:
        overriding.initialize()
        built.initialize()
        estimated = overriding.estimate_by_policy(0.9, 1e-8)
        for state, value in built.estimate_by_policy(0.9, 1e-8).items():
            assert estimated[state] == pytest.approx(value, abs=1e-9)


def test_the_reward_argument_replaces_the_mazes_reward():
    plain, built = GridMDP(SAMPLE), Environment(SAMPLE, rewards=REWARDS).mdp
    reward = np.array(REWARDS).ravel()
    np.testing.assert_allclose(value_iteration(plain, 0.9, 1e-9, reward=reward)[0],
                               value_iteration(built, 0.9, 1e-9)[0], atol=1e-9)
    np.testing.assert_allclose(policy_evaluation(plain, UNIFORM, 0.9, 1e-9, reward=reward),
                               policy_evaluation(built, UNIFORM, 0.9, 1e-9), atol=1e-9)


def test_backup_is_the_bellman_sum_for_one_state_and_action():
    env = Environment(SAMPLE, rewards=REWARDS)
    V = np.linspace(-1, 1, 12)
    V_grid = V.reshape(3, 4).tolist()
    q = dict_q(env, V_grid, 0.8)
    for state, values in q.items():
        for a, action in enumerate(ACTIONS):
            s = env.mdp.index(state)
            assert backup(env.mdp, V, 0.8, s, a) == pytest.approx(values[action], abs=1e-12)
    # With a reward given, that reward is used instead of the maze's.
    plain = GridMDP(SAMPLE)
    reward = np.array(REWARDS).ravel()
    for state, values in q.items():
        s = plain.index(state)
        assert backup(plain, V, 0.8, s, 3, reward) == pytest.approx(values[Action.RIGHT])


def test_greedy_mask_keeps_exact_ties_and_near_ties():
    Q = np.array([[1.0, 1.0, 0.5, 1.0 - 1e-7], [0.0, -1.0, -1.0, -1.0]])
    np.testing.assert_array_equal(greedy_mask(Q, tolerance=0.0),
                                  [[True, True, False, False], [True, False, False, False]])
    np.testing.assert_array_equal(greedy_mask(Q),
                                  [[True, True, False, True], [True, False, False, False]])


def test_greedy_actions_use_the_values_and_gamma_they_are_given():
    env = Environment(SAMPLE)
    planner = ValueIterationPlanner(env)
    planner.plan(0.9)
    V_grid = np.linspace(1, -1, 12).reshape(3, 4).tolist()
    arrows = planner.greedy_actions(V=V_grid, gamma=0.5)
    assert len(arrows) == 3 and all(len(row) == 4 for row in arrows)
    for state, q in dict_q(env, V_grid, 0.5).items():
        best = max(q.values())
        assert set(arrows[state.row][state.column]) == {a for a, v in q.items()
                                                        if v >= best - 1e-6}
    assert arrows[0][3] == [] and arrows[1][1] == []  # the treasure and the block
    # Left of the treasure: +1 now, or a detour worth 1.5 one step later. γ decides.
    never_slip = ValueIterationPlanner(Environment(SAMPLE, move_prob=1.0))
    never_slip.plan(0.9)
    detour = [[0.0] * 4, [0.0, 0.0, 1.5, 0.0], [0.0] * 4]
    assert never_slip.greedy_actions(V=detour, gamma=0.9)[0][2] == [Action.DOWN]
    assert never_slip.greedy_actions(V=detour, gamma=0.5)[0][2] == [Action.RIGHT]


def test_a_planner_that_has_not_planned_says_so():
    planner = ValueIterationPlanner(Environment(SAMPLE))
    assert planner.log == [] and planner.V is None and planner.gamma is None
    for arguments in ({}, {"gamma": 0.9}, {"V": np.zeros(12)}):
        with pytest.raises(RuntimeError, match=r"^call plan\(\) first, or pass V and gamma$"):
            planner.greedy_actions(**arguments)
    policy = PolicyIterationPlanner(Environment(SAMPLE))
    assert policy.policy_probs is None and policy.policy_log == [] and policy.steps == []
    with pytest.raises(NotImplementedError, match="^Planner subclasses must implement plan"):
        Planner(Environment(SAMPLE)).plan()


def test_initialize_forgets_the_last_plan():
    for planner in (ValueIterationPlanner(Environment(SAMPLE)),
                    PolicyIterationPlanner(Environment(SAMPLE))):
        planner.plan(0.9)
        planner.initialize()
        assert planner.log == []
        if isinstance(planner, PolicyIterationPlanner):
            assert planner.policy_log == [] and planner.steps == []
            np.testing.assert_array_equal(planner.policy_probs, UNIFORM)


def test_dict_to_grid_lays_states_out_by_row_and_column():
    planner = ValueIterationPlanner(Environment(SAMPLE))
    grid = planner.dict_to_grid({State(0, 1): 0.5, State(2, 3): -1.25})
    assert grid == [[0.0, 0.5, 0.0, 0.0], [0.0] * 4, [0.0, 0.0, 0.0, -1.25]]
    flat = planner.dict_to_grid(list(range(12)))
    assert flat[1] == [4.0, 5.0, 6.0, 7.0]
    assert all(isinstance(value, float) for row in flat for value in row)


def test_value_iteration_actions_log_is_the_greedy_arrows_of_every_sweep():
    env = Environment(SAMPLE)
    planner = ValueIterationPlanner(env)
    planner.plan(0.9)
    log = planner.actions_log()
    assert len(log) == len(planner.log)
    for values, arrows in zip(planner.log, log):
        expected = planner.greedy_actions(V=values, gamma=0.9)
        for s in range(12):
            r, c = divmod(s, 4)
            assert [a for a, on in zip(ACTIONS, arrows[s]) if on] == expected[r][c]


def test_policy_iteration_steps_play_back_every_sweep_and_improvement():
    env = Environment(SAMPLE)
    planner = PolicyIterationPlanner(env)
    planner.plan(0.9)
    steps = planner.steps
    acting = ~(env.mdp.blocked | env.mdp.terminal)
    assert steps[0].kind == "start" and steps[0].policy_number == 0
    np.testing.assert_array_equal(steps[0].V, np.zeros(12))
    np.testing.assert_array_equal(steps[0].policy, UNIFORM)
    assert [step.kind for step in steps[1:]].count("improvement") == planner.iterations
    previous_V, previous_policy, number = steps[0].V, steps[0].policy, 0
    for step in steps[1:]:
        assert step.kind in ("evaluation", "improvement")
        if step.kind == "evaluation":
            # One expectation sweep of the current policy from the previous sweep's values.
            assert step.policy_number == number
            np.testing.assert_array_equal(step.policy, previous_policy)
            Q = env.mdp.action_values(previous_V, 0.9)
            np.testing.assert_allclose(step.V, (previous_policy * Q).sum(axis=1), atol=1e-12)
            assert step.delta == pytest.approx(np.abs(step.V - previous_V).max())
            previous_V = step.V
        else:
            number += 1
            assert step.policy_number == number
            np.testing.assert_array_equal(step.V, previous_V)
            assert step.changed == int(((step.policy != previous_policy).any(axis=1)
                                        & acting).sum())
            previous_policy = step.policy
    assert steps[-1].kind == "improvement" and steps[-1].changed == 0
    # A middle improvement changes some cells, not all: the count is per cell.
    assert any(0 < step.changed < acting.sum() for step in steps if step.kind == "improvement")
    assert len(planner.log) == planner.iterations + 1
    for values, step in zip(planner.log[1:], [s for s in steps if s.kind == "improvement"]):
        np.testing.assert_allclose(np.ravel(values), step.V)


def test_policy_iteration_actions_log_shows_each_policy_on_the_acting_cells():
    env = Environment(SAMPLE)
    planner = PolicyIterationPlanner(env)
    planner.plan(0.9)
    log = planner.actions_log()
    acting = ~(env.mdp.blocked | env.mdp.terminal)
    assert len(log) == len(planner.log)
    np.testing.assert_array_equal(log[0], np.repeat(acting[:, None], 4, axis=1))
    for arrows, chosen in zip(log[1:], planner.policy_log):
        expected = np.zeros((12, 4), dtype=bool)
        expected[np.arange(12), np.ravel(chosen)] = True
        np.testing.assert_array_equal(arrows, expected & acting[:, None])


def test_format_grid_writes_values_arrows_ends_and_blocks():
    # move_prob = 1 and γ = 0.9, by hand: below the treasure 1, then 0.86 and 0.734 leftwards.
    env = Environment([[1, 9, -1], [0, 0, 0]], move_prob=1.0)
    planner = ValueIterationPlanner(env)
    values = planner.plan(0.9, 1e-9)
    # Each cell is 11 characters wide, and one space separates cells.
    assert format_grid(values, planner) == (
        "  1.000(T)    block      -1.000(D) \n"
        "  1.000↑      0.860←      0.734←   ")
    assert format_grid(values) == (
        "  0.000       0.000       0.000    \n"
        "  1.000       0.860       0.734    ")


def test_format_grid_shows_every_tied_arrow():
    # Between two treasures, left and right tie exactly.
    planner = ValueIterationPlanner(Environment([[1, 0, 1]], move_prob=1.0))
    assert format_grid(planner.plan(0.9), planner) == "  1.000(T)    1.000←→     1.000(T) "


def write(tmp_path, content, name="maze.json"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content),
                        encoding="utf-8")
    return path


@pytest.mark.parametrize("content, problem", [
    ("[" * 100_000, "is nested too deeply to be a maze"),
    ("{", "is not valid JSON (Expecting property name enclosed in double quotes at line 1)"),
    (5, 'holds no maze: it must be an object with a "grid" key, a list of rows'),
    ({"prob": 0.8}, 'holds no maze: it must be an object with a "grid" key, a list of rows'),
    ({"grid": [[0]], "prob": True}, 'has a "prob" that is not a number from 0 to 1'),
    ({"grid": [[0]], "prob": 1.5}, 'has a "prob" that is not a number from 0 to 1'),
    ({"grid": [[0]], "gamma": -0.1}, 'has a "gamma" that is not a number from 0 to 1'),
    ({"grid": [[9]]}, "is not a valid maze (the start cell (lower left) must not be a block)"),
    ({"grid": [[0, 1]], "rewards": [[0]]},
     'has "rewards" that do not fit its maze (the rewards must have the grid\'s shape, '
     '1 rows of 2 numbers)'),
    (b"\xff\xfe\x00", "is not a text file"),
])
def test_load_maze_refuses_a_bad_file_in_one_sentence(tmp_path, capsys, content, problem):
    path = write(tmp_path, content)
    with pytest.raises(SystemExit) as stopped:
        load_maze(path)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == f"error: {path} {problem}; {MAZE_HINT}\n"


def test_load_maze_refuses_a_missing_file_a_folder_and_an_unreadable_name(tmp_path, capsys):
    for path, problem in ((tmp_path / "absent.json", "does not exist"),
                          (tmp_path, "is a folder, not a maze file"),
                          (tmp_path / ("x" * 300),
                           f"cannot be read ({os.strerror(errno.ENAMETOOLONG)})")):
        with pytest.raises(SystemExit):
            load_maze(path)
        assert capsys.readouterr().err == f"error: {path} {problem}; {MAZE_HINT}\n"


def test_load_maze_accepts_rows_the_ends_of_the_ranges_and_rewards(tmp_path):
    assert load_maze(write(tmp_path, [[0, 1]])) == {"grid": [[0, 1]]}
    maze = {"grid": [[0, 1]], "prob": 1, "gamma": 1.0, "rewards": [[0.5, 2.0]],
            "name": "迷路"}
    assert load_maze(write(tmp_path, maze)) == maze
    assert load_maze(write(tmp_path, {"grid": [[0, 1]], "prob": 0, "gamma": 0})) == {
        "grid": [[0, 1]], "prob": 0, "gamma": 0}
