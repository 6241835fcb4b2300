"""Day3: on-policy Monte Carlo control — evaluate the policy from real returns, then improve it.

Day2's policy iteration done from experience, one episode at a time: play an episode with π,
move Q(s, a) towards the return after each pair's *first* visit (step 1/N), then make π
ε-greedy on the new Q in every state of the episode. π is a table of probabilities,
``pi[s][a]``, that is never greedy (ε-soft): the returns come from the very policy that is
improved, so Q estimates its values, exploration included.

    python EL/monte_carlo_on_policy.py [--episodes 500] [--seed 0] [--no-show]

Unlike ``monte_carlo.py`` (the book's agent), the improvement step is a line of its own and
the average is over first visits (Sutton & Barto's "on-policy first-visit MC control"). After
a time limit the return continues with Σ_a π(a|s) Q(s, a). More in doc/day3.md.
"""

import random

import numpy as np

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


def epsilon_greedy_probabilities(values, epsilon):
    """π(·|s) of the ε-greedy policy on ``values``: ε/|A| each, plus 1 − ε shared by the best.

    ``ELAgent.policy`` draws from exactly these probabilities (it breaks ties at random).
    With ``epsilon=0`` it is the greedy policy, ties split evenly.
    """
    values = np.asarray(values, dtype=float)
    best = values == values.max()
    return epsilon / values.size + (1.0 - epsilon) * best / best.sum()


class OnPolicyMonteCarloAgent(ELAgent):
    """First-visit Monte Carlo control with an explicit ε-soft policy table ``pi``."""

    def __init__(self, epsilon=0.1):
        super().__init__(epsilon)
        self.pi = {}

    def policy(self, s, actions):
        """Sample an action from π(·|s)."""
        return random.choices(actions, weights=self.pi[s].tolist())[0]

    def learn(self, env, episode_count=1000, gamma=0.9, render=False, report_interval=50):
        self.init_log()
        actions = list(range(env.action_space.n))
        self.Q = self.make_table(env)
        N = self.make_table(env)  # how many first visits of (s, a) have been averaged
        self.pi = self.make_table(env, fill=1.0 / len(actions))  # start uniformly random
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            reward = 0.0
            experience = []
            while not done:
                if render:
                    render_env(env)
                a = self.policy(s, actions)
                n_state, reward, terminated, truncated, _ = env.step(a)
                experience.append((s, a, reward))
                s = n_state
                done = terminated or truncated
            self.log(reward)

            # After a real end nothing follows; after a time limit, the value of s under π.
            G = 0.0 if terminated else float(np.dot(self.pi[s], self.Q[s]))
            self.evaluate(experience, G, N, gamma)
            self.improve({s for s, _, _ in experience})

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def evaluate(self, experience, G, N, gamma):
        """Average the return after the first visit of each (s, a); ``G`` is what follows."""
        first_visit = {}
        for t, (s, a, _) in enumerate(experience):
            first_visit.setdefault((s, a), t)
        # Backwards, so that G_t = r_{t+1} + γ G_{t+1} costs one step each.
        for t in reversed(range(len(experience))):
            s, a, reward = experience[t]
            G = reward + gamma * G
            if first_visit[(s, a)] == t:
                N[s][a] += 1
                self.Q[s][a] += (G - self.Q[s][a]) / N[s][a]

    def improve(self, states):
        """Make π ε-greedy with respect to Q in ``states`` (the policy-improvement step)."""
        for s in states:
            self.pi[s] = epsilon_greedy_probabilities(self.Q[s], self.epsilon)


def main(argv=None):
    args = training_parser(
        "On-policy (ε-soft) first-visit Monte Carlo control on FrozenLakeEasy-v0 (Day3).",
        episodes=500,
    ).parse_args(argv)
    env = make_training_env(args.seed, args.slippery)
    agent = OnPolicyMonteCarloAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "On-policy モンテカルロ法: Q 値",
                    show=not args.no_show, interrupted=training.interrupted, pi=agent.pi)
    return agent


if __name__ == "__main__":
    main()
