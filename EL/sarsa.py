"""Day3: SARSA — TD learning that assumes the next action comes from the policy itself.

SARSA learns from the quintuple (s, a, r, s', a'): it chooses the next action a' with its
own ε-greedy policy *first*, and moves Q(s, a) towards

    r + γ Q(s', a').

Because the target uses the action the agent will really take, including its exploratory
ones, SARSA is *on-policy*: it learns the value of the policy it follows. Near a hole an
exploring agent sometimes slips in, so SARSA values those cells lower than Q-learning does,
and prefers routes that keep away from the edge (see ``compare_q_s.py``). When s' ends the
episode, the target is the reward alone.

Deviation from the book: gymnasium's 5-tuple ``step`` (see ``q_learning.py``), and the update
is one method, ``update``, so that a single step can be checked by hand.
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


def main(argv=None):
    args = training_parser(
        "SARSA on FrozenLakeEasy-v0 (Day3, on-policy TD).", episodes=500
    ).parse_args(argv)
    env = make_training_env(args)
    agent = SARSAAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "SARSA: Q 値",
                    show=not args.no_show, interrupted=training.interrupted)
    return agent


if __name__ == "__main__":
    main()
