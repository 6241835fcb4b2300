"""Day3: Q-learning — move Q(s, a) towards the TD target r + γ max_a' Q(s', a').

The target takes the *best* next action, whatever the agent really does next (it may
explore): Q-learning is off-policy. Run: ``python EL/q_learning.py [--episodes 500]``.

Departures from the book: gymnasium's ``step`` tells ``terminated`` (a hole or the goal:
nothing follows, the target is the reward) from ``truncated`` (a time limit: s' is still
bootstrapped); the update is one method, ``update``, so that a step can be checked by hand.
"""

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class QLearningAgent(ELAgent):
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
            while not done:
                if render:
                    render_env(env)
                a = self.policy(s, actions)
                n_state, reward, terminated, truncated, _ = env.step(a)
                self.update(s, a, reward, n_state, terminated, gamma, learning_rate)
                s = n_state
                done = terminated or truncated
            self.log(reward)
            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def update(self, s, a, reward, n_state, terminated, gamma=0.9, learning_rate=0.1):
        """One Q-learning step: Q(s,a) += α (r + γ max Q(s') − Q(s,a)); 0 after the end."""
        if terminated:
            gain = reward
        else:
            # max over a plain list: for 4 actions it is cheaper than NumPy's reduction.
            gain = reward + gamma * max(self.Q[n_state].tolist())
        estimated = self.Q[s][a]
        self.Q[s][a] += learning_rate * (gain - estimated)


def train(episode_count=500, seed=0, slippery=False, show=True):
    """Learn the lake, then show the Q table and the reward history, as the book's ``train``."""
    env = make_training_env(seed, slippery)
    agent = QLearningAgent()
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=episode_count)
    report_training(agent, env, __file__, agent.Q, "Q-learning: Q 値", show=show,
                    interrupted=training.interrupted)
    return agent


def main(argv=None):
    args = training_parser("Q-learning on FrozenLakeEasy-v0 (Day3, off-policy TD).",
                           episodes=500).parse_args(argv)
    return train(args.episodes, args.seed, args.slippery, show=not args.no_show)


if __name__ == "__main__":
    main()
