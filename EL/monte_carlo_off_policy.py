"""Day3: off-policy Monte Carlo — learn the greedy policy from episodes played ε-greedily.

The behaviour policy b (ε-greedy on Q) plays; the target policy π (greedy on Q) is learned.
Weighted importance sampling corrects each return for the difference: walking the episode
backwards, W = Π π(a_k|s_k) / b(a_k|s_k), C(s, a) += W, Q(s, a) += W / C(s, a) · (G − Q(s, a)).
When b took an action π never would, W is 0 and the pass stops: the method learns only from
the tails of episodes that end the way π plays.

    python EL/monte_carlo_off_policy.py [--episodes 500] [--seed 0] [--no-show]

``update`` takes the target as a function, so that ``estimate`` can also predict the value of
a fixed policy. Not in the book's code: Sutton & Barto, section 5.7. More in doc/day3.md.
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
from EL.monte_carlo_on_policy import epsilon_greedy_probabilities


class OffPolicyMonteCarloAgent(ELAgent):
    """Weighted importance-sampling Monte Carlo: ε-greedy behaviour, greedy target."""

    def __init__(self, epsilon=0.1):
        super().__init__(epsilon)
        self.C = {}

    def learn(self, env, episode_count=1000, gamma=0.9, render=False, report_interval=50):
        self.init_log()
        actions = list(range(env.action_space.n))
        self.Q = self.make_table(env)
        self.C = self.make_table(env)  # the sum of the importance weights of each (s, a)

        def behave(s):
            # ε-greedy on Q. Q changes only after the episode, so the probability b(a|s)
            # written down now is the one the action was really drawn with.
            a = self.policy(s, actions)
            return a, epsilon_greedy_probabilities(self.Q[s], self.epsilon)[a]

        def greedy(s):
            return epsilon_greedy_probabilities(self.Q[s], 0.0)

        for e in range(episode_count):
            experience, last_state, terminated = play_episode(env, behave, render)
            self.log(experience[-1][2])
            tail = 0.0 if terminated else max(self.Q[last_state].tolist())
            self.update(experience, greedy, gamma, tail)

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def update(self, experience, target, gamma=0.9, tail=0.0):
        """One backward pass of weighted importance sampling over an episode.

        ``experience`` lists ``(s, a, reward, b(a|s))``; ``target(s)`` gives π(·|s) as it is
        at that moment (for the greedy target, after Q(s, ·) has just been updated);
        ``tail`` is the value of what follows the last step (0 after a real end).
        """
        G = tail
        W = 1.0
        for s, a, reward, behaviour_probability in reversed(experience):
            G = reward + gamma * G
            self.C[s][a] += W
            self.Q[s][a] += W / self.C[s][a] * (G - self.Q[s][a])
            # The weight for the steps before this one: how π and b differ on this action.
            W *= target(s)[a] / behaviour_probability
            if W == 0.0:
                break  # π would not have taken this action: the earlier steps teach nothing

    def estimate(self, env, target, behaviour, episode_count=1000, gamma=0.9):
        """Off-policy *prediction*: Q of the fixed policy ``target`` from ``behaviour``'s play.

        Both are tables of action probabilities, indexed ``[s][a]``. Returns ``Q``.
        """
        self.Q = self.make_table(env)
        self.C = self.make_table(env)
        target = np.asarray(target, dtype=float)
        behaviour = np.asarray(behaviour, dtype=float)
        actions = list(range(env.action_space.n))

        def behave(s):
            a = random.choices(actions, weights=behaviour[s].tolist())[0]
            return a, behaviour[s][a]

        for _ in range(episode_count):
            experience, last_state, terminated = play_episode(env, behave)
            tail = 0.0 if terminated else float(np.dot(target[last_state], self.Q[last_state]))
            self.update(experience, lambda s: target[s], gamma, tail)
        return self.Q


def play_episode(env, behave, render=False):
    """Play one episode; ``behave(s)`` returns ``(action, its probability)``.

    Returns the steps ``(s, a, reward, probability)``, the last state and whether the episode
    really ended (``terminated``) rather than being cut off by a time limit.
    """
    s, _ = env.reset()
    experience = []
    done = False
    while not done:
        if render:
            render_env(env)
        a, probability = behave(s)
        n_state, reward, terminated, truncated, _ = env.step(a)
        experience.append((s, a, reward, probability))
        s = n_state
        done = terminated or truncated
    return experience, s, terminated


def main(argv=None):
    args = training_parser(
        "Off-policy Monte Carlo (weighted importance sampling) on FrozenLakeEasy-v0 (Day3).",
        episodes=500,
    ).parse_args(argv)
    env = make_training_env(args.seed, args.slippery)
    agent = OffPolicyMonteCarloAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "Off-policy モンテカルロ法: Q 値",
                    show=not args.no_show, interrupted=training.interrupted, C=agent.C)
    return agent


if __name__ == "__main__":
    main()
