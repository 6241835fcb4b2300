"""Day6: Dyna against plain Q-learning — how much real experience does planning save?

``python MM/dyna_compare.py`` learns with ``--modelstep`` planning steps (default 50) and,
with the same seed, without any, and draws both reward curves and the greedy policy's exact
success rate (figure and CSV in a run folder). ``--compare`` runs 0, 5 and 50 planning steps
over several seeds on the deterministic and the slippery lake and plots the success rate
against real episodes, with bands (small: ``--compare --seeds 2 --episodes 50``). The agent is
``MM/dyna.py``'s; the figures and their commands are in doc/day6_im_mm.md.
"""

import argparse
from collections import defaultdict

from common import (
    atomic_path,
    exit_with_error,
    finish_run,
    new_run_dir,
    positive_int,
    save_figure,
    seed_value,
    show_plot,
)

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from MM.dyna import (
    SUCCESS_THRESHOLD,
    add_learning_arguments,
    describe_reach,
    episodes_to_reach,
    run_one,
)

COMPARE_PLANNING_STEPS = (0, 5, 50)
# Axis labels of the figures.
REAL_EPISODES = "本物の環境でのエピソード数 (real episodes, 対数目盛)"
SUCCESS_RATE = "greedy な戦略の成功率 (success rate)"


def compare(seeds, episode_count, eval_interval=10, slippery_values=(False, True), n_jobs=-1):
    """Success curves for each lake and planning step count: ``{(slippery, steps): (seeds, T)}``."""
    jobs = [(slippery, steps, seed) for slippery in slippery_values
            for steps in COMPARE_PLANNING_STEPS for seed in seeds]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_one)(steps, seed, episode_count, slippery, eval_interval)
        for slippery, steps, seed in jobs
    )
    curves = [success for _, success, _ in tqdm(runs, total=len(jobs), desc="Dyna runs")]
    results = defaultdict(list)
    for (slippery, steps, _), curve in zip(jobs, curves):
        results[(slippery, steps)].append(curve)
    return {key: np.array(value) for key, value in results.items()}


def lake_name(slippery):
    return "滑る FrozenLake (slippery)" if slippery else "滑らない FrozenLakeEasy"


def planning_label(steps):
    """The legend of a planning step count: plain Q-learning for 0."""
    if steps == 0:
        return "Q-learning (プランニングなし, no planning)"
    return f"Dyna (プランニング {steps} ステップ, {steps} planning steps)"


def run_label(label):
    """The legend of a run of ``run_single``, whose label names its planning steps."""
    if label.startswith("Q-learning"):
        return planning_label(0)
    return planning_label(int(label.split("(")[1].split()[0]))


def plot_comparison(results, eval_interval, path):
    import matplotlib.pyplot as plt

    lakes = sorted({slippery for slippery, _ in results})
    fig, axes = plt.subplots(1, len(lakes), figsize=(6 * len(lakes), 4.2), squeeze=False)
    for ax, slippery in zip(axes[0], lakes):
        for steps in COMPARE_PLANNING_STEPS:
            curves = results[(slippery, steps)]
            episodes = (np.arange(curves.shape[1]) + 1) * eval_interval
            mean, std = curves.mean(axis=0), curves.std(axis=0)
            line, = ax.plot(episodes, mean, label=planning_label(steps))
            ax.fill_between(episodes, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                            color=line.get_color(), alpha=0.2)
        ax.set_title(f"{lake_name(slippery)} ({curves.shape[0]} シードの平均 ± 標準偏差)")
        # A log scale shows the first episodes, where planning makes its difference.
        ax.set_xscale("log")
        ax.set_xlabel(REAL_EPISODES)
        ax.set_ylabel(SUCCESS_RATE)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle("学習したモデルの中で練習すると、本物の経験が少なくて済む "
                 "(planning saves real experience)")
    save_figure(fig, path)
    return fig


