"""Day4: CartPole-v1 as the FN agents see it: ``CartPoleObserver`` and ``make_cartpole``.

The value-function agent, REINFORCE, DQN's and A2C's ``--test`` modes all learn CartPole, so
its observer lives here, below them, instead of in one agent's file.

Changes from the book: CartPole-v1 (episodes of up to 500 steps) replaces the retired
CartPole-v0 (200 steps), and the state keeps its shape (4,) where the book reshaped it to
(1, 4) for ``model.predict``.
"""

import gymnasium as gym
import numpy as np

from FN.observer import Observer


class CartPoleObserver(Observer):
    """CartPole's observation is already the state: four floats (position, velocity, angle,
    angular velocity)."""

    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


def make_cartpole(num_envs=None, render_mode=None):
    """CartPole-v1 behind ``CartPoleObserver``; ``num_envs`` gives a batch of environments.

    The batch is gymnasium's NumPy-vectorized CartPole, which steps all of them in one
    expression. It cannot open a window, so with ``render_mode="human"`` the batch is made of
    ordinary environments instead, the first of which draws itself.
    """
    if num_envs is None:
        return CartPoleObserver(gym.make("CartPole-v1", render_mode=render_mode))
    if render_mode == "human":
        makers = [lambda i=i: gym.make("CartPole-v1", render_mode="human" if i == 0 else None)
                  for i in range(num_envs)]
        return CartPoleObserver(gym.vector.SyncVectorEnv(makers))
    return CartPoleObserver(gym.make_vec("CartPole-v1", num_envs=num_envs,
                                         vectorization_mode="vector_entry_point"))
