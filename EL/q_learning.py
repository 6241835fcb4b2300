"""Day3: Q-learning — correct the value of an action from a one-step prediction (TD).

After each step the agent moves Q(s, a) towards the TD target

    r + γ max_a' Q(s', a'),

the reward it just got plus the discounted value of the *best* action in the next state. The
best action is used whatever the agent will really do next (it may explore), which makes
Q-learning *off-policy*: it learns the values of the greedy policy while following the
ε-greedy one. When s' ends the episode (a hole or the goal) nothing follows, so the target is
the reward alone. A time limit only cuts the episode short; the lake goes on, so that next
state is still bootstrapped.

Deviation from the book: gymnasium's ``step`` returns ``terminated`` and ``truncated``
separately, and the book's 4-tuple ``done`` is ``terminated or truncated``. The update is
one method, ``update``, so that a single step can be checked by hand.
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
            reward = 0.0
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


def main(argv=None):
    args = training_parser(
        "Q-learning on FrozenLakeEasy-v0 (Day3, off-policy TD).", episodes=500
    ).parse_args(argv)
    env = make_training_env(args)
    agent = QLearningAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "Q-learning: Q 値",
                    show=not args.no_show, interrupted=training.interrupted)
    return agent


if __name__ == "__main__":
    main()
