import importlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.frozen_lake import ENV_ID, make_frozen_lake, register_frozen_lake_easy

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
