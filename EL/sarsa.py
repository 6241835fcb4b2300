"""Day3: SARSA — move Q(s, a) towards r + γ Q(s', a'), with a' the action really taken next.

SARSA picks the next action a' with its own ε-greedy policy *first*, exploration included,
so it learns the values of the policy it follows (on-policy). Near a hole an exploring agent
sometimes slips in: SARSA values those cells lower than Q-learning does (``compare_q_s.py``).

    python EL/sarsa.py [--episodes 500] [--seed 0] [--slippery] [--no-show]

Departures from the book: gymnasium's 5-tuple ``step`` (see ``q_learning.py``); the update is
one method, ``update``, so that a single step can be checked by hand.
"""

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class SARSAAgent(ELAgent):
    def __init__(self, epsilon=0.1):
        super().__init__(epsilon)

    def learn(self, env, episode_count=1000, gamma=0.9, learning_rate=0.1, render=False,
              report_interval=50):
        self.init_log()
        actions = list(range(env.action_space.n))
        self.Q = self.make_table(env)
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            reward = 0.0
            a = self.policy(s, actions)
            while not done:
                if render:
                    render_env(env)
                n_state, reward, terminated, truncated, _ = env.step(a)
                n_action = self.policy(n_state, actions)  # on-policy: the action really taken
                self.update(s, a, reward, n_state, n_action, terminated, gamma, learning_rate)
                s = n_state
                a = n_action
                done = terminated or truncated
            self.log(reward)

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def update(self, s, a, reward, n_state, n_action, terminated, gamma=0.9,
               learning_rate=0.1):
        """One SARSA step: Q(s,a) += α (r + γ Q(s',a') − Q(s,a)); 0 after the end."""
        if terminated:
            gain = reward
        else:
            gain = reward + gamma * self.Q[n_state][n_action]
        estimated = self.Q[s][a]
        self.Q[s][a] += learning_rate * (gain - estimated)


def train(episode_count=500, seed=0, slippery=False, show=True):
    """Learn the lake, then show the Q table and the reward history, as the book's ``train``."""
    env = make_training_env(seed, slippery)
    agent = SARSAAgent()
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=episode_count)
    report_training(agent, env, __file__, agent.Q, "SARSA: Q 値", show=show,
                    interrupted=training.interrupted)
    return agent


def main(argv=None):
    args = training_parser("SARSA on FrozenLakeEasy-v0 (Day3, on-policy TD).",
                           episodes=500).parse_args(argv)
    return train(args.episodes, args.seed, args.slippery, show=not args.no_show)


if __name__ == "__main__":
    main()
