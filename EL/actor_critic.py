"""Day3: Actor-Critic — keep the policy (Actor) and its evaluation (Critic) apart.

The Critic learns V(s) by TD; the Actor keeps a preference ``Q[s][a]`` for each action and
acts by their softmax. Both learn from one TD error δ = r + γ V(s') − V(s): an action that did
better than the Critic expected (δ > 0) becomes more likely. This is Day2's policy iteration
(evaluate, then improve) done one step at a time, from experience.

    python EL/actor_critic.py [--episodes 3000] [--seed 0] [--slippery] [--no-show]

Departures from the book:
- gymnasium's 5-tuple ``step``: when s' ends the episode the target is the reward alone;
- the softmax subtracts the largest preference first (same probabilities, no overflow).
"""

import math
import random

import numpy as np

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class Actor(ELAgent):
    """The policy: softmax over per-state action preferences ``Q[s][a]``."""

    def __init__(self, env):
        super().__init__(epsilon=-1)  # never ε-greedy: the softmax does the exploring
        n_states = env.observation_space.n
        n_actions = env.action_space.n
        self.actions = list(range(n_actions))
        # Random initial preferences, as in the book (drawn from NumPy's seeded generator).
        self.Q = np.random.uniform(0, 1, (n_states, n_actions))

    def softmax(self, x):
        x = np.asarray(x, dtype=float)
        z = np.exp(x - x.max(axis=0))
        return z / np.sum(z, axis=0)

    def policy(self, s, actions=None):
        """Sample an action from the softmax of ``Q[s]`` (``actions`` is accepted, not needed)."""
        preferences = self.Q[s].tolist()
        top = max(preferences)
        # The same probabilities as ``softmax``, in plain Python: far cheaper for 4 numbers.
        weights = [math.exp(p - top) for p in preferences]
        return random.choices(self.actions, weights=weights)[0]


class Critic:
    """The evaluation: the value V(s) of each state under the Actor's policy."""

    def __init__(self, env):
        states = env.observation_space.n
        self.V = np.zeros(states)


class ActorCritic:
    def __init__(self, actor_class, critic_class):
        self.actor_class = actor_class
        self.critic_class = critic_class

    def train(self, env, episode_count=1000, gamma=0.9, learning_rate=0.1, render=False,
              report_interval=50):
        actor = self.actor_class(env)
        critic = self.critic_class(env)
        actor.init_log()
        # Ctrl-C keeps the pair learned so far: the caller gets them from ``self``.
        self.actor, self.critic = actor, critic
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            reward = 0.0
            while not done:
                if render:
                    render_env(env)
                a = actor.policy(s)
                n_state, reward, terminated, truncated, _ = env.step(a)

                gain = reward if terminated else reward + gamma * critic.V[n_state]
                estimated = critic.V[s]
                td = gain - estimated
                actor.Q[s][a] += learning_rate * td
                critic.V[s] += learning_rate * td
                s = n_state
                done = terminated or truncated
            actor.log(reward)

            if e != 0 and e % report_interval == 0:
                actor.show_reward_log(episode=e)

        return actor, critic


def train(episode_count=3000, seed=0, slippery=False, show=True):
    """Learn the lake with an Actor and a Critic, then show the Actor's preferences and the
    reward history, as the book's ``train``; return ``(actor, critic)``."""
    env = make_training_env(seed, slippery)
    trainer = ActorCritic(Actor, Critic)
    with keep_on_interrupt() as training:
        trainer.train(env, episode_count=episode_count)
    actor, critic = trainer.actor, trainer.critic
    report_training(actor, env, __file__, actor.Q, "Actor-Critic: Actor の行動の好み (preferences)",
                    show=show, interrupted=training.interrupted, V=critic.V)
    return actor, critic


def main(argv=None):
    args = training_parser("Actor-Critic on FrozenLakeEasy-v0 (Day3).",
                           episodes=3000).parse_args(argv)
    return train(args.episodes, args.seed, args.slippery, show=not args.no_show)


if __name__ == "__main__":
    main()
