"""Day3: the exploration–exploitation dilemma on a multi-armed bandit (coin toss).

Each coin has its own unknown chance of heads (reward 1). The agent keeps the running mean of
each coin's rewards, V[c] ← V[c] + (r − V[c]) / N[c]; ε-greedy tosses a random coin with
probability ε and otherwise the best one so far. ε = 0 can settle on a poor coin for good; a
large ε keeps wasting tosses. A little exploration wins.

    python EL/epsilon_greedy.py [--runs 200] [--seed 0] [--no-show]

Beyond the book:
- each point of the plot averages ``--runs`` games, so the curves show the trend, not luck;
- UCB1 (``UCB1Agent``), which explores by optimism (V[c] + sqrt(2 ln t / N[c])), is plotted
  beside ε-greedy.
"""

import argparse
import math
import random

from common import (
    finish_run,
    new_run_dir,
    positive_int,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np
from tqdm import tqdm

HEAD_PROBS = [0.1, 0.5, 0.1, 0.9, 0.1]
EPSILONS = [0.0, 0.1, 0.2, 0.5, 0.8]
GAME_STEPS = list(range(10, 310, 10))


class CoinToss:
    """A bandit of coins; ``step(action)`` tosses coin ``action`` and returns (reward, done)."""

    def __init__(self, head_probs, max_episode_steps=30):
        head_probs = list(head_probs)
        if not head_probs or not all(0.0 <= p <= 1.0 for p in head_probs):
            raise ValueError(f"head_probs must be probabilities in [0, 1], got {head_probs}")
        self.head_probs = head_probs
        self.max_episode_steps = max_episode_steps
        self.toss_count = 0

    def __len__(self):
        return len(self.head_probs)

    def reset(self):
        self.toss_count = 0

    def step(self, action):
        final = self.max_episode_steps - 1
        if self.toss_count > final:
            raise RuntimeError(
                f"all {self.max_episode_steps} tosses of this game are used: call reset() first"
            )
        if not 0 <= action < len(self.head_probs):
            raise IndexError(
                f"coin {action} does not exist: choose 0 to {len(self.head_probs) - 1}"
            )
        done = self.toss_count == final
        reward = 1.0 if random.random() < self.head_probs[action] else 0.0
        self.toss_count += 1
        return reward, done


class EpsilonGreedyAgent:
    def __init__(self, epsilon):
        self.epsilon = epsilon
        self.V = []

    def policy(self):
        coins = range(len(self.V))
        if random.random() < self.epsilon:
            return random.choice(coins)
        # argmax of a list: the first best coin, as np.argmax would pick, without NumPy.
        return self.V.index(max(self.V))

    def play(self, env):
        # Start each game knowing nothing.
        N = [0] * len(env)
        self.V = [0.0] * len(env)

        env.reset()
        done = False
        rewards = []
        while not done:
            selected_coin = self.policy()
            reward, done = env.step(selected_coin)
            rewards.append(reward)

            N[selected_coin] += 1
            self.V[selected_coin] += (reward - self.V[selected_coin]) / N[selected_coin]

        return rewards


class UCB1Agent:
    """Upper Confidence Bound: explore the coins whose estimate is still uncertain."""

    def __init__(self):
        self.V = []

    def play(self, env):
        N = [0] * len(env)
        self.V = [0.0] * len(env)

        env.reset()
        done = False
        rewards = []
        t = 0
        while not done:
            t += 1
            if t <= len(env):
                selected_coin = t - 1  # try every coin once first
            else:
                log_t = 2 * math.log(t)
                scores = [v + math.sqrt(log_t / n) for v, n in zip(self.V, N)]
                selected_coin = scores.index(max(scores))
            reward, done = env.step(selected_coin)
            rewards.append(reward)

            N[selected_coin] += 1
            self.V[selected_coin] += (reward - self.V[selected_coin]) / N[selected_coin]

        return rewards


def average_rewards(agent, env, game_steps, runs):
    """Mean reward per toss for each game length, averaged over ``runs`` games."""
    totals = np.zeros(len(game_steps))
    for _ in range(runs):
        for i, steps in enumerate(game_steps):
            env.max_episode_steps = steps
            totals[i] += np.mean(agent.play(env))
    return totals / runs


def plot_result(result, runs):
    """One line per agent: the mean reward per toss against the game length; return the axes.

    ``result`` is the table ``main`` builds: one column per agent, indexed by the number of
    tosses in a game. UCB1 is the dashed black line.
    """
    labels = {name: name.replace("epsilon=", "ε = ") for name in result.columns}
    styles = ["k--" if name == "UCB1" else "-" for name in result.columns]
    ax = result.rename(columns=labels).plot.line(figsize=(10, 5), style=styles)
    ax.set_xlabel("1 ゲームで投げる回数 (coin toss count)")
    ax.set_ylabel(f"1 投あたりの平均報酬\n(mean reward per toss, {runs} ゲームの平均)")
    ax.set_title(f"コイントス: 表の出る確率 {HEAD_PROBS} (coin toss)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compare ε-greedy (and UCB1) on the coin-toss bandit (Day3)."
    )
    parser.add_argument("--runs", type=positive_int, default=200,
                        help="games averaged for each point of the plot (default 200; "
                             "the book plays 1)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the plot without opening a window")
    args = parser.parse_args(argv)
    set_seed(args.seed)
    run_dir = new_run_dir(__file__)

    import pandas as pd  # pandas draws with matplotlib, set up by common.show_plot's backend

    env = CoinToss(HEAD_PROBS)
    agents = {f"epsilon={e}": EpsilonGreedyAgent(epsilon=e) for e in EPSILONS}
    agents["UCB1"] = UCB1Agent()
    result = {}
    for name, agent in tqdm(agents.items(), desc="agents", disable=None):
        result[name] = average_rewards(agent, env, GAME_STEPS, args.runs)
    result["coin toss count"] = GAME_STEPS
    result = pd.DataFrame(result)
    result = result.set_index("coin toss count", drop=True)
    print(f"1 投あたりの平均報酬 (mean reward per toss): ゲームの長さすべて、長さごとに "
          f"{args.runs} ゲームの平均")
    print(result.mean().round(3).to_string())

    ax = plot_result(result, args.runs)
    save_figure(ax.figure, run_dir / "epsilon_greedy.png")
    finish_run(run_dir, runs=args.runs)
    show_plot(not args.no_show)
    return result


if __name__ == "__main__":
    main()
