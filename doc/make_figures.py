"""Draw the figures of the README's study guide into ``doc/``, with the project's own code.

    python doc/make_figures.py           # every figure
    python doc/make_figures.py day2      # only the figures whose file name starts with day2

Each figure is one function below, registered with ``@figure("<file name>")``: it draws with
the same functions the day's scripts and notebook use, and saves to the path it is given. A new
day adds its function and a link in the README; nothing else changes. Every figure is drawn
with a fixed seed, so running the script again redraws the same lessons.

A figure whose text needs a character that the font lacks (it would show as an empty box) stops
the script with an error, instead of being saved.

``methods_table`` writes the README's Day3 table from ``EL/compare_methods.py``'s data (the
book's three axes), so the README and the comparison can never disagree:
``tests/test_doc.py`` checks that the README holds the table as this function writes it.
"""

import argparse
import warnings
from pathlib import Path

from common import save_figure

import numpy as np

DOC = Path(__file__).resolve().parent
FIGURES = {}


def figure(file_name):
    """Register the decorated ``draw(path)`` as the function that makes ``doc/<file_name>``."""
    def register(draw):
        FIGURES[file_name] = draw
        return draw
    return register


@figure("day1_discounting.png")
def day1_discounting(path):
    """Day1: how much a reward k steps ahead counts, and the return as rewards add up."""
    from ML.discounted_return import DEFAULT_GAMMAS, DEFAULT_REWARDS, plot_discounting

    save_figure(plot_discounting(DEFAULT_REWARDS, DEFAULT_GAMMAS), path)


@figure("day2_value_iteration.png")
def day2_value_iteration(path):
    """Day2: Value Iteration on the book's maze, the values spreading out from the treasure."""
    from DP.environment import Environment
    from DP.maze_figure import plot_plans
    from DP.planner import SAMPLE_GRID, ValueIterationPlanner

    env = Environment(SAMPLE_GRID)
    planner = ValueIterationPlanner(env)
    planner.plan(gamma=0.9)
    sweeps = [1, 2, 3, planner.iterations]
    arrows = planner.actions_log()
    fig = plot_plans(env.mdp, [planner.log[i] for i in sweeps], [arrows[i] for i in sweeps],
                     [f"スイープ {i}" for i in sweeps], columns=4,
                     suptitle="価値反復法 (Value Iteration): 価値が宝から広がり、矢印が計画になる")
    save_figure(fig, path)


@figure("day3_methods.png")
def day3_methods(path, episodes=2000, seeds=5):
    """Day3: the book's seven methods on one lake, success of the greedy policy over time."""
    from EL.compare_methods import BOOK_METHODS, METHODS, plot, success_curve

    results = {name: np.mean([success_curve(name, episodes, seed) for seed in range(seeds)],
                             axis=0)
               for name in list(METHODS)[:BOOK_METHODS]}
    plot(results, 0.9, path, f"Day3 の手法: greedy な戦略がゴールする確率 ({seeds} シードの平均)",
         show=False)


AXIS_WORDS = {
    "prediction": "予測", "result": "実績",
    "value": "価値", "policy": "戦略", "value + policy": "価値と戦略",
    "off-policy": "Off-policy", "on-policy": "On-policy",
}


def methods_table():
    """The README's Day3 table, in Markdown: the book's methods on its three axes."""
    from EL.compare_methods import BOOK_METHODS, METHODS

    lines = ["| 手法 | 修正方法 (予測 / 実績) | 修正対象 (価値 / 戦略) | 見積り前提 | スクリプト |",
             "| --- | --- | --- | --- | --- |"]
    for name, (_, correction, updates, assumption, file) in list(METHODS.items())[:BOOK_METHODS]:
        cells = (name, AXIS_WORDS[correction], AXIS_WORDS[updates], AXIS_WORDS[assumption],
                 f"[`EL/{file}`](EL/{file})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Draw the README's study-guide figures into doc/ and print the Day3 table."
    )
    parser.add_argument("prefixes", nargs="*",
                        help="draw only the figures whose file name starts with one of these "
                             f"(default: all of {', '.join(FIGURES)})")
    parser.add_argument("--out", type=Path, default=DOC,
                        help="folder to write the figures into (default: doc/)")
    args = parser.parse_args(argv)
    chosen = [name for name in FIGURES
              if not args.prefixes or any(name.startswith(p) for p in args.prefixes)]
    if not chosen:
        parser.error(f"no figure starts with {' or '.join(args.prefixes)}; the figures are "
                     f"{', '.join(FIGURES)}")

    import matplotlib

    matplotlib.use("Agg")  # files only: this script never opens a window
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font(s)" and then draws an empty box.
        warnings.filterwarnings("error", message="Glyph .* missing from font")
        for name in chosen:
            FIGURES[name](args.out / name)
            plt.close("all")
    print("\nThe README's Day3 table:\n" + methods_table())


if __name__ == "__main__":
    main()
