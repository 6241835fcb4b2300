"""Day3: the Monte Carlo method — correct the plan from what actually happened.

The agent plays a whole episode, then moves each Q(s_t, a_t) towards the return that really
followed, G_t = r_{t+1} + γ G_{t+1}, with step 1/N(s_t, a_t): Q becomes the plain average of
the returns seen ("every-visit" Monte Carlo). Unbiased, but it waits for the end.

    python EL/monte_carlo.py [--episodes 500] [--seed 0] [--slippery] [--no-show]

Departures from the book:
- returns are accumulated backwards in O(T) (the book's forward sums take O(T²));
- after a time limit (``truncated``) the return continues with the agent's estimate of the
  state where it was cut; only a real end (``terminated``) adds nothing.
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


def train(episode_count=500, seed=0, slippery=False, show=True):
    """Learn the lake, then show the Q table and the reward history, as the book's ``train``."""
    env = make_training_env(seed, slippery)
    agent = MonteCarloAgent(epsilon=0.1)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=episode_count)
    report_training(agent, env, __file__, agent.Q, "モンテカルロ法 (Monte Carlo): Q 値",
                    show=show, interrupted=training.interrupted)
    return agent


def main(argv=None):
    args = training_parser("Monte Carlo learning on FrozenLakeEasy-v0 (Day3).",
                           episodes=500).parse_args(argv)
    return train(args.episodes, args.seed, args.slippery, show=not args.no_show)


if __name__ == "__main__":
    main()