def plot_run(runs, path, title, window=10):
    """One run against plain Q-learning: episode rewards (moving mean) and greedy success.

    ``runs`` maps a label to ``(rewards, success)`` with success measured after each episode.
    """
    import matplotlib.pyplot as plt

    fig, (reward_ax, success_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, (rewards, success) in runs.items():
        episodes = np.arange(1, len(rewards) + 1)
        # The reward of one episode is 0 or 1; the mean of the last ``window`` reads better.
        totals = np.concatenate([[0.0], np.cumsum(rewards)])
        first = np.maximum(episodes - window, 0)
        moving = (totals[episodes] - totals[first]) / (episodes - first)
        line, = reward_ax.plot(episodes, moving, label=run_label(label))
        success_ax.plot(episodes, success, color=line.get_color(), label=run_label(label))
        reached = episodes_to_reach(success, 1)[0]
        if not np.isnan(reached):
            success_ax.axvline(reached, color=line.get_color(), linestyle=":", linewidth=1)
    reward_ax.set_title(f"エピソードの報酬 (直近 {window} エピソードの移動平均)")
    reward_ax.set_ylabel(f"報酬の移動平均 (mean reward of the last {window})")
    success_ax.set_title("greedy な戦略の成功率 (遷移表から正確に計算)")
    success_ax.set_ylabel(SUCCESS_RATE)
    success_ax.axhline(SUCCESS_THRESHOLD, color="grey", linestyle="--", linewidth=1,
                       label=f"目標 {SUCCESS_THRESHOLD}")
    for ax in (reward_ax, success_ax):
        ax.set_xscale("log")
        ax.set_xlabel(REAL_EPISODES)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle(title)
    save_figure(fig, path)
    return fig


def save_run_csv(runs, path):
    """The curves of ``plot_run`` as CSV: episode, then reward and success for each run."""
    labels = list(runs)
    length = max(len(rewards) for rewards, _ in runs.values())
    header = ["episode"] + [f"{label}_{kind}" for label in labels
                            for kind in ("reward", "success")]
    lines = [",".join(header)]
    for e in range(length):
        row = [str(e + 1)]
        for label in labels:
            rewards, success = runs[label]
            row += [f"{rewards[e]:g}", f"{success[e]:.6f}"] if e < len(rewards) else ["", ""]
        lines.append(",".join(row))
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Saved {path}")
    return path


def run_comparison(args, episodes):
    seeds = list(range(args.seed, args.seed + args.seeds))
    try:
        results = compare(seeds, episodes, args.eval_interval, n_jobs=args.jobs)
    except KeyboardInterrupt:
        print("Interrupted: no comparison to plot.")
        return None
    run_dir = new_run_dir(__file__, kind="compare")
    for (slippery, steps), curves in sorted(results.items()):
        reached = episodes_to_reach(curves, args.eval_interval)
        lake = "slippery" if slippery else "easy"
        when = f"never reaches {SUCCESS_THRESHOLD}"
        if not np.isnan(reached).all():
            when = (f"reaches {SUCCESS_THRESHOLD} after {np.nanmean(reached):.0f} episodes "
                    f"on average ({np.isnan(reached).sum()} of {len(reached)} seeds never do)")
        print(f"{lake:>8} lake, {steps:2d} planning steps: mean success "
              f"{curves[:, -1].mean():.2f} at the end; {when}")
    plot_comparison(results, args.eval_interval, run_dir / "compare.png")
    finish_run(run_dir)
    show_plot(not args.no_show)
    return results


def run_single(args, episodes):
    """Learn with ``--modelstep`` planning steps, then plain Q-learning with the same seed."""
    lake = "slippery FrozenLake" if args.slippery else "FrozenLakeEasy"
    labels = {args.modelstep: f"Dyna ({args.modelstep} planning steps)"}
    if args.modelstep > 0:
        labels[0] = "Q-learning (no planning)"
    run_dir = new_run_dir(__file__)
    runs, reached = {}, {}
    interrupted = False
    for steps, label in labels.items():
        print(f"{label} on {lake}, seed {args.seed}:")
        rewards, success, interrupted = run_one(steps, args.seed, episodes, args.slippery,
                                                eval_interval=1, report_interval=100)
        runs[label] = (rewards, success)
        reached[label] = episodes_to_reach(success, 1)[0] if len(success) else np.nan
        if interrupted:
            print("Interrupted: keeping the curves learned so far.")
            break

    print()
    for label, (_, success) in runs.items():
        final = f"{success[-1]:.2f}" if len(success) else "-"
        print(f"{label}: {describe_reach(reached[label])}、最後の成功率 (success rate at the "
              f"end) {final}")
    if any(len(success) for _, success in runs.values()):
        save_run_csv(runs, run_dir / "rewards.csv")
        plot_run(runs, run_dir / "rewards.png",
                 f"{lake_name(args.slippery)} の Dyna (シード {args.seed}): 同じシードで、"
                 "プランニングありとなし")
    finish_run(run_dir, interrupted=interrupted, modelstep=args.modelstep,
               episodes_to_success={label: None if np.isnan(value) else int(value)
                                    for label, value in reached.items()})
    show_plot(not args.no_show)
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Dyna-Q on FrozenLakeEasy: Q-learning plus planning in a learned model."
    )
    add_learning_arguments(parser)
    parser.add_argument("--compare", action="store_true",
                        help="compare 0, 5 and 50 planning steps over several seeds on both "
                             "lakes and plot the success rate against episodes (1000 "
                             "episodes unless --episodes says otherwise)")
    parser.add_argument("--seeds", type=positive_int, default=5,
                        help="number of seeds for --compare (default 5)")
    parser.add_argument("--eval-interval", type=positive_int, default=10,
                        help="with --compare, measure the greedy policy every N episodes "
                             "(default 10)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="parallel processes for --compare (default -1: all cores)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed (with --compare, the first of the seeds; default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    parser.set_defaults(episodes=None)
    args = parser.parse_args(argv)

    episodes = args.episodes if args.episodes is not None else (1000 if args.compare else 3000)
    if args.compare and args.eval_interval > episodes:
        exit_with_error(f"--eval-interval must be at most the episode count ({episodes}), "
                        f"got {args.eval_interval}")
    if args.jobs == 0 or args.jobs < -1:
        exit_with_error(f"--jobs must be -1 (all cores) or 1 or more, got {args.jobs}")
    if args.compare and args.seed + args.seeds - 1 > 2**32 - 1:
        exit_with_error("--seed plus --seeds must stay below 2**32")

    if args.compare:
        return run_comparison(args, episodes)
    return run_single(args, episodes)


if __name__ == "__main__":
    main()
