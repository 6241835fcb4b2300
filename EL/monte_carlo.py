"""Day3: the Monte Carlo method — correct the plan from what actually happened.

The agent plays a whole episode with its ε-greedy policy and only then learns. For every
step t of the episode it computes the discounted return that really followed,

    G_t = r_{t+1} + γ r_{t+2} + γ² r_{t+3} + ...,

and moves Q(s_t, a_t) towards it with step size 1/N(s_t, a_t), where N counts how often the
pair has been seen. That makes Q(s, a) the plain average of all returns observed after
(s, a): "every-visit" Monte Carlo. Nothing is estimated from other estimates (except after a
time limit, below), so the update is unbiased, but it must wait for the end of the episode.

Deviations from the book:

- the book recomputes each return with a forward sum (O(T²) per episode); here the returns
  are accumulated backwards, G_t = r_{t+1} + γ G_{t+1}, which gives the same values in O(T).
  Since 1/N makes Q an exact running mean, the order does not matter;
- gymnasium tells an episode that ended (``terminated``: a hole or the goal) from one that a
  time limit cut short (``truncated``). The book's 4-tuple ``done`` mixed the two and counted
  nothing after a cut. Here the return of a cut episode continues with the agent's estimate
  of the state where it was cut, since the lake goes on from there.
"""

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class MonteCarloAgent(ELAgent):
    def __init__(self, epsilon=0.1):
        super().__init__(epsilon)

    def learn(self, env, episode_count=1000, gamma=0.9, render=False, report_interval=50):
        self.init_log()
        actions = list(range(env.action_space.n))
        self.Q = self.make_table(env)
        N = self.make_table(env)  # how many times each (s, a) has been updated
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            reward = 0.0
            # Play until the end of the episode, remembering every step.
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

            # Evaluate each (state, action) with the return that followed it. After the real
            # end of the episode nothing follows (G = 0). A time limit only cuts the episode
            # short, the lake goes on from s: what follows is unknown, so the return starts
            # from the best value the agent knows there (the one estimate Monte Carlo uses).
            G = 0.0 if terminated else max(self.Q[s].tolist())
            for s, a, reward in reversed(experience):
                G = reward + gamma * G
                N[s][a] += 1
                alpha = 1 / N[s][a]
                self.Q[s][a] += alpha * (G - self.Q[s][a])

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)


def main(argv=None):
    args = training_parser(
        "Monte Carlo learning on FrozenLakeEasy-v0 (Day3).", episodes=500
    ).parse_args(argv)
    env = make_training_env(args)
    agent = MonteCarloAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, "モンテカルロ法 (Monte Carlo): Q 値",
                    show=not args.no_show, interrupted=training.interrupted)
    return agent


if __name__ == "__main__":
    main()
