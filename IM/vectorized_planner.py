"""Day6: the planners inverse RL calls in its inner loop, with a reward you can swap.

Inverse RL guesses a reward, plans the best behaviour under that guess, compares it with the
teacher's behaviour, and corrects the guess. Planning is therefore done again and again, each
time with a different reward: the planner's reward must be pluggable. Here it is
``reward_func(state) -> reward on arriving at state``, which defaults to the GridWorld's own.

These are the Day2 planners of ``DP/planner.py``, not new ones: the vectorized Value and
Policy Iteration run on the GridWorld's ``GridMDP``, with the reward replaced by
``reward_func`` evaluated over all states. What is added is what inverse RL needs:

- ``plan`` returns V as a flat array (one value per state number), as the book's does;
- ``policy`` is an array of shape (S, A) (for Value Iteration, the greedy policy with ties
  shared evenly; for Policy Iteration, the one-hot policy it converged to);
- ``act(s)`` samples the policy's action in state ``s`` (ties broken at random);
- ``policy_to_q(V, gamma)`` gives Q(s, a) = Σ_s' T(s'|s, a) (R(s') + γ V(s')).

The sweeps run on ``GridMDP``'s columns (UP, DOWN, LEFT, RIGHT); ``policy``, ``act`` and
``policy_to_q`` answer in the GridWorld's own action numbers (LEFT, DOWN, RIGHT, UP, as in the
book), translated in one place by ``MDP_ACTIONS``.

Deviation from the book: its ``policy_to_q`` weighted Q by the policy's probabilities, so
every action but the chosen one got Q = 0; here Q is the plain action value, which is what
the Bayesian IRL likelihood (a softmax over Q) is defined on.
"""

import argparse

from common import exit_with_error, probability, seed_value, set_seed

import numpy as np

from DP import planner as dp
from envs.gridworld import DEFAULT_GRID, MDP_ACTIONS, GridWorld

# One arrow per GridWorld action: LEFT, DOWN, RIGHT, UP.
ARROWS = "←↓→↑"


class Planner(dp.Planner):
    """The Day2 planner on a ``GridWorld``, with a pluggable ``reward_func``."""

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
        """π(a|s) as an array of shape (S, A), in the GridWorld's action order."""
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


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Plan on the inverse-RL GridWorld with Value and Policy Iteration."
    )
    parser.add_argument("--gamma", type=probability, default=0.9,
                        help="discount factor γ, below 1 (default 0.9)")
    parser.add_argument("--move-prob", type=probability, default=0.8,
                        help="probability of moving as intended (default 0.8)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.gamma >= 1.0:
        exit_with_error(f"--gamma must be below 1, got {args.gamma}")
    set_seed(args.seed)
    env = GridWorld(DEFAULT_GRID, move_prob=args.move_prob)
    arrows = np.array(list(ARROWS))
    results = {}
    for name, planner in (("Value Iteration", ValueIterationPlanner(env)),
                          ("Policy Iteration", PolicyIterationPlanner(env))):
        V = planner.plan(gamma=args.gamma)
        actions = arrows[planner.policy.argmax(axis=1)]
        actions[env.mdp.terminal] = "■"
        print(f"{name}: V")
        print(np.array2string(V.reshape(env.shape), precision=3, suppress_small=True))
        print("\n".join(" ".join(row) for row in actions.reshape(env.shape)))
        print()
        results[name] = V
    return results


if __name__ == "__main__":
    main()
