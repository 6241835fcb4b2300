import importlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.frozen_lake import (
    ENV_ID,
    make_frozen_lake,
    register_frozen_lake_easy,
    success_probability,
    transition_table,
)

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
# S F F F / F H F H / F F F H / H F F G: down, down, right, right, down, right reaches G.
SHORTEST_PATH = [DOWN, DOWN, RIGHT, RIGHT, DOWN, RIGHT]


@pytest.mark.parametrize("render_mode", [None, "ansi", "rgb_array"])
def test_passes_gymnasiums_env_checker_without_warnings(render_mode):
    env = make_frozen_lake(render_mode=render_mode).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=False)
    env.close()


def test_registering_and_importing_again_neither_warns_nor_fails():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_frozen_lake_easy()
        register_frozen_lake_easy()
        importlib.reload(envs)
    assert ENV_ID in gym.envs.registry
    spec = gym.spec(ENV_ID)
    assert spec.kwargs == {"map_name": "4x4", "is_slippery": False}


def test_the_easy_lake_is_4x4_and_not_slippery():
    env = make_frozen_lake()
    assert env.observation_space.n == 16 and env.action_space.n == 4
    assert env.unwrapped.desc.shape == (4, 4)
    for actions in env.unwrapped.P.values():
        for outcomes in actions.values():
            assert len(outcomes) == 1 and outcomes[0][0] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_shortest_path_always_reaches_the_goal(seed):
    env = make_frozen_lake()
    state, _ = env.reset(seed=seed)
    total = 0.0
    for action in SHORTEST_PATH:
        state, reward, terminated, truncated, _ = env.step(action)
        total += reward
    assert state == 15 and terminated and not truncated and total == 1.0


def test_slippery_switches_back_to_the_real_lake():
    env = make_frozen_lake(slippery=True)
    assert env.spec.id == "FrozenLake-v1"
    probs = [p for p, *_ in env.unwrapped.P[5 + 1][RIGHT]]
    assert len(probs) == 3 and np.isclose(sum(probs), 1.0)


def test_transition_table_reads_P():
    easy = transition_table(make_frozen_lake())
    assert easy.shape == (16, 4, 16)
    np.testing.assert_allclose(easy.sum(axis=2), 1.0)
    # From the start: left and up bump into the edge, down goes to 4, right to 1.
    assert easy[0, LEFT, 0] == easy[0, UP, 0] == easy[0, DOWN, 4] == easy[0, RIGHT, 1] == 1.0
    assert easy[5, LEFT, 5] == 1.0  # a hole absorbs
    slippery = transition_table(make_frozen_lake(slippery=True))
    # Right from the start on the ice: a third each to the right, down, or up (the edge: stay).
    np.testing.assert_allclose(slippery[0, RIGHT, [0, 1, 4]], [1 / 3, 1 / 3, 1 / 3])
    # Left from the start: sliding up and going left both bump into the edge, two thirds
    # stay. Outcomes that share a next state add up, so every row still sums to 1.
    np.testing.assert_allclose(slippery[0, LEFT, [0, 4]], [2 / 3, 1 / 3])
    np.testing.assert_allclose(slippery.sum(axis=2), 1.0)


def test_success_probability_is_exact():
    env = make_frozen_lake()
    q_table = np.zeros((16, 4))
    for state, action in zip([0, 4, 8, 9, 10, 14], SHORTEST_PATH):
        q_table[state, action] = 1.0
    assert success_probability(env, q_table) == pytest.approx(1.0)
    # The path takes 6 steps: a horizon of 5 is one too short.
    assert success_probability(env, q_table, horizon=5) == 0.0
    assert success_probability(env, np.tile([1.0, 0, 0, 0], (16, 1))) == 0.0
    # A tie at the start between down (the path) and left (bump, stay): each step there goes
    # on with probability 1/2. By hand, the goal within H steps has 1 - 2**-(H - 5).
    q_table[0, LEFT] = 1.0
    for horizon in (6, 7, 10):
        assert success_probability(env, q_table, horizon=horizon) == pytest.approx(
            1 - 2.0 ** -(horizon - 5))


def test_registering_from_scratch_makes_the_easy_lake(monkeypatch):
    # Importing envs registered the lake already; take it out to see what the call adds.
    monkeypatch.delitem(gym.envs.registry, ENV_ID)
    register_frozen_lake_easy()
    env = gym.make(ENV_ID)
    assert env.spec.max_episode_steps == 100
    lake = env.unwrapped
    assert lake.desc.shape == (4, 4) and b"".join(lake.desc.ravel()) == b"SFFFFHFHFFFHHFFG"
    # Not slippery: every move has one outcome.
    assert all(len(lake.P[s][a]) == 1 for s in range(16) for a in range(4))


@pytest.mark.parametrize("slippery", [False, True])
def test_make_frozen_lake_passes_its_options_on(slippery):
    env = make_frozen_lake(slippery=slippery, render_mode="ansi", max_episode_steps=7)
    assert env.render_mode == "ansi" and env.spec.max_episode_steps == 7


def test_success_is_measured_over_the_time_limit_by_default():
    # On the ice any policy keeps gaining a little with every extra step, so the default
    # horizon shows: it is the lake's time limit, the episode's real length.
    env = make_frozen_lake(slippery=True)
    q_table = np.tile([0.0, 1.0, 1.0, 0.0], (16, 1))  # down or right, at random
    limit = env.spec.max_episode_steps
    assert limit == 100
    by_default = success_probability(env, q_table)
    assert by_default == success_probability(env, q_table, horizon=limit)
    assert success_probability(env, q_table, horizon=limit - 1) < by_default
    assert by_default < success_probability(env, q_table, horizon=limit + 1)
