"""FrozenLakeEasy: gymnasium's 4x4 FrozenLake without the slippery ice (Day3 and Day6).

On the slippery lake an agent moves where it meant only a third of the time, which makes the
first tabular methods hard to watch. The book uses the deterministic lake to start with;
``--slippery`` in the Day3 scripts switches back to the real one.

Two scripts of Day6 (Dyna and DAgger) need to judge a policy exactly, not by playing a few
noisy episodes. ``transition_table`` turns gymnasium's ``P`` into an (S, A, S) array and
``success_probability`` pushes the start distribution through it. The learners never see
either: they are only the referee.
"""

import gymnasium as gym
import numpy as np

ENV_ID = "FrozenLakeEasy-v0"


def register_frozen_lake_easy():
    """Register ``FrozenLakeEasy-v0``. Safe to call any number of times."""
    if ENV_ID not in gym.envs.registry:
        gym.register(
            id=ENV_ID,
            entry_point="gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv",
            kwargs={"map_name": "4x4", "is_slippery": False},
            max_episode_steps=100,
        )


def make_frozen_lake(slippery=False, **kwargs):
    """The lake Day3 and Day6 use: ``FrozenLakeEasy-v0``, or the slippery ``FrozenLake-v1``."""
    register_frozen_lake_easy()
    if slippery:
        return gym.make("FrozenLake-v1", is_slippery=True, **kwargs)
    return gym.make(ENV_ID, **kwargs)


def transition_table(env):
    """T(s'|s, a) as an array of shape (S, A, S), read from the toy-text table ``P``.

    ``P[s][a]`` lists ``(probability, next_state, reward, terminated)``; outcomes that share a
    next state are added up. Any environment with such a table works (the inverse-RL
    ``GridWorld`` of ``envs/gridworld.py`` too). On the lake, holes and the goal absorb.
    """
    table = env.unwrapped.P
    n_states, n_actions = env.observation_space.n, env.action_space.n
    transition = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, _, _ in table[s][a]:
                transition[s, a, next_state] += prob
    return transition


def success_probability(env, q_table, horizon=100, transition=None):
    """Probability that the greedy policy of ``q_table`` reaches the goal within ``horizon``.

    ``q_table`` has shape (S, A). Ties are split evenly, as an agent that breaks them at
    random would. The goal and the holes absorb, so the mass on the goal after ``horizon``
    steps is the chance of having arrived by then. Pass ``transition`` (from
    ``transition_table``) to save rebuilding it on every call.
    """
    lake = env.unwrapped
    transition = transition_table(env) if transition is None else transition
    q_table = np.asarray(q_table, dtype=float)
    best = q_table >= q_table.max(axis=1, keepdims=True)
    policy = best / best.sum(axis=1, keepdims=True)
    chain = np.einsum("sa,san->sn", policy, transition)
    distribution = np.asarray(lake.initial_state_distrib, dtype=float)
    for _ in range(horizon):
        distribution = distribution @ chain
    goal = np.asarray(lake.desc).ravel() == b"G"
    return float(distribution[goal].sum())
