"""Day6: DAgger against behaviour cloning — does labelling the student's own states pay?

Both students learn from the same teacher (``IM/dagger.py``). Behaviour cloning is fitted on
the first N labels of the teacher's own walks; DAgger's student plays, and the teacher labels
the states it visited. The success rate of each (exact, from the lake's transition table) is
measured against the number of labels N, over several seeds.

Run: ``python IM/dagger.py --teacher`` first, then ``python IM/dagger_vs_cloning.py`` (small:
``--seeds 2 --train-step 5``). It prints the largest gap, and saves the figure and
``comparison.csv`` (a row per method, label count and seed) in a run folder. The results, and
how they depend on the teacher's ε, are in doc/day6_im_mm.md.
"""

import argparse
import csv
import warnings

from common import (
    atomic_path,
    exit_with_error,
    finish_run,
    new_run_dir,
    positive_int,
    save_figure,
    set_seed,
    show_plot,
)

import numpy as np
from tqdm import tqdm

from envs.frozen_lake import transition_table
from IM.dagger import (
    SLIPPERY,
    FrozenLakeObserver,
    Student,
    add_imitation_arguments,
    demonstrate,
    load_teacher,
    single_threaded_blas,
    teacher_success_rate,
)

# Label counts at which the two students are compared (DAgger's lead peaks between 150 and 250).
LABEL_COUNTS = (10, 20, 40, 60, 80, 100, 125, 150, 175, 200, 250, 300, 400)


def behaviour_cloning(env, teacher, label_counts, transition=None):
    """Success rate of a student fitted on the first N teacher-visited labels, for each N."""
    label_counts = list(label_counts)
    states, actions = [], []
    rates = []
    student = Student(env)
    with single_threaded_blas():
        for count in label_counts:
            while len(actions) < count:
                more_states, more_actions = demonstrate(env, teacher, 1)
                states += more_states
                actions += more_actions
            student.initialize(states[0])
            student.fit(states[:count], actions[:count])
            rates.append(student.success_rate(env, transition))
    return rates


def compare_with_behaviour_cloning(env, teacher, seed, label_counts=LABEL_COUNTS,
                                   initial_step=1, train_step=40):
    """One seed of the comparison: ``{"dagger": rates, "bc": rates}`` at ``label_counts``.

    DAgger's rate at N labels is that of its student after the last refit with at most N
    labels (``nan`` before its first fit, or when its rounds never reached N labels).
    Behaviour cloning's is that of a student fitted on the teacher's first N labels.
    """
    transition = transition_table(env.env)
    fits = []

    def record(count, student):
        fits.append((count, student.success_rate(env, transition)))

    set_seed(seed)
    env.reset(seed=seed)
    Student(env).imitate(env, teacher, initial_step, train_step, report_interval=0,
                         callback=record)
    counts = np.array([count for count, _ in fits])
    dagger = [fits[np.flatnonzero(counts <= n)[-1]][1] if counts[0] <= n <= counts[-1]
              else np.nan for n in label_counts]
    cloning = behaviour_cloning(env, teacher, label_counts, transition)
    return {"dagger": np.array(dagger), "bc": np.array(cloning)}


def compare(env, teacher, seeds, label_counts=LABEL_COUNTS, initial_step=1, train_step=40):
    """Every seed of the comparison: ``{"dagger": (seeds, N), "bc": (seeds, N)}``."""
    runs = [compare_with_behaviour_cloning(env, teacher, seed, label_counts, initial_step,
                                           train_step)
            for seed in tqdm(seeds, desc="DAgger vs behaviour cloning")]
    return {method: np.array([run[method] for run in runs]) for method in ("dagger", "bc")}


