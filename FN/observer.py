"""Day5: ``Observer``, the adapter between a gymnasium environment and an agent.

This is the book's ``Observer`` of ``fn_framework.py``; ``FN.fn_framework`` imports it from here,
so ``from FN.fn_framework import Observer`` works as in the book. It has a file of its own so
that importing it does not import TensorFlow: ``CatcherObserver`` (used by the evolution
strategies of Day6, which need no TensorFlow) and the DAgger ``FrozenLakeObserver`` derive from
it.

Changes from the book, and why:

- gymnasium replaced gym. ``reset`` returns ``(obs, info)`` and ``step`` returns five values,
  ``(obs, reward, terminated, truncated, info)``. The observer turns them back into the book's
  ``state`` and ``(state, reward, done, info)``, with ``done = terminated or truncated``, and puts
  both flags in ``info``. The trap: a time limit (``truncated``) ends the episode but the state is
  not terminal, so a learner must still bootstrap from it.
- A gymnasium vector environment (several environments stepped together, for A2C) works too:
  states, rewards and flags then come as batches, and ``transform`` receives the batch of
  states. ``action_space`` and ``observation_space`` are those of one environment either way.
"""

import numpy as np
from gymnasium.vector import VectorEnv


class Observer:
    """Sits between a gymnasium environment and an agent, and shapes what the agent sees.

    Subclasses implement ``transform(state)``, which turns an observation into the agent's state.
    """

    def __init__(self, env):
        self._env = env

    @property
    def env(self):
        return self._env

    @property
    def is_vector(self):
        """True when the environment steps a batch of environments at once."""
        return isinstance(self._env, VectorEnv)

    @property
    def num_envs(self):
        return self._env.num_envs if self.is_vector else 1

    @property
    def action_space(self):
        return self._env.single_action_space if self.is_vector else self._env.action_space

    @property
    def observation_space(self):
        if self.is_vector:
            return self._env.single_observation_space
        return self._env.observation_space

    def reset(self, seed=None):
        state, _ = self._env.reset(seed=seed)
        return self.transform(state)

    def render(self):
        # With render_mode="human", gymnasium draws every step by itself; without a render
        # mode there is nothing to draw.
        if getattr(self._env, "render_mode", None) in (None, "human"):
            return None
        return self._env.render()

    def step(self, action):
        n_state, reward, terminated, truncated, info = self._env.step(action)
        # The classic trap: done ends the episode either way, but only `terminated` means
        # that n_state has no future. A truncated episode (time limit) must still bootstrap.
        if self.is_vector:
            done = np.logical_or(terminated, truncated)
        else:
            done = bool(terminated or truncated)
        info = dict(info, terminated=terminated, truncated=truncated)
        return self.transform(n_state), reward, done, info

    def transform(self, state):
        raise NotImplementedError("Observer subclasses must implement transform(state), which "
                                  "turns an observation into the agent's state")

    def close(self):
        self._env.close()
