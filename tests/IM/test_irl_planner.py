from common import set_seed

import numpy as np
import pytest

from envs.gridworld import DEFAULT_GRID, DOWN, LEFT, RIGHT, UP, GridWorldEnv
from IM import planner as irl_planner
from IM import vectorized_planner as fast
from IM.vectorized_planner import PolicyIterationPlanner, ValueIterationPlanner

# The fast planners (the estimators plan with these) and the book's listing, which keeps a
# policy in Policy Iteration only.
PLANNERS = [ValueIterationPlanner, PolicyIterationPlanner, irl_planner.PolicyIterationPlanner]
NON_SQUARE = [[0, 0, 0, 0, 1], [0, 9, 0, 0, 0], [0, 0, -1, 0, 0]]


def dict_backup(env, reward, gamma, sweeps=2000):
    """The book's loop, written out here as the reference: V(s) ← max_a Σ p (r + γ V(s')).

    It reads only the environment's ``P`` table (state by state, outcome by outcome) and the
    reward of each state, so it shares nothing with the vectorized planners under test.
    """
    V = {s: 0.0 for s in env.P}
    Q = {}
    for _ in range(sweeps):
        for s in env.P:
            if env.has_done(s) or env.grid[env.state_to_coordinate(s)] == 9:
                Q[s] = [0.0] * 4
                continue
            Q[s] = [sum(p * (reward[n] + gamma * V[n]) for p, n, _, _ in env.P[s][a])
                    for a in range(4)]
            V[s] = max(Q[s])
    return np.array([V[s] for s in env.P]), np.array([Q[s] for s in env.P])


@pytest.mark.parametrize("planner_class", PLANNERS)
def test_a_hand_computed_corridor(planner_class):
    # 1 x 3: start, middle, treasure. Moves always succeed; γ = 0.5. Arriving at the start is
    # worth 0.2 (a plugged-in reward), the middle 0, the treasure 1. By hand:
    #   V(middle) = 1 (step right onto the treasure; going left is worth 0.2 + 0.5 V(start));
    #   V(start) = 0.5 V(middle) = 0.5, better than staying (0.2 + 0.5 V(start) = 0.45);
    #   Q(start) = 0.45 for left, down and up (each bumps and stays), 0.5 for right.
    env = GridWorldEnv([[0, 0, 1]], move_prob=1.0)
    reward = [0.2, 0.0, 1.0]
    planner = planner_class(env, reward_func=lambda s: reward[s])
    V = planner.plan(gamma=0.5, threshold=1e-10)
    np.testing.assert_allclose(V, [0.5, 1.0, 0.0], atol=1e-8)
    Q = planner.policy_to_q(V, 0.5)
    np.testing.assert_allclose(Q[0], [0.45, 0.45, 0.5, 0.45], atol=1e-8)
    assert np.argmax(planner.policy[0]) == RIGHT and np.argmax(planner.policy[1]) == RIGHT
    assert planner.act(0) == RIGHT


@pytest.mark.parametrize("planner_class", PLANNERS)
@pytest.mark.parametrize("grid", [DEFAULT_GRID, NON_SQUARE])
def test_values_and_q_match_the_dict_backup(planner_class, grid):
    env = GridWorldEnv(grid)
    rng = np.random.default_rng(0)
    for reward in (env.mdp.reward, rng.normal(size=env.observation_space.n)):
        planner = planner_class(env, reward_func=lambda s, reward=reward: reward[s])
        V = planner.plan(gamma=0.9, threshold=1e-10)
        expected_V, expected_Q = dict_backup(env, reward, 0.9)
        np.testing.assert_allclose(V, expected_V, atol=1e-6)
        Q = planner.policy_to_q(V, 0.9)
        acting = ~(env.mdp.terminal | env.mdp.blocked)
        np.testing.assert_allclose(Q[acting], expected_Q[acting], atol=1e-6)
        # The policy puts all its probability on actions that are best by the reference.
        best = expected_Q >= expected_Q.max(axis=1, keepdims=True) - 1e-6
        np.testing.assert_allclose(planner.policy.sum(axis=1), 1.0)
        assert np.all(planner.policy[acting][~best[acting]] == 0)
        for s in np.flatnonzero(acting):
            assert best[s, planner.act(s)]


