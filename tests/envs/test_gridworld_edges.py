"""envs/gridworld.py: the contracts the main tests leave open, found by mutation testing."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.gridworld import DEFAULT_GRID, ENV_ID, RIGHT, GridWorldEnv, register_gridworld


@pytest.fixture
def unregistered():
    """GridWorld-v0 taken out of gymnasium's registry for one test, then put back."""
    spec = gym.envs.registry.pop(ENV_ID, None)
    yield
    if spec is not None:
        gym.envs.registry[ENV_ID] = spec


def test_registration_makes_the_books_world_with_a_100_step_limit(unregistered):
    register_gridworld()
    spec = gym.spec(ENV_ID)
    assert spec.id == ENV_ID and spec.entry_point == "envs.gridworld:GridWorldEnv"
    assert spec.max_episode_steps == 100
    env = gym.make(ENV_ID)
    assert isinstance(env.unwrapped, GridWorldEnv)
    np.testing.assert_array_equal(env.unwrapped.grid, DEFAULT_GRID)


def test_the_defaults_and_the_arguments_are_kept():
    env = GridWorldEnv()
    assert env.move_prob == 0.8 and env.default_reward == 0.0
    assert env.reward_func(0) == 0.0 and env.reward_func(3) == 1.0
    assert env.state == env.start_state == 12  # the lower-left cell, before any reset
    other = GridWorldEnv([[0, 1]], move_prob=0.6, default_reward=-0.1)
    assert other.move_prob == 0.6 and other.default_reward == -0.1
    assert other.reward_func(0) == -0.1


def test_rewards_on_arrival_replace_the_defaults():
    env = GridWorldEnv([[0, 0], [0, 1]], rewards=[[0.5, -0.25], [2.0, 3.0]])
    assert [env.reward_func(s) for s in range(4)] == [0.5, -0.25, 2.0, 3.0]
    assert {reward for _, _, reward, _ in env.P[2][RIGHT]} == {3.0, 0.5, 2.0}


def test_a_feature_is_one_hot():
    env = GridWorldEnv([[0, 0, 1]])
    np.testing.assert_array_equal(env.state_to_feature(1), [0.0, 1.0, 0.0])


def test_a_step_reports_the_probability_of_what_happened():
    env = GridWorldEnv([[0, 0, 1]], move_prob=1.0)
    env.reset(seed=0)
    assert env.step(RIGHT) == (1, 0.0, False, False, {"prob": 1.0})


# A cliff in the style of Sutton & Barto's Example 6.6, small enough to read: the start at the
# lower left, the goal at the lower right, and two cliff cells between them.
CLIFF_GRID = [[0, 0, 0, 0], [0, 0, 0, 1]]
CLIFF_CELLS = [(1, 1), (1, 2)]


def cliff_env(**kwargs):
    return GridWorldEnv(CLIFF_GRID, restart_on=CLIFF_CELLS, **kwargs)


@pytest.mark.parametrize("move_prob", [0.6, 1.0])
def test_a_cliff_passes_gymnasiums_checks_and_its_rows_of_P_sum_to_one(move_prob):
    env = cliff_env(move_prob=move_prob)
    check_env(env, skip_render_check=True)
    for s in range(env.observation_space.n):
        for a in env.actions:
            outcomes = env.P[s][a]
            assert sum(prob for prob, *_ in outcomes) == pytest.approx(1.0)
            # Outcomes that meet are merged: one entry for each (next state, reward).
            assert len({(n, reward) for _, n, reward, _ in outcomes}) == len(outcomes)
            # Nobody ever lands in the cliff: it sends the agent back to the start.
            assert not {n for _, n, _, _ in outcomes} & env.restart_states


def test_stepping_into_the_cliff_costs_its_reward_and_restarts_without_ending():
    env = cliff_env(move_prob=1.0, restart_reward=-100.0)
    state, _ = env.reset(seed=0)
    assert state == env.start_state == 4
    assert env.step(RIGHT) == (4, -100.0, False, False, {"prob": 1.0})
    env.state = 1  # above the first cliff cell: down is the cliff too
    assert env.step(1) == (4, -100.0, False, False, {"prob": 1.0})
    assert env.P[2][1] == [(1.0, 4, -100.0, False)]
    # The way round the cliff reaches the goal, which still ends the episode.
    env.reset()
    for action, expected in [(3, 0), (RIGHT, 1), (RIGHT, 2), (RIGHT, 3)]:
        assert env.step(action)[:3] == (expected, 0.0, False)
    assert env.step(1)[:3] == (7, 1.0, True)
    assert env.states == [0, 1, 2, 3, 4, 7]
    env.render_mode = "ansi"
    assert env.render().splitlines() == ["....", ".CCA"]  # the agent stands on the goal


def test_a_slip_into_the_cliff_restarts_too_and_shares_its_probability():
    env = cliff_env(move_prob=0.8)
    # Right from the cell above the first cliff cell: 0.8 right, 0.1 up (bumps: stays), 0.1
    # down into the cliff.
    outcomes = {(n, reward, terminated): prob for prob, n, reward, terminated in env.P[1][RIGHT]}
    assert outcomes == pytest.approx({(2, 0.0, False): 0.8, (1, 0.0, False): 0.1,
                                      (4, -100.0, False): 0.1})
    # Down from the start: 0.8 bumps (stays, reward 0), 0.1 left bumps too, 0.1 right falls.
    down = {(n, reward): prob for prob, n, reward, _ in env.P[4][1]}
    assert down == pytest.approx({(4, 0.0): 0.9, (4, -100.0): 0.1})


def test_without_restart_cells_nothing_changes():
    plain, empty = GridWorldEnv(CLIFF_GRID), GridWorldEnv(CLIFF_GRID, restart_on=[])
    assert plain.P == empty.P and plain.restart_states == frozenset()
    assert plain.states == list(range(8))


@pytest.mark.parametrize("cells, problem", [
    ([(2, 0)], "outside"), ([(0, -1)], "outside"), ([(1, 0)], "other than the start"),
    ([(1, 3)], "ordinary"),
])
def test_a_restart_cell_must_be_an_ordinary_cell_inside_the_grid(cells, problem):
    with pytest.raises(ValueError, match=problem):
        GridWorldEnv(CLIFF_GRID, restart_on=cells)
