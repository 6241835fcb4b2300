"""Day3: ``ELAgent``, what every agent that learns from experience shares.

Monte Carlo, Q-learning, SARSA and the Actor of Actor-Critic all derive from this class. It
holds:

- ``Q``, the table of action values, read as ``self.Q[s][a]`` exactly as in the book;
- ``policy(s, actions)``, the ε-greedy policy: explore with probability ε, otherwise take
  the action with the highest value;
- the reward log and ``show_reward_log``, which prints the book's periodic line or plots the
  whole history.

Deviations from the book:

- The book builds ``Q`` as ``defaultdict(lambda: [0] * len(actions))``. When the
  observation space is ``Discrete`` (FrozenLake), ``make_table`` gives a NumPy array of
  shape (states, actions) instead; ``Q[s][a]`` reads the same, and ``show_q_value`` or
  ``np.save`` take it as it is. Other spaces get a ``defaultdict`` of NumPy rows.
- The book's greedy choice takes a random action while ``Q[s]`` sums to 0 and ``np.argmax``
  otherwise, which always picks the first of several equal values. Here the choice is random
  among *all* tied maxima. At the start every value is 0, and an agent that always broke ties
  to the same action would keep walking the same way and might never find the goal.
- The random numbers come from Python's ``random`` module (seeded by ``common.set_seed``):
  it is several times cheaper per call than NumPy for one number at a time, and the
  learning loops call it on every step.
"""

import csv
import random
from collections import defaultdict
from pathlib import Path

from common import atomic_path, output_dir, plot_reward_history, reward_groups

import numpy as np
from gymnasium import spaces


def greedy_action(values):
    """Index of the largest of ``values``; a uniformly random one when several tie."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    best = max(values)
    # The common case (one clear best) costs two C-level list scans and no Python loop.
    if values.count(best) == 1:
        return values.index(best)
    return random.choice([i for i, value in enumerate(values) if value == best])


def render_env(env):
    """Draw the environment when it was made with a ``render_mode``; print text frames."""
    if env.render_mode is None:
        return
    frame = env.render()
    if isinstance(frame, str):
        print(frame)


class ELAgent:
    """Base class of the Day3 agents: Q table, ε-greedy policy and reward log."""

    def __init__(self, epsilon):
        self.Q = {}
        self.epsilon = epsilon
        self.reward_log = []

    @staticmethod
    def make_table(env, fill=0.0):
        """A fresh table indexed ``[s][a]``: a (states, actions) array when states are counted.

        gymnasium's FrozenLake has ``Discrete`` observations, so the whole table is one array.
        For any other observation space, rows are created on first use, as in the book.
        """
        n_actions = env.action_space.n
        if isinstance(env.observation_space, spaces.Discrete):
            return np.full((env.observation_space.n, n_actions), fill, dtype=float)
        return defaultdict(lambda: np.full(n_actions, fill, dtype=float))

    def policy(self, s, actions):
        """ε-greedy: a random action with probability ε, else the best (random among ties)."""
        if random.random() < self.epsilon:
            return random.randrange(len(actions))
        if isinstance(self.Q, dict) and s not in self.Q:
            # Nothing is known about s yet (the book's empty dict before learning).
            return random.randrange(len(actions))
        return greedy_action(self.Q[s])

    def init_log(self):
        self.reward_log = []

    def log(self, reward):
        self.reward_log.append(reward)

    def show_reward_log(self, interval=50, episode=-1, path=None, show=True):
        """Print the recent average reward, or plot the whole history.

        With ``episode`` (> 0) it prints the book's line for the last ``interval`` episodes.
        Without it, the history is cut into blocks of ``interval`` episodes; the plot shows
        each block's mean and a band of ± one standard deviation, clipped to the rewards seen
        (``common.plot_reward_history``, which the later days share). The figure is saved as
        a PNG (``path``, by default under ``outputs/EL/el_agent/``), shown when ``show`` is
        true and a window can open, and the saved path is returned.
        """
        if episode > 0:
            rewards = self.reward_log[-interval:]
            mean = np.round(np.mean(rewards), 3)
            std = np.round(np.std(rewards), 3)
            print(f"At Episode {episode} average reward is {mean} (+/-{std}).")
            return None

        if path is None:
            path = output_dir(__file__) / "reward_history.png"
        x, groups = reward_groups(self.reward_log, interval)
        return plot_reward_history(
            groups, path, x=x, show=show,
            label=f"{interval} エピソードごとの平均報酬 (mean over every {interval} episodes)")

    def save_reward_log(self, path):
        """Write the reward of every episode to a CSV file (atomically) and return its path."""
        path = Path(path)
        with atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["episode", "reward"])
            writer.writerows(enumerate(self.reward_log))
        print(f"Saved {path}")
        return path
