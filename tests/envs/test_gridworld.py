import warnings

import gymnasium as gym
import matplotlib
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers GridWorld-v0)
from DP.vectorized_planner import GridMDP, value_iteration
from envs.gridworld import DEFAULT_GRID, GridWorldEnv, register_gridworld

matplotlib.use("Agg")

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3  # the book's order for this world
# 3 rows and 5 columns, so that any mix-up of rows and columns shows.
WIDE = [[0, 0, 0, 0, 1], [0, 9, 0, 0, -1], [0, 0, 0, 0, 0]]


@pytest.mark.parametrize("make", [lambda: gym.make("GridWorld-v0").unwrapped,
                                  lambda: gym.make("GridWorld-v0", render_mode="ansi").unwrapped,
                                  lambda: GridWorldEnv(WIDE)])
def test_passes_gymnasiums_env_checker_without_warnings(make):
    env = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        check_env(env, skip_render_check=False)


def test_registration_is_idempotent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_gridworld()
        register_gridworld()
    env = gym.make("GridWorld-v0")
    assert env.unwrapped.grid.tolist() == DEFAULT_GRID


def test_coordinates_round_trip_on_a_grid_that_is_not_square():
    env = GridWorldEnv(WIDE)
    assert (env.nrow, env.ncol) == (3, 5) and env.observation_space.n == 15
    for s in range(15):
        row, col = env.state_to_coordinate(s)
        assert 0 <= row < 3 and 0 <= col < 5
        assert env.coordinate_to_state(row, col) == s
    for row in range(3):
        for col in range(5):
            assert env.state_to_coordinate(env.coordinate_to_state(row, col)) == (row, col)
    assert env.state_to_coordinate(7) == (1, 2)
    assert env.coordinate_to_state(2, 0) == 10 == env.start_state
    assert env.grid[env.state_to_coordinate(4)] == 1 and env.grid[env.state_to_coordinate(9)] == -1


@pytest.mark.parametrize("move_prob", [0.0, 0.6, 0.8, 1.0])
def test_each_row_of_P_sums_to_one_and_never_enters_a_block(move_prob):
    env = GridWorldEnv(WIDE, move_prob=move_prob)
    block = env.coordinate_to_state(1, 1)
    for s in range(env.observation_space.n):
        for a in range(env.action_space.n):
            outcomes = env.P[s][a]
            if s == block:  # not a state the agent can be in: it only absorbs
                assert outcomes == [(1.0, block, 0.0, True)]
                continue
            assert sum(prob for prob, *_ in outcomes) == pytest.approx(1.0)
            for prob, next_state, reward, terminated in outcomes:
                assert 0 < prob <= 1 and 0 <= next_state < 15
                assert next_state != block
                assert reward == env.reward_func(next_state) or next_state == s
                assert terminated == env.has_done(next_state)


def test_P_follows_move_prob_and_the_grid_rewards():
    env = GridWorldEnv(WIDE, move_prob=0.8, default_reward=-0.04)
    start = env.coordinate_to_state(2, 0)
    # Up from the lower-left corner: up with 0.8; left bumps the wall (stay) and right 0.1 each.
    up = {next_state: prob for prob, next_state, _, _ in env.P[start][UP]}
    assert up == pytest.approx({env.coordinate_to_state(1, 0): 0.8, start: 0.1,
                                env.coordinate_to_state(2, 1): 0.1})
    beside_treasure = env.coordinate_to_state(0, 3)
    outcomes = {n: (p, r, t) for p, n, r, t in env.P[beside_treasure][RIGHT]}
    assert outcomes[4] == pytest.approx((0.8, 1.0, True))
    # End cells absorb: nothing more happens there.
    assert env.P[4][LEFT] == [(1.0, 4, 0.0, True)]


def test_the_books_test_grid_walks_where_it_says():
    # The book's own check of its GridWorldEnv: bump left, bump down, right, up, up, up, left.
    env = GridWorldEnv([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], move_prob=1.0)
    s, _ = env.reset(seed=0)
    assert s == 12
    for action, expected in [(0, 12), (1, 12), (2, 13), (3, 9), (3, 5), (3, 1)]:
        s, reward, terminated, _, _ = env.step(action)
        assert s == expected and not terminated
    s, reward, terminated, _, _ = env.step(0)
    assert (s, reward, terminated) == (0, 1.0, True)


def test_value_iteration_on_P_agrees_with_the_DP_planner():
    env = GridWorldEnv(WIDE, move_prob=0.8, default_reward=-0.04)
    gamma = 0.9
    V = np.zeros(15)
    for _ in range(500):
        V = np.array([max(sum(p * (r + (0 if t else gamma * V[n])) for p, n, r, t in env.P[s][a])
                          for a in range(4)) if not env.has_done(s) else 0.0
                      for s in range(15)])
    V[env.mdp.blocked] = 0.0
    expected, _ = value_iteration(GridMDP(WIDE, 0.8, -0.04), gamma=gamma, threshold=1e-10)
    np.testing.assert_allclose(V, expected, atol=1e-6)


def test_steps_are_reproducible_and_follow_P():
    env = GridWorldEnv(WIDE, move_prob=0.6)
    trajectories = []
    for _ in range(2):
        state, _ = env.reset(seed=3)
        path = [state]
        for action in np.random.default_rng(0).integers(0, 4, 60):
            previous = state
            state, reward, terminated, truncated, info = env.step(action)
            assert state in {n for _, n, _, _ in env.P[previous][int(action)]}
            path.append(state)
            if terminated:
                state, _ = env.reset()
        trajectories.append(path)
    assert trajectories[0] == trajectories[1]
    certain = GridWorldEnv(WIDE, move_prob=1.0)
    certain.reset(seed=0)
    assert certain.step(UP)[0] == certain.coordinate_to_state(1, 0)


def test_plot_on_grid_writes_every_value_in_its_cell():
    env = GridWorldEnv(WIDE)
    values = np.arange(15) / 10
    ax = env.plot_on_grid(values, title="values")
    image = ax.images[0].get_array()
    assert image.shape == (3, 5)
    np.testing.assert_allclose(image[1, 2], values[env.coordinate_to_state(1, 2)])
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert len(texts) == 15 and texts[(1, 2)] == "0.70" and texts[(2, 4)] == "1.40"
    assert ax.get_title() == "values"
    matplotlib.pyplot.close("all")


def test_ansi_render_marks_the_agent():
    env = GridWorldEnv(WIDE, render_mode="ansi")
    env.reset(seed=0)
    assert env.render().splitlines() == ["....T", ".#..D", "A...."]


def test_move_is_the_slip_free_step_of_the_book():
    # _move: where an action leads when it does not slip; walls and blocks leave the agent put.
    env = GridWorldEnv([[0, 0, 0], [0, 9, 0]], move_prob=0.8)
    assert env._move(3, 0) == 3  # left edge: stay
    assert env._move(3, 2) == 3  # a block to the right: stay
    assert env._move(3, 3) == 0  # up
    assert env._move(0, 2) == 1  # right
    for s in env.states:
        for a in env.actions:
            assert env._move(s, a) in env.transit_func(s, a) or env.has_done(s)


def test_the_old_name_still_works():
    from envs.gridworld import GridWorld

    assert GridWorld is GridWorldEnv
