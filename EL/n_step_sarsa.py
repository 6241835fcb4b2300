"""Day3: n-step SARSA — multi-step learning, between TD(0) and Monte Carlo.

Wait n steps, then correct Q(s_t, a_t) with n real rewards and one prediction:
G = r_{t+1} + … + γ^{n−1} r_{t+n} + γ^n Q(s_{t+n}, a_{t+n}). n = 1 is SARSA exactly (same seed,
same table); an n longer than any episode is constant-step Monte Carlo. A queue holds the
steps still waiting for their return; when the episode stops they are updated with what
there is (nothing after a real end, the prediction Q(s, a) after a time limit).

    python EL/n_step_sarsa.py [--n 4] [--episodes 500] [--seed 0] [--no-show]

Not in the book's code; see Sutton & Barto, 7.2.
"""

from collections import deque

from common import positive_int

from EL.el_agent import ELAgent, render_env
from EL.frozen_lake_util import (
    keep_on_interrupt,
    make_training_env,
    report_training,
    training_parser,
)


class NStepSARSAAgent(ELAgent):
    def __init__(self, epsilon=0.1, n=4):
        super().__init__(epsilon)
        self.n = n

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
            waiting = deque()  # (s, a, r) of the steps whose n-step return is not complete
            while not done:
                if render:
                    render_env(env)
                n_state, reward, terminated, truncated, _ = env.step(a)
                n_action = self.policy(n_state, actions)  # on-policy, as in SARSA
                waiting.append((s, a, reward))
                done = terminated or truncated
                if len(waiting) == self.n and not done:
                    self.update(waiting, self.Q[n_state][n_action], gamma, learning_rate)
                    waiting.popleft()
                s = n_state
                a = n_action
            self.log(reward)

            # The last steps: nothing after a real end, the prediction after a time limit.
            tail = 0.0 if terminated else self.Q[s][a]
            while waiting:
                self.update(waiting, tail, gamma, learning_rate)
                waiting.popleft()

            if e != 0 and e % report_interval == 0:
                self.show_reward_log(episode=e)

    def update(self, steps, tail, gamma=0.9, learning_rate=0.1):
        """Move Q of the oldest of ``steps`` towards their rewards plus γ^len · ``tail``."""
        G = tail
        for _, _, reward in reversed(steps):
            G = reward + gamma * G
        s, a, _ = steps[0]
        self.Q[s][a] += learning_rate * (G - self.Q[s][a])


def main(argv=None):
    parser = training_parser("n-step SARSA on FrozenLakeEasy-v0 (Day3, multi-step learning).",
                             episodes=500)
    parser.add_argument("--n", type=positive_int, default=4,
                        help="steps of real reward before the prediction is used (default 4)")
    args = parser.parse_args(argv)
    env = make_training_env(args.seed, args.slippery)
    agent = NStepSARSAAgent(epsilon=0.1, n=args.n)
    with keep_on_interrupt() as training:
        agent.learn(env, episode_count=args.episodes)
    report_training(agent, env, __file__, agent.Q, f"{args.n}-step SARSA: Q 値",
                    show=not args.no_show, interrupted=training.interrupted)
    return agent


if __name__ == "__main__":
    main()
