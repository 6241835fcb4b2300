"""Day3: Q-learning against SARSA — what off-policy and on-policy change.

``CompareAgent`` learns a lake whose holes cost −0.5, with much exploration (ε = 0.33), as
Q-learning (the best next action, as if it never explored again) or as SARSA (the next action
it really takes). Q-learning values the short route along the holes; SARSA keeps away from
them. The two train at once in separate processes; their maps are drawn side by side.

    python EL/compare_q_s.py [--episodes 3000] [--epsilon 0.33] [--seed 0] [--no-show]

Departures from the book:
- a gymnasium ``Wrapper`` (``HolePenalty``) gives the hole's reward, for any FrozenLake map;
- ``CompareAgent.learn`` runs the learners of ``q_learning.py`` and ``sarsa.py`` (the book
  wrote both targets again in one loop).
"""

import argparse
import contextlib
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from common import (
    finish_run,
    new_run_dir,
    positive_int,
    probability,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import gymnasium as gym
import numpy as np

from EL.el_agent import ELAgent
from EL.frozen_lake_util import draw_q_value, lake_letters, run_greedy
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from envs.frozen_lake import make_frozen_lake

AGENTS = ("Q-learning", "SARSA")
TITLES = {"Q-learning": "Q-learning (off-policy)\n次は最善の行動をとると見積もる",
          "SARSA": "SARSA (on-policy)\n次も自分の戦略 (探索込み) で動くと見積もる"}


class HolePenalty(gym.Wrapper):
    """FrozenLake whose holes give ``hole_reward`` (−0.5) instead of 0."""

    def __init__(self, env, hole_reward=-0.5):
        super().__init__(env)
        self.hole_reward = hole_reward
        lake = env.unwrapped
        self._holes = {row * lake.ncol + col
                       for row in range(lake.nrow) for col in range(lake.ncol)
                       if lake.desc[row, col] == b"H"}

    def step(self, action):
        n_state, reward, terminated, truncated, info = self.env.step(action)
        if terminated and n_state in self._holes:
            reward = self.hole_reward
        return n_state, reward, terminated, truncated, info


class CompareAgent(ELAgent):
    """Q-learning (``q_learning=True``) or SARSA on the same lake: only the TD target differs.

    Q-learning's target r + γ max_a' Q(s', a') is in ``QLearningAgent.update``, SARSA's
    r + γ Q(s', a'), with a' the action it takes next, in ``SARSAAgent.update``.
    """

    def __init__(self, q_learning=True, epsilon=0.33):
        self.q_learning = q_learning
        super().__init__(epsilon)

    def learn(self, env, episode_count=1000, gamma=0.9, learning_rate=0.1, render=False,
              report_interval=50):
        learner = (QLearningAgent if self.q_learning else SARSAAgent)(self.epsilon)
        learner.learn(env, episode_count, gamma, learning_rate, render, report_interval)
        self.Q, self.reward_log = learner.Q, learner.reward_log


def make_env(slippery=False, hole_reward=-0.5):
    return HolePenalty(make_frozen_lake(slippery=slippery), hole_reward=hole_reward)


def train(q_learning=True, episode_count=3000, epsilon=0.33, seed=0, slippery=False,
          report_interval=500):
    """Train Q-learning (or SARSA, with ``q_learning=False``); return its Q table and reward
    log as arrays, and its report lines.

    The report is captured and handed back so that the lines of the two processes are printed
    under their agent's name instead of interleaved.
    """
    env = make_env(slippery)
    set_seed(seed, env)
    agent = CompareAgent(q_learning=q_learning, epsilon=epsilon)
    with contextlib.redirect_stdout(io.StringIO()) as report:
        agent.learn(env, episode_count=episode_count, report_interval=report_interval)
    return np.asarray(agent.Q), np.asarray(agent.reward_log, dtype=float), report.getvalue()


def plot_q_maps(tables, env, title):
    """The Q maps of ``{name: Q}`` side by side, on one colour scale; return the figure."""
    import matplotlib.pyplot as plt

    nrow, ncol = env.unwrapped.nrow, env.unwrapped.ncol
    vmax = max(np.abs(Q).max() for Q in tables.values())
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 5.8),
                             layout="constrained")
    for ax, (name, Q) in zip(axes, tables.items()):
        image = draw_q_value(ax, Q, nrow, ncol, vmax=vmax, title=TITLES[name],
                             letters=lake_letters(env))
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="Q 値 (Q value)")
    fig.suptitle(title)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train Q-learning and SARSA side by side and compare their Q maps (Day3)."
    )
    parser.add_argument("--episodes", type=positive_int, default=3000,
                        help="training episodes for each agent (default 3000)")
    parser.add_argument("--epsilon", type=probability, default=0.33,
                        help="exploration rate of both agents, from 0 to 1 (default 0.33)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the figure without opening a window")
    parser.add_argument("--slippery", action="store_true",
                        help="use the slippery FrozenLake-v1 instead of FrozenLakeEasy-v0")
    args = parser.parse_args(argv)
    run_dir = new_run_dir(__file__)

    # One process per agent: they share nothing, so they can learn at the same time. "spawn"
    # starts clean interpreters: forking a process that already runs threads (TensorFlow's,
    # for instance, when this is called from a larger program) can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(AGENTS), mp_context=context) as pool:
        futures = {name: pool.submit(train, name == "Q-learning", args.episodes, args.epsilon,
                                     args.seed, args.slippery)
                   for name in AGENTS}
        results = {name: future.result() for name, future in futures.items()}

    env = make_env(args.slippery)
    for name, (Q, rewards, report) in results.items():
        recent = rewards[-100:]
        total, states = run_greedy(env, Q)
        print(f"{name}:\n{report}", end="")
        print(f"{name}: 最後の {recent.size} エピソードの平均報酬 (mean reward) "
              f"{recent.mean():.3f}、greedy な道のり (greedy route) {states} "
              f"({'ゴール' if total > 0 else 'ゴールに着かない'})")
    fig = plot_q_maps({name: Q for name, (Q, _, _) in results.items()}, env,
                      f"ε = {args.epsilon}, 穴の報酬 −0.5 (hole reward), "
                      f"{args.episodes} エピソード (episodes)")
    save_figure(fig, run_dir / "compare_q_s.png")
    finish_run(run_dir)
    show_plot(not args.no_show)
    return results


if __name__ == "__main__":
    main()
