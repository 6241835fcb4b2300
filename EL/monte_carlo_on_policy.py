"""Day3: on-policy Monte Carlo control — evaluate the policy from real returns, then improve it.

This is Day2's policy iteration done from experience, one episode at a time:

1. **Evaluate.** Play an episode with the current policy π. For each pair (s, a) take the
   return G that followed its *first* visit in the episode, and move Q(s, a) towards it with
   step 1/N(s, a), so that Q(s, a) is the average of those returns ("first-visit" MC).
2. **Improve.** In every state of the episode, make π ε-greedy with respect to the new Q:
   the best action gets 1 − ε + ε/|A|, every other action ε/|A| (ties share the best part).

π is kept as a table of probabilities, ``pi[s][a]``, and the agent acts by sampling from it.
It is never greedy: every action keeps at least ε/|A| (an "ε-soft" policy). That is what
makes the method on-policy: the returns come from the same ε-soft policy that is being
improved, so Q estimates the values *of that policy*, exploration included, and no starting
states have to be forced ("exploring starts") for every pair to be tried.

How it differs from ``monte_carlo.py``: that agent (the book's) acts ε-greedily on Q and
averages every visit. Its behaviour is the same kind of policy, but it never writes the
policy down; here the improvement step is a line of code of its own, and the average is
over first visits, as in Sutton & Barto's "on-policy first-visit MC control". The book's
table lists "on-policy Monte Carlo" as updating both the value (Q) and the policy (π).

A time limit (gymnasium's ``truncated``) cuts an episode short without ending the task: the
lake goes on from the last state s. Its unseen rest of the return is estimated by the value
of s under π, Σ_a π(a|s) Q(s, a). Only a real end (``terminated``) contributes nothing more.
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
    env = make_training_env(args)
    agent = OnPolicyMonteCarloAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "On-policy モンテカルロ法: Q 値",
                    show=not args.no_show, interrupted=training.interrupted, pi=agent.pi)
    return agent


if __name__ == "__main__":
    main()
