"""Day3: a map of the methods — every Day3 learner on the same lake, with the same seeds.

The book sorts its methods along three axes: correction by a prediction (TD) or by the result
(Monte Carlo); what is updated (value, policy, or both); and whether the estimate assumes the
best next moves (off-policy) or the policy's own (on-policy). This script trains each learner
from several seeds and, after every episode, computes the exact probability that its greedy
policy reaches the goal (``envs.frozen_lake.success_probability``). The figure shows it
against episodes, one line per method; the table prints the three axes with the episodes each
method needs to reach 0.9 (``--threshold``) on average.

    python EL/compare_methods.py [--episodes 2000] [--seeds 5] [--no-show]

No learner is changed for the measurement: a gymnasium wrapper reads the learner's table at
the start of every episode. What the figure shows is discussed in doc/day3.md.
"""

import argparse
import contextlib
import csv
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from common import (
    SEED_MAX,
    atomic_path,
    finish_run,
    new_run_dir,
    pad,
    positive_int,
    probability,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from EL.actor_critic import Actor, ActorCritic, Critic
from EL.actor_critic_off_policy import OffPolicyActorCritic
from EL.monte_carlo import MonteCarloAgent
from EL.monte_carlo_off_policy import OffPolicyMonteCarloAgent
from EL.monte_carlo_on_policy import OnPolicyMonteCarloAgent
from EL.n_step_sarsa import NStepSARSAAgent
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from EL.sarsa_lambda import SARSALambdaAgent
from envs.frozen_lake import make_frozen_lake, success_probability, transition_table


def agent_learner(agent_class):
    """``(learn, table)`` of an ELAgent: its ``learn`` and a look at its Q table."""
    def build():
        agent = agent_class()
        return agent.learn, lambda: agent.Q
    return build


def actor_critic_learner(trainer_class):
    """``(learn, table)`` of an Actor-Critic: its ``train`` and the Actor's preferences."""
    def build():
        trainer = trainer_class(Actor, Critic)
        return trainer.train, lambda: trainer.actor.Q
    return build


# name: (learner, correction, what is updated, assumption, file). The book's seven, then two.
METHODS = {
    "Q-learning": (agent_learner(QLearningAgent),
                   "prediction", "value", "off-policy", "q_learning.py"),
    "Monte Carlo": (agent_learner(MonteCarloAgent),
                    "result", "value", "off-policy", "monte_carlo.py"),
    "SARSA": (agent_learner(SARSAAgent),
              "prediction", "policy", "on-policy", "sarsa.py"),
    "Actor-Critic": (actor_critic_learner(ActorCritic),
                     "prediction", "value + policy", "on-policy", "actor_critic.py"),
    "Off-policy Actor-Critic": (actor_critic_learner(OffPolicyActorCritic),
                                "prediction", "value + policy", "off-policy",
                                "actor_critic_off_policy.py"),
    "On-policy Monte Carlo": (agent_learner(OnPolicyMonteCarloAgent),
                              "result", "value + policy", "on-policy",
                              "monte_carlo_on_policy.py"),
    "Off-policy Monte Carlo": (agent_learner(OffPolicyMonteCarloAgent),
                               "result", "value + policy", "off-policy",
                               "monte_carlo_off_policy.py"),
    "n-step SARSA (n = 4)": (agent_learner(NStepSARSAAgent),
                             "4 steps, then prediction", "policy", "on-policy",
                             "n_step_sarsa.py"),
    "SARSA(λ = 0.8)": (agent_learner(SARSALambdaAgent),
                       "all lengths, weighted by λ", "policy", "on-policy",
                       "sarsa_lambda.py"),
}
BOOK_METHODS = 7  # the first seven rows are the book's table


class SuccessProbe(gym.Wrapper):
    """Before every episode, record how often the learner's greedy policy would succeed.

    ``table()`` returns the learner's current table. The success probability depends only on
    which actions are greedy in each state, and that changes far less often than the values,
    so each greedy policy is worked out once.
    """

    def __init__(self, env, table):
        super().__init__(env)
        self.table = table
        self.curve = []
        self._transition = transition_table(env)
        self._known = {}

    def measure(self):
        table = np.asarray(self.table(), dtype=float)
        greedy = table >= table.max(axis=1, keepdims=True)
        key = greedy.tobytes()
        if key not in self._known:
            self._known[key] = success_probability(self.env, greedy.astype(float),
                                                   transition=self._transition)
        self.curve.append(self._known[key])

    def reset(self, **kwargs):
        self.measure()
        return self.env.reset(**kwargs)


def success_curve(name, episodes, seed, slippery=False):
    """Train one method from one seed; success of its greedy policy after 0 … episodes."""
    env = make_frozen_lake(slippery=slippery)
    set_seed(seed, env)  # before wrapping: this reset is not an episode of the learner
    learn, table = METHODS[name][0]()
    probe = SuccessProbe(env, table)
    with contextlib.redirect_stdout(io.StringIO()):  # the learners' periodic lines
        learn(probe, episode_count=episodes)
    probe.measure()  # after the last episode
    return np.array(probe.curve)


def episodes_to(curve, threshold):
    """The first number of episodes after which ``curve`` reaches ``threshold``, or None."""
    reached = np.flatnonzero(curve >= threshold)
    return int(reached[0]) if reached.size else None


# The axes of METHODS in the book's words, for the printed table and the README's.
AXIS_WORDS = {
    "prediction": "予測", "result": "実績",
    "value": "価値", "policy": "戦略", "value + policy": "価値と戦略",
    "off-policy": "Off-policy", "on-policy": "On-policy",
    "4 steps, then prediction": "4 ステップの実績、その先は予測",
    "all lengths, weighted by λ": "あらゆる長さを λ で重み付け",
}


def table_line(cells, widths):
    return "  ".join(pad(text, width) for text, width in zip(cells, widths)).rstrip()


def print_table(results, threshold):
    print("修正方法 = 予測 (prediction) / 実績 (result); 修正対象 = 価値 (value) / 戦略 (policy); "
          "見積り前提 = Off-policy / On-policy")
    header = ("手法 (method)", "修正方法 (correction)", "修正対象 (updates)",
              "見積り前提 (assumption)", f"確率 {threshold:g} までのエピソード数")
    widths = (25, 31, 19, 23, 15)
    print(table_line(header, widths))
    for row, (name, curve) in enumerate(results.items()):
        if row == BOOK_METHODS:
            print("  (本の表にない手法: 修正方法が予測と実績の間 [between prediction and result])")
        _, correction, updates, assumption, _ = METHODS[name]
        reached = episodes_to(curve, threshold)
        cells = (name, AXIS_WORDS[correction], AXIS_WORDS[updates], AXIS_WORDS[assumption],
                 "届かず (not reached)" if reached is None else str(reached))
        print(table_line(cells, widths))


def plot(results, threshold, path, title, show=True):
    """The success curves of ``{name: curve}``; saved at ``path`` (None: only shown)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    colors = plt.cm.tab10(np.arange(len(results)))
    for row, ((name, curve), color) in enumerate(zip(results.items(), colors)):
        style = "-" if row < BOOK_METHODS else "--"
        # From 1 episode on: the axis is logarithmic, so that the fast methods' first hundred
        # episodes and the Actor-Critics' thousands can be read in one figure.
        ax.plot(np.arange(1, curve.size), curve[1:], style, color=color, label=name)
    ax.axhline(threshold, color="gray", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("学習したエピソード数 (episodes learned, 対数目盛り)")
    ax.set_ylabel("greedy な戦略でゴールする確率\n(success probability, シードの平均)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    if path is not None:
        save_figure(fig, path)
    show_plot(show)
    return path


def write_curves(results, path):
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["episode", *results])
        writer.writerows(zip(range(len(next(iter(results.values())))),
                             *(curve.tolist() for curve in results.values())))
    print(f"Saved {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Every Day3 learner on the same lake and seeds: success curves and the "
                    "book's three-axes table."
    )
    parser.add_argument("--episodes", type=positive_int, default=2000,
                        help="training episodes for every method (default 2000)")
    parser.add_argument("--seeds", type=positive_int, default=5,
                        help="seeds per method, averaged (default 5)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="the first seed; the others follow it (default 0)")
    parser.add_argument("--threshold", type=probability, default=0.9,
                        help="success probability the table counts episodes to (default 0.9)")
    parser.add_argument("--slippery", action="store_true",
                        help="use the slippery FrozenLake-v1 instead of FrozenLakeEasy-v0")
    parser.add_argument("--jobs", type=positive_int, default=2,
                        help="processes that train at the same time (default 2; 1 trains here)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the figure without opening a window")
    args = parser.parse_args(argv)
    seeds = range(args.seed, args.seed + args.seeds)
    if seeds[-1] > SEED_MAX:
        parser.error("--seed plus --seeds goes past the largest seed, 2**32 - 1")

    run_dir = new_run_dir(__file__, kind="slippery" if args.slippery else "easy")
    print(f"Run folder: {run_dir}")
    tasks = [(name, seed) for name in METHODS for seed in seeds]
    names, task_seeds = zip(*tasks)
    arguments = (names, [args.episodes] * len(tasks), task_seeds, [args.slippery] * len(tasks))
    with contextlib.ExitStack() as stack:
        if args.jobs == 1:
            curves = map(success_curve, *arguments)
        else:
            # The runs share nothing, so they can learn at the same time. "spawn" starts clean
            # interpreters: forking a process that already runs threads can deadlock.
            pool = stack.enter_context(ProcessPoolExecutor(
                max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")))
            curves = pool.map(success_curve, *arguments)
        curves = list(tqdm(curves, total=len(tasks), desc="training", unit="run"))
    results = {}
    for name in METHODS:
        results[name] = np.mean([curve for (task, _), curve in zip(tasks, curves)
                                 if task == name], axis=0)
        print(f"{name}: {args.episodes} エピソード後に greedy な戦略がゴールする確率 "
              f"(success) {results[name][-1]:.2f}")
    print_table(results, args.threshold)
    write_curves(results, run_dir / "success.csv")
    lake = "FrozenLake-v1 (slippery)" if args.slippery else "FrozenLakeEasy-v0"
    plot(results, args.threshold, run_dir / "compare_methods.png",
         f"Day3 の手法を {lake} で比べる (greedy success, {args.seeds} シードの平均)",
         not args.no_show)
    finish_run(run_dir, episodes=args.episodes, seeds=list(seeds), slippery=args.slippery)
    return results


if __name__ == "__main__":
    main()
