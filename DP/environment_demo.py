"""Day2: a random agent walks the book's 3x4 maze, to show the MDP's moving parts.

Each episode starts in the lower-left cell and ends on the treasure (+1) or the danger (−1);
every other step costs −0.04. Because moves slip sideways with probability 0.2, and because
the agent picks actions at random, totals vary a lot from episode to episode.
"""

import argparse
import random

from common import positive_int, seed_value, set_seed

from DP.environment import SAMPLE_GRID, Environment


class Agent:
    """An agent with no plan at all: it picks any action at random."""

    def __init__(self, env):
        self.actions = env.actions

    def policy(self, state):
        return random.choice(self.actions)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A random agent plays the book's maze.")
    parser.add_argument("--episodes", type=positive_int, default=10,
                        help="episodes to play (default 10)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    set_seed(args.seed)

    env = Environment(SAMPLE_GRID)
    agent = Agent(env)
    totals = []
    for i in range(args.episodes):
        state = env.reset()
        total_reward = 0.0
        done = False
        while not done:
            action = agent.policy(state)
            state, reward, done = env.step(action)
            total_reward += reward
        totals.append(total_reward)
        print(f"Episode {i}: Agent gets {total_reward:.2f} reward.")
    return totals


if __name__ == "__main__":
    main()
