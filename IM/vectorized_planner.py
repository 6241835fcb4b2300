"""Day6: the fast twin of ``IM/planner.py``, which the inverse-RL estimators plan with.

Inverse RL plans once per guess of the reward: MaxEnt once an epoch, Bayesian IRL once per
sampled reward. These give the book's plans (``tests/IM/test_irl_planner.py`` checks it) with
Day2's vectorized sweeps (``DP/vectorized_planner.py``) on the GridWorldEnv's ``GridMDP``, the
reward swapped for ``reward_func``. They answer in the GridWorldEnv's action numbers (LEFT,
DOWN, RIGHT, UP; ``MDP_ACTIONS`` maps them to ``GridMDP``'s UP, DOWN, LEFT, RIGHT). Value
Iteration keeps its greedy policy too, ties sharing the probability, and ``act`` picks at
random among them.
"""

import numpy as np

from DP import vectorized_planner as dp
from envs.gridworld import MDP_ACTIONS


class Planner(dp.Planner):
    """Day2's vectorized planner on a ``GridWorldEnv``, with a pluggable ``reward_func``."""

    def __init__(self, env, reward_func=None):
        super().__init__(env)
        self.reward_func = env.reward_func if reward_func is None else reward_func
        self.policy_probs = None

    def reward_vector(self):
        """``reward_func`` evaluated at every state: the reward the shared sweeps plan with."""
        return np.array([self.reward_func(s) for s in range(self.mdp.n_states)], dtype=float)

    def plan(self, gamma=0.9, threshold=0.0001):
        """Plan under ``reward_func``; returns V as a flat array (one value per state)."""
        super().plan(gamma=gamma, threshold=threshold)
        return self.V

    @property
    def policy(self):
        """π(a|s) as an array of shape (S, A), in the GridWorldEnv's action order."""
        if self.policy_probs is None:
            raise RuntimeError("call plan() first")
        return self.policy_probs[:, MDP_ACTIONS]

    def act(self, s):
        """An action of the planned policy in state ``s`` (a random one among ties)."""
        probs = self.policy[s]
        return int(np.random.choice(len(probs), p=probs / probs.sum()))

    def policy_to_q(self, V, gamma):
        """Q(s, a) for every state and action under ``reward_func``, given the values V."""
        V = np.asarray(V, dtype=float).ravel()
        return self.mdp.action_values(V, gamma, self.reward_vector())[:, MDP_ACTIONS]


class ValueIterationPlanner(Planner, dp.ValueIterationPlanner):
    def plan(self, gamma=0.9, threshold=0.0001):
        V = super().plan(gamma=gamma, threshold=threshold)
        # The greedy policy, with tied actions sharing the probability (in GridMDP's columns,
        # as Policy Iteration keeps its policy).
        best = dp.greedy_mask(self.mdp.action_values(V, gamma, self.reward_vector()))
        best = best.astype(float)
        self.policy_probs = best / best.sum(axis=1, keepdims=True)
        return V


class PolicyIterationPlanner(Planner, dp.PolicyIterationPlanner):
    """Policy Iteration; ``policy`` is the converged one-hot array, not Day2's dict of States."""
