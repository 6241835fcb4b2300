"""Day2: planning with dynamic programming — Value Iteration and Policy Iteration.

Knowing the transitions and rewards, the agent plans without moving. Value Iteration repeats
V(s) ← max_a Σ_s' T(s'|s, a) (R(s') + γ V(s')); Policy Iteration evaluates its policy, makes
it greedy on those values, and stops when it no longer changes. Run: ``python DP/planner.py``.

The book's listing, loops over states with ``transitions_at``; the simulator plans with
``DP/vectorized_planner.py``, the same sums as NumPy sweeps (a test keeps the two equal).
Departure from the book: Policy Iteration evaluates with the *sum* over the policy's actions
(the book took their max) and keeps the current action while it is still one of the best.
"""

import argparse

from common import positive_float, probability, seed_value, set_seed

from DP.environment import SAMPLE_GRID, Environment


class Planner:

    def __init__(self, env):
        self.env = env
        self.log = []

    def initialize(self):
        self.env.reset()
        self.log = []

    def plan(self, gamma=0.9, threshold=0.0001):
        raise NotImplementedError("Planner subclasses must implement plan(gamma, threshold)")

    def transitions_at(self, state, action):
        """Yield (probability, next state, reward on arrival) for each outcome of the move."""
        transition_probs = self.env.transit_func(state, action)
        for next_state in transition_probs:
            prob = transition_probs[next_state]
            reward, _ = self.env.reward_func(next_state)
            yield prob, next_state, reward

    def dict_to_grid(self, state_reward_dict):
        grid = [[0] * self.env.column_length for _ in range(self.env.row_length)]
        for s in state_reward_dict:
            grid[s.row][s.column] = state_reward_dict[s]
        return grid


class ValueIterationPlanner(Planner):

    def __init__(self, env):
        super().__init__(env)

    def plan(self, gamma=0.9, threshold=0.0001):
        self.initialize()
        actions = self.env.actions
        V = {s: 0 for s in self.env.states}  # the expected reward of each state starts at 0
        while True:
            delta = 0
            self.log.append(self.dict_to_grid(V))
            for s in V:
                if not self.env.can_action_at(s):
                    continue  # the episode ends here: nothing follows, V stays 0
                expected_rewards = []
                for a in actions:
                    r = 0
                    for prob, next_state, reward in self.transitions_at(s, a):
                        r += prob * (reward + gamma * V[next_state])
                    expected_rewards.append(r)
                max_reward = max(expected_rewards)
                delta = max(delta, abs(max_reward - V[s]))
                V[s] = max_reward  # in place: later states of this sweep already see it
            if delta < threshold:
                break
        return self.dict_to_grid(V)


class PolicyIterationPlanner(Planner):

    def __init__(self, env):
        super().__init__(env)
        self.policy = {}

    def initialize(self):
        super().initialize()
        self.policy = {}
        for s in self.env.states:  # at first every action is equally likely
            self.policy[s] = {a: 1 / len(self.env.actions) for a in self.env.actions}

    def estimate_by_policy(self, gamma, threshold):
        V = {s: 0 for s in self.env.states}
        while True:
            delta = 0
            for s in V:
                # The value under the policy is an expectation: weigh each action by π(a|s).
                expected_reward = 0
                for a in self.policy[s]:
                    action_prob = self.policy[s][a]
                    for prob, next_state, reward in self.transitions_at(s, a):
                        expected_reward += action_prob * prob * (reward + gamma * V[next_state])
                delta = max(delta, abs(expected_reward - V[s]))
                V[s] = expected_reward
            if delta < threshold:
                break
        return V

    def plan(self, gamma=0.9, threshold=0.0001):
        self.initialize()
        def take_max_action(action_value_dict):
            return max(action_value_dict, key=action_value_dict.get)

        while True:
            update_stable = True
            V = self.estimate_by_policy(gamma, threshold)
            self.log.append(self.dict_to_grid(V))
            for s in self.env.states:
                policy_action = take_max_action(self.policy[s])
                action_rewards = {}
                for a in self.env.actions:
                    r = 0
                    for prob, next_state, reward in self.transitions_at(s, a):
                        r += prob * (reward + gamma * V[next_state])
                    action_rewards[a] = r
                best_action = take_max_action(action_rewards)
                # Trap: keep the current action while it is one of the best, or ties flip forever.
                if action_rewards[policy_action] >= action_rewards[best_action] - 1e-9:
                    best_action = policy_action
                if policy_action != best_action:
                    update_stable = False
                for a in self.policy[s]:  # greedy: the best action gets probability 1
                    self.policy[s][a] = 1 if a == best_action else 0
            if update_stable:
                break
        return self.dict_to_grid(V)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Plan the book's 3x4 maze, as the book does.")
    parser.add_argument("--gamma", type=probability, default=0.9,
                        help="discount factor γ from 0 to 1 (default 0.9)")
    parser.add_argument("--threshold", type=positive_float, default=0.0001,
                        help="stop when no value moves more than this (default 0.0001)")
    parser.add_argument("--move-prob", type=probability, default=0.8,
                        help="probability of moving as intended (default 0.8)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    set_seed(args.seed)
    env = Environment(SAMPLE_GRID, move_prob=args.move_prob)
    for planner in (ValueIterationPlanner(env), PolicyIterationPlanner(env)):
        V = planner.plan(gamma=args.gamma, threshold=args.threshold)
        print(f"{type(planner).__name__} (γ={args.gamma}, move_prob={args.move_prob}): "
              f"{len(planner.log)} 回の反復 (iterations)")
        print("\n".join(" ".join(f"{value:7.3f}" for value in row) for row in V) + "\n")


if __name__ == "__main__":
    main()
