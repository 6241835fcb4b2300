"""envs/gridworld.py: the contracts the main tests leave open, found by mutation testing."""

import gymnasium as gym
import numpy as np
import pytest

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
