"""Day6: the planners inverse RL calls in its inner loop, with a reward you can swap.

Inverse RL guesses a reward, plans under it, compares the plan with the teacher and corrects
the guess: the reward must be pluggable, ``reward_func(state)`` (the reward on arrival).
This is the book's listing, loops over states with ``transitions_at``; the estimators plan
with its vectorized twin, ``IM/vectorized_planner.py`` (tested equal).

Run: ``python IM/planner.py`` prints V and the policies on the book's 4x4 grid.

Changes from the book:
- an end cell is worth 0 and is counted once, on arrival (the book gave it its reward twice);
- ``estimate_by_policy`` takes the expectation over π, not a max (a bug in the book);
- ``policy_to_q`` is the plain Q(s, a), not weighted by π (Bayesian IRL takes a softmax of it);
- ``plan`` keeps an action that is tied with the best, so the policy settles.
"""

import argparse

from common import exit_with_error, probability, seed_value, set_seed

import numpy as np

from envs.gridworld import DEFAULT_GRID, GridWorldEnv

# One arrow per GridWorldEnv action: LEFT, DOWN, RIGHT, UP.
ARROWS = "←↓→↑"
# Actions whose values differ by less than this are ties.
TIE_TOLERANCE = 1e-6


class Planner:

    def __init__(self, env, reward_func=None):
        self.env = env
        self.reward_func = env.reward_func if reward_func is None else reward_func

    def initialize(self):
        self.env.reset()

    def transitions_at(self, state, action):
        """Yield ``(probability, next_state, reward, done)`` for each cell the move can reach."""
        if self.env.has_done(state):
            return  # the episode is over: nothing follows, no reward and no value
        transition_probs = self.env.transit_func(state, action)
        for next_state, prob in transition_probs.items():
            # The reward is earned on arrival; a cell where the episode ends has no future.
            reward = self.reward_func(next_state)
            yield prob, next_state, reward, self.env.has_done(next_state)

    def plan(self, gamma=0.9, threshold=0.0001):
        raise NotImplementedError("Planner subclasses must implement plan(gamma, threshold)")


class ValueIterationPlanner(Planner):

    def __init__(self, env, reward_func=None):
        super().__init__(env, reward_func)

    def plan(self, gamma=0.9, threshold=0.0001):
        self.initialize()
        V = np.zeros(self.env.observation_space.n)
        while True:
            delta = 0
            for s in self.env.states:
                expected_rewards = []
                for a in self.env.actions:
                    reward = 0
                    for p, n_s, r, done in self.transitions_at(s, a):
                        reward += p * (r + gamma * V[n_s] * (not done))
                    expected_rewards.append(reward)
                # V(s) ← max_a Σ_s' T(s'|s, a) (R(s') + γ V(s')), overwritten as we go.
                max_reward = max(expected_rewards)
                delta = max(delta, abs(max_reward - V[s]))
                V[s] = max_reward
            if delta < threshold:
                break
        return V


class PolicyIterationPlanner(Planner):

    def __init__(self, env, reward_func=None):
        super().__init__(env, reward_func)
        self.policy = None
        self._limit_count = 1000

    def initialize(self):
        super().initialize()
        # Start from the uniformly random policy: π(a|s) = 1 / |A|.
        n_actions = self.env.action_space.n
        self.policy = np.ones((self.env.observation_space.n, n_actions)) / n_actions

    def policy_to_q(self, V, gamma):
        """Q(s, a) = Σ_s' T(s'|s, a) (R(s') + γ V(s')) for every state and action."""
        Q = np.zeros((self.env.observation_space.n, self.env.action_space.n))
        for s in self.env.states:
            for a in self.env.actions:
                for p, n_s, r, done in self.transitions_at(s, a):
                    Q[s][a] += p * (r + gamma * V[n_s] * (not done))
        return Q

    def estimate_by_policy(self, gamma, threshold):
        """V^π: an expectation over the policy's actions, never a max."""
        V = np.zeros(self.env.observation_space.n)
        count = 0
        while True:
            delta = 0
            for s in self.env.states:
                expected_reward = 0
                for a in self.env.actions:
                    action_prob = self.policy[s][a]
                    for p, n_s, r, done in self.transitions_at(s, a):
                        expected_reward += action_prob * p * (r + gamma * V[n_s] * (not done))
                delta = max(delta, abs(expected_reward - V[s]))
                V[s] = expected_reward
            if delta < threshold or count > self._limit_count:
                break
            count += 1
        return V

    def act(self, s):
        return int(np.argmax(self.policy[s]))

    def plan(self, gamma=0.9, threshold=0.0001, keep_policy=False):
        if not keep_policy:
            self.initialize()
        count = 0
        while True:
            update_stable = True
            # Evaluate the current policy, then make it greedy on the values found.
            V = self.estimate_by_policy(gamma, threshold)
            Q = self.policy_to_q(V, gamma)
            for s in self.env.states:
                policy_action = self.act(s)
                best_action = int(np.argmax(Q[s]))
                # Trap: keep the current action while it is (one of) the best. Hopping between
                # equally good actions would make the policy "change" forever.
                if Q[s][policy_action] >= Q[s][best_action] - TIE_TOLERANCE:
                    best_action = policy_action
                if policy_action != best_action:
                    update_stable = False
                self.policy[s] = np.zeros(len(self.env.actions))
                self.policy[s][best_action] = 1.0
            if update_stable or count > self._limit_count:
                break
            count += 1
        return V


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Plan on the inverse-RL GridWorldEnv with Value and Policy Iteration."
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
    env = GridWorldEnv(DEFAULT_GRID, move_prob=args.move_prob)
    results = {}
    for name, planner in (("Value Iteration", ValueIterationPlanner(env)),
                          ("Policy Iteration", PolicyIterationPlanner(env))):
        V = planner.plan(gamma=args.gamma)
        print(f"{name}: V")
        print(np.array2string(V.reshape(env.shape), precision=3, suppress_small=True))
        results[name] = V
    # The greedy policy of the last plan, one arrow per cell (■ where the episode ends).
    arrows = np.array([ARROWS[planner.act(s)] for s in range(env.observation_space.n)])
    arrows[env.mdp.terminal] = "■"
    arrows[env.mdp.blocked] = "#"
    print("\n".join(" ".join(row) for row in arrows.reshape(env.shape)))
    return results


if __name__ == "__main__":
    main()
