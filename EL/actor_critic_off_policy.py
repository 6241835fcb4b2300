"""Day3: off-policy Actor-Critic — the Actor learns from moves that another policy made.

The moves come from a behaviour policy b(a|s) = (1 − ε) π(a|s) + ε / |A|, not from the Actor's
π. Each step is weighted by the importance weight ρ = π(a|s) / b(a|s), and both the Critic
(V(s) += α ρ δ) and the Actor (Q[s][a] += α ρ δ) learn from the same TD error δ. Mixing π into
b keeps every ρ below 1 / (1 − ε), so one step never throws the values far off.

    python EL/actor_critic_off_policy.py [--episodes 3000] [--seed 0] [--no-show]

Not in the book's code: the weighting follows Degris, White & Sutton (2012), "Off-Policy
Actor-Critic", in the book's tabular form. More in doc/day3.md.
"""

import random

from common import probability

from EL.actor_critic import Actor, ActorCritic, Critic
from EL.el_agent import render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class OffPolicyActorCritic(ActorCritic):
    """Actor-Critic whose moves come from an ε-mixture of the Actor and random play."""

    def __init__(self, actor_class, critic_class, epsilon=0.3):
        super().__init__(actor_class, critic_class)
        self.epsilon = epsilon

    def behave(self, actor, s):
        """Draw an action from b; return it with its importance weight π(a|s) / b(a|s)."""
        if random.random() < self.epsilon:
            a = random.randrange(len(actor.actions))
        else:
            a = actor.policy(s)
        pi = actor.softmax(actor.Q[s])[a]
        b = (1.0 - self.epsilon) * pi + self.epsilon / len(actor.actions)
        return a, pi / b

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
                a, rho = self.behave(actor, s)
                n_state, reward, terminated, truncated, _ = env.step(a)

                gain = reward if terminated else reward + gamma * critic.V[n_state]
                td = gain - critic.V[s]
                actor.Q[s][a] += learning_rate * rho * td
                critic.V[s] += learning_rate * rho * td
                s = n_state
                done = terminated or truncated
            actor.log(reward)

            if e != 0 and e % report_interval == 0:
                actor.show_reward_log(episode=e)

        return actor, critic


def main(argv=None):
    parser = training_parser(
        "Off-policy Actor-Critic with importance weights on FrozenLakeEasy-v0 (Day3).",
        episodes=3000,
    )
    parser.add_argument("--epsilon", type=probability, default=0.3,
                        help="share of random moves in the behaviour policy (default 0.3)")
    args = parser.parse_args(argv)
    env = make_training_env(args.seed, args.slippery)
    trainer = OffPolicyActorCritic(Actor, Critic, epsilon=args.epsilon)
    with keep_on_interrupt() as training:
        trainer.train(env, episode_count=args.episodes)
    actor, critic = trainer.actor, trainer.critic
    report_training(actor, env, __file__, actor.Q,
                    "Off-policy Actor-Critic: Actor の行動の好み",
                    show=not args.no_show, interrupted=training.interrupted, V=critic.V)
    return actor, critic


if __name__ == "__main__":
    main()