def gaps(results):
    """Mean DAgger success minus mean cloning success at each label count (nan where unknown)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a label count no seed reached
        return np.nanmean(results["dagger"], axis=0) - np.nanmean(results["bc"], axis=0)


def save_comparison(results, label_counts, seeds, path):
    """``comparison.csv``: one row per method, label count and seed (method dagger or bc)."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["method", "labels", "seed", "success"])
            for method in ("dagger", "bc"):
                for row, seed in zip(results[method], seeds):
                    for labels, success in zip(label_counts, row):
                        if not np.isnan(success):
                            writer.writerow([method, labels, seed, f"{success:.6f}"])
    print(f"Saved {path}")
    return path


def plot_comparison(results, label_counts, teacher_rate, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    labels = np.asarray(label_counts)
    styles = {"dagger": ("DAgger (生徒が自分で訪れた状態に教師がラベル付け)", "o", "-"),
              "bc": ("行動クローニング (教師のデモの状態だけ, behaviour cloning)", "x", "--")}
    for method, (label, marker, linestyle) in styles.items():
        rates = results[method]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(rates, axis=0), np.nanstd(rates, axis=0)
        line, = ax.plot(labels, mean, marker=marker, linestyle=linestyle, label=label)
        ax.fill_between(labels, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                        color=line.get_color(), alpha=0.2)
    ax.axhline(teacher_rate, color="grey", linestyle=":", label="教師 (the teacher)")
    ax.set_xscale("log")
    ax.set_xlabel("生徒に与えた教師のラベルの数 (teacher labels, 対数目盛)")
    ax.set_ylabel("生徒がゴールする確率 (success rate)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{title} ({results['dagger'].shape[0]} シードの平均 ± 標準偏差)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    save_figure(fig, path)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compare DAgger with behaviour cloning on the slippery FrozenLake, over "
                    "seeds, against the number of teacher labels."
    )
    add_imitation_arguments(parser)
    parser.add_argument("--seeds", type=positive_int, default=30,
                        help="seeds of the comparison, from --seed on (default 30; a gap "
                             "measured on fewer is noisy)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    if args.seed + args.seeds - 1 > 2**32 - 1:
        exit_with_error("--seed plus --seeds must stay below 2**32")

    env = FrozenLakeObserver(slippery=SLIPPERY)
    teacher, path = load_teacher(env, args.teacher_model)
    teacher.epsilon = args.demo_epsilon
    teacher_rate = teacher_success_rate(teacher, env)
    print(f"Teacher {path}: success rate {teacher_rate:.2f}")
    seeds = list(range(args.seed, args.seed + args.seeds))
    results = compare(env, teacher, seeds, LABEL_COUNTS, args.initial_step, args.train_step)
    env.close()

    gap = gaps(results)
    known = np.flatnonzero(~np.isnan(gap))
    best = known[np.argmax(gap[known])]
    last = known[-1]
    print(f"Largest gap: DAgger {np.nanmean(results['dagger'][:, best]):.2f} vs behaviour "
          f"cloning {np.nanmean(results['bc'][:, best]):.2f} with {LABEL_COUNTS[best]} labels "
          f"(gap {gap[best]:+.2f})")
    print(f"With {LABEL_COUNTS[last]} labels: DAgger "
          f"{np.nanmean(results['dagger'][:, last]):.2f}, behaviour cloning "
          f"{np.nanmean(results['bc'][:, last]):.2f} (gap {gap[last]:+.2f})")
    run_dir = new_run_dir(__file__)
    save_comparison(results, LABEL_COUNTS, seeds, run_dir / "comparison.csv")
    plot_comparison(results, LABEL_COUNTS, teacher_rate, run_dir / "dagger_vs_cloning.png",
                    "滑る FrozenLake での DAgger と行動クローニング")
    finish_run(run_dir, teacher=str(path), largest_gap=float(gap[best]),
               labels_at_largest_gap=LABEL_COUNTS[best], gap_at_most_labels=float(gap[last]))
    show_plot(not args.no_show)
    return {"labels": np.array(LABEL_COUNTS), "seeds": seeds, **results, "gap": gap}


if __name__ == "__main__":
    main()
