"""Day6: the fast twin of ``IM/planner.py``, which the inverse-RL estimators plan with.

Inverse RL plans once per guess of the reward: MaxEnt once an epoch, Bayesian IRL once per
sampled reward. These planners give the book's plans (``tests/IM/test_irl_planner.py`` checks
it), each sweep one vectorized backup of every state on the GridWorldEnv's transition arrays
(``env.mdp``, Day2's ``GridMDP``) with the reward replaced by ``reward_func``. They answer in
the GridWorldEnv's action numbers (LEFT, DOWN, RIGHT, UP). Tied best actions share the
probability in Value Iteration's policy, and ``act`` picks at random among them.
"""

import numpy as np

from envs.gridworld import MDP_ACTIONS

TIE = 1e-6  # actions whose values differ by less are equally good


class Planner:
    """Plans on a ``GridWorldEnv`` with a pluggable ``reward_func`` (the reward on arrival)."""

    def __init__(self, env, reward_func=None):
        self.env = env
        self.mdp = env.mdp
        self.reward_func = env.reward_func if reward_func is None else reward_func
        self.policy_probs = None  # π(a|s) in GridMDP's action columns
        self.V = None

    def action_values(self, V, gamma):
        """Q(s, a) = Σ_s' T(s'|s, a) (R(s') + γ V(s')) for every state and action at once."""
        reward = np.array([self.reward_func(s) for s in range(self.mdp.n_states)], dtype=float)
        return self.mdp.action_values(V, gamma, reward)

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
        return self.action_values(np.asarray(V, dtype=float).ravel(), gamma)[:, MDP_ACTIONS]


class ValueIterationPlanner(Planner):
    def plan(self, gamma=0.9, threshold=0.0001, max_iterations=100_000):
        """V ← max_a Q(s, a) until no value moves by ``threshold``; returns V (one per state)."""
        acting = self.mdp.prob.sum(axis=(1, 2)) > 0  # not blocks, not where an episode ended
        V = np.zeros(self.mdp.n_states)
        for _ in range(max_iterations):
            new_V = np.where(acting, self.action_values(V, gamma).max(axis=1), 0.0)
            converged = np.abs(new_V - V).max() < threshold
            V = new_V
            if converged:
                break
        else:
            raise RuntimeError(f"Value Iteration did not converge in {max_iterations} sweeps")
        Q = self.action_values(V, gamma)
        best = (Q >= Q.max(axis=1, keepdims=True) - TIE).astype(float)
        self.policy_probs = best / best.sum(axis=1, keepdims=True)
        self.V = V
        return V


class PolicyIterationPlanner(Planner):
    """Policy Iteration from the uniformly random policy; ``policy`` is the converged one-hot
    array. Each evaluation starts from the previous policy's values (as Day2's fast form)."""

    def plan(self, gamma=0.9, threshold=0.0001, max_iterations=100_000):
        n_actions = self.mdp.prob.shape[1]
        self.policy_probs = np.full((self.mdp.n_states, n_actions), 1 / n_actions)
        V = np.zeros(self.mdp.n_states)
        for _ in range(max_iterations):
            for _ in range(max_iterations):  # evaluation: V(s) ← Σ_a π(a|s) Q(s, a)
                new_V = (self.policy_probs * self.action_values(V, gamma)).sum(axis=1)
                converged = np.abs(new_V - V).max() < threshold
                V = new_V
                if converged:
                    break
            Q = self.action_values(V, gamma)
            # Trap: keep the current action while it is still (one of) the best; switching
            # between equally good actions would make the policy "change" forever.
            current = self.policy_probs.argmax(axis=1)
            keep = Q[np.arange(len(current)), current] >= Q.max(axis=1) - TIE
            improved = np.eye(n_actions)[np.where(keep, current, Q.argmax(axis=1))]
            stable = np.array_equal(improved, self.policy_probs)
            self.policy_probs = improved
            if stable:
                self.V = V
                return V
        raise RuntimeError(f"Policy Iteration did not converge in {max_iterations} steps")
