"""Benchmark: how much Q-learning costs on top of the environment itself (Day3).

Trains ``QLearningAgent`` for 500 episodes on FrozenLakeEasy-v0, counting the steps it took,
then steps the same environment the same number of times with random actions
(``action_space.sample()``, resetting at the end of each episode). Both runs use the same
counting wrapper, so the ratio measures the agent's own work: ε-greedy choice, TD update and
logging. The target is a ratio of at most 2.

Each measurement is repeated and the fastest of each kind is kept, because other work on the
machine can only ever make a run slower. Run from the repository root:

    python benchmarks/tabular.py
"""

import argparse
import contextlib
import io
import time

from common import exit_with_error, set_seed

import gymnasium as gym

from EL.q_learning import QLearningAgent
from envs.frozen_lake import make_frozen_lake

TARGET_RATIO = 2.0


class StepCounter(gym.Wrapper):
    """Counts the steps taken through it."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


def time_q_learning(episodes, seed):
    """Seconds for ``episodes`` episodes of Q-learning, and the number of steps taken."""
    env = StepCounter(make_frozen_lake())
    set_seed(seed, env)
    agent = QLearningAgent()
    # The periodic report line is part of the cost; only its terminal output is diverted.
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        agent.learn(env, episode_count=episodes)
        elapsed = time.perf_counter() - start
    return elapsed, env.steps


def time_random_steps(steps, seed):
    """Seconds for ``steps`` random-action steps of the same environment."""
    env = StepCounter(make_frozen_lake())
    set_seed(seed, env)
    env.reset()
    start = time.perf_counter()
    while env.steps < steps:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Q-learning's overhead over stepping FrozenLakeEasy-v0 at random."
    )
    parser.add_argument("--episodes", type=int, default=500,
                        help="Q-learning episodes (default 500)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="measurements of each kind; the fastest counts (default 7)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.repeats < 1:
        exit_with_error("--episodes and --repeats must be at least 1")

    learn_times, random_times = [], []
    for repeat in range(args.repeats):
        # Interleaved, so that a slow spell on the machine hits both kinds alike.
        elapsed, steps = time_q_learning(args.episodes, args.seed + repeat)
        learn_times.append(elapsed / steps)
        random_times.append(time_random_steps(steps, args.seed + repeat) / steps)
    learn, rand = min(learn_times), min(random_times)
    ratio = learn / rand
    print(f"Q-learning, {args.episodes} episodes: {learn * 1e6:.2f} µs per step")
    print(f"random actions, same env and steps: {rand * 1e6:.2f} µs per step")
    verdict = "OK" if ratio <= TARGET_RATIO else "over the target"
    print(f"ratio (learning / random stepping): {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    return ratio


if __name__ == "__main__":
    main()
