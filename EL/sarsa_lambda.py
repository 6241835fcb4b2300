"""Day3: SARSA(λ) — TD(λ) with eligibility traces, for the action values of the lake.

TD(λ) mixes the returns of every length (λ = 0: one-step SARSA; λ = 1: Monte Carlo). The
eligibility trace does it online: the pair just taken gets E(s, a) += 1, the TD error
δ = r + γ Q(s', a') − Q(s, a) corrects every pair at once, Q += α δ E, and all traces fade
by γλ per step. So a reward found now also corrects the pairs that led here. With λ = 0 the
update is SARSA's, number for number.

    python EL/sarsa_lambda.py [--lambda 0.8] [--episodes 500] [--seed 0] [--no-show]

Traces start at 0 in each episode; after a time limit δ still bootstraps. The table must be
an array (it is on FrozenLake). Not in the book's code; see Sutton & Barto, 12.7.
"""

from common import probability

import numpy as np

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class SARSALambdaAgent(ELAgent):
    def __init__(self, epsilon=0.1, lambda_=0.8):
        super().__init__(epsilon)
        self.lambda_ = lambda_  # ``lambda`` is a Python keyword

    def learn(self, env, episode_count=1000, gamma=0.9, learning_rate=0.1, render=False,
              report_interval=50):
        self.init_log()
        actions = list(range(env.action_space.n))
        self.Q = self.make_table(env)
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            reward = 0.0
            E = np.zeros_like(self.Q)  # the eligibility traces start empty in each episode
            a = self.policy(s, actions)
            while not done:
                if render:
                    render_env(env)
                n_state, reward, terminated, truncated, _ = env.step(a)
                n_action = self.policy(n_state, actions)  # on-policy, as in SARSA
                self.update(E, s, a, reward, n_state, n_action, terminated, gamma,
                            learning_rate)
                s = n_state
                a = n_action
                done = terminated or truncated
            self.log(reward)

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def update(self, E, s, a, reward, n_state, n_action, terminated, gamma=0.9,
               learning_rate=0.1):
        """One step: δ from (s, a, r, s', a'), then every pair moves by α δ E; traces fade."""
        if terminated:
            gain = reward
        else:
            gain = reward + gamma * self.Q[n_state][n_action]
        delta = gain - self.Q[s][a]
        E[s][a] += 1.0
        self.Q += learning_rate * delta * E
        E *= gamma * self.lambda_


def main(argv=None):
    parser = training_parser("SARSA(λ) with eligibility traces on FrozenLakeEasy-v0 (Day3).",
                             episodes=500)
    parser.add_argument("--lambda", dest="lambda_", metavar="LAMBDA", type=probability, default=0.8,
                        help="trace decay λ: 0 is SARSA, 1 is Monte Carlo-like (default 0.8)")
    args = parser.parse_args(argv)
    env = make_training_env(args.seed, args.slippery)
    agent = SARSALambdaAgent(epsilon=0.1, lambda_=args.lambda_)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, f"SARSA(λ = {args.lambda_}): Q 値",
                    show=not args.no_show, interrupted=training.interrupted)
    return agent


if __name__ == "__main__":
    main()
