"""Day3: ``ELAgent``, what every agent that learns from experience shares: the table of
action values ``Q`` (read ``self.Q[s][a]`` as in the book), the ε-greedy ``policy(s,
actions)`` and the reward log. Monte Carlo, Q-learning, SARSA and the Actor derive from it.

Departures from the book:
- ``make_table`` gives a (states, actions) NumPy array when the states are ``Discrete``;
- ties for the best action are broken at random: at the start every value is 0, and an agent
  that always took the first action would keep walking one way;
- random numbers come from Python's ``random`` (seeded by ``common.set_seed``), cheaper than
  NumPy for one number at a time.
"""

import random
from collections import defaultdict

from common import output_dir, plot_reward_history, reward_groups

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
        """A fresh table indexed ``[s][a]``: one (states, actions) array for ``Discrete``
        states (FrozenLake); otherwise rows made on first use, as in the book."""
        n_actions = env.action_space.n
        if isinstance(env.observation_space, spaces.Discrete):
            return np.full((env.observation_space.n, n_actions), fill, dtype=float)
        return defaultdict(lambda: np.full(n_actions, fill, dtype=float))

    def policy(self, s, actions):
        """ε-greedy: a random action with probability ε, else the best (random among ties)."""
        if random.random() < self.epsilon:
            return random.randrange(len(actions))
        if isinstance(self.Q, dict) and s not in self.Q:  # nothing known about s yet
            return random.randrange(len(actions))
        return greedy_action(self.Q[s])

    def init_log(self):
        self.reward_log = []

    def log(self, reward):
        self.reward_log.append(reward)

    def show_reward_log(self, interval=50, episode=-1, path=None, show=True):
        """With ``episode`` (> 0), print the book's line for the last ``interval`` episodes.
        Without, plot each block of ``interval`` episodes' mean ± one standard deviation, save
        it as a PNG (``path``, by default under ``outputs/EL/el_agent/``), show it when
        ``show`` is true and a window can open, and return the path."""
        if episode > 0:
            rewards = self.reward_log[-interval:]
            print(f"At Episode {episode} average reward is {np.round(np.mean(rewards), 3)} "
                  f"(+/-{np.round(np.std(rewards), 3)}).")
            return None

        if path is None:
            path = output_dir(__file__) / "reward_history.png"
        x, groups = reward_groups(self.reward_log, interval)
        return plot_reward_history(
            groups, path, x=x, show=show,
            label=f"{interval} エピソードごとの平均報酬 (mean over every {interval} episodes)")