@pytest.mark.parametrize("planner_class", PLANNERS)
def test_a_plugged_in_reward_changes_the_plan(planner_class):
    env = GridWorldEnv([[0, 0, 0], [0, 0, 0], [0, 0, 0]], move_prob=1.0)
    corner = env.coordinate_to_state(0, 2)
    planner = planner_class(env, reward_func=lambda s: 1.0 if s == corner else 0.0)
    V = planner.plan(gamma=0.9)
    assert V[corner] == pytest.approx(V.max(), abs=1e-3)  # to the threshold of the sweeps
    # From the start (lower left), the plan heads up or right, toward the rewarded corner.
    assert planner.act(env.start_state) in (UP, RIGHT)
    # Swap the reward to the lower-right corner: now the plan from the start goes right only.
    other = env.coordinate_to_state(2, 2)
    planner.reward_func = lambda s: 1.0 if s == other else 0.0
    planner.plan(gamma=0.9)
    assert planner.act(env.start_state) == RIGHT
    # And to the upper-left corner: straight up, never left or down into the walls.
    planner.reward_func = lambda s: 1.0 if s == 0 else 0.0
    planner.plan(gamma=0.9)
    assert planner.act(env.start_state) == UP
    assert planner.policy[env.start_state, LEFT] == planner.policy[env.start_state, DOWN] == 0


def test_main_prints_both_plans_and_the_books_arrows(capsys):
    set_seed(0)
    results = irl_planner.main([])
    env = GridWorldEnv(DEFAULT_GRID)
    expected, _ = dict_backup(env, env.mdp.reward, 0.9)
    for V in results.values():
        np.testing.assert_allclose(V, expected, atol=1e-3)
    out = capsys.readouterr().out
    assert "Policy Iteration" in out
    # From the start (lower left) the best way to the treasure (top right) is up the left side
    # or along the bottom, away from the danger at row 2, column 1.
    assert out.strip().splitlines()[-1][0] in "↑→"


@pytest.mark.parametrize("argv", [["--gamma", "1.5"], ["--gamma", "1"], ["--move-prob", "nan"],
                                  ["--seed", "-1"]])
def test_main_rejects_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as error:
        irl_planner.main(argv)
    assert error.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("grid", [DEFAULT_GRID, NON_SQUARE, [[0, 0, 0], [0, 9, 1]]])
@pytest.mark.parametrize("move_prob", [0.8, 1.0])
def test_the_books_loops_and_the_vectorized_planners_agree(grid, move_prob):
    env = GridWorldEnv(grid, move_prob=move_prob)
    reward = np.random.default_rng(1).normal(size=env.observation_space.n)
    for reward_func in (None, lambda s: reward[s]):
        V = irl_planner.ValueIterationPlanner(env, reward_func).plan(0.9, 1e-10)
        np.testing.assert_allclose(V, fast.ValueIterationPlanner(env, reward_func).plan(0.9, 1e-10),
                                   atol=1e-7)
        book, vectorized = irl_planner.PolicyIterationPlanner(env, reward_func), \
            fast.PolicyIterationPlanner(env, reward_func)
        V = book.plan(0.9, 1e-10)
        np.testing.assert_allclose(V, vectorized.plan(0.9, 1e-10), atol=1e-7)
        np.testing.assert_allclose(book.policy_to_q(V, 0.9), vectorized.policy_to_q(V, 0.9),
                                   atol=1e-7)
        # Both policies are greedy; where actions tie, they may pick different ones.
        Q = vectorized.policy_to_q(V, 0.9)
        for s in env.states:
            assert Q[s, book.act(s)] >= Q[s].max() - 1e-6


def test_keep_policy_continues_from_the_last_plan():
    env = GridWorldEnv(DEFAULT_GRID)
    planner = irl_planner.PolicyIterationPlanner(env)
    V = planner.plan()
    policy = planner.policy.copy()
    np.testing.assert_allclose(planner.plan(keep_policy=True), V, atol=1e-3)
    np.testing.assert_array_equal(planner.policy, policy)


def test_an_end_cell_is_worth_nothing_and_goes_nowhere():
    env = GridWorldEnv(DEFAULT_GRID)
    planner = irl_planner.ValueIterationPlanner(env)
    assert list(planner.transitions_at(3, 0)) == []
    outcomes = {n: (p, r, done) for p, n, r, done in planner.transitions_at(7, 3)}
    assert outcomes[3] == pytest.approx((0.8, 1.0, True))
    assert planner.plan()[3] == 0.0
