"""Day6: inverse RL on five mazes it has not seen — do the estimates hold beyond one grid?

``IM/maxent.py`` and ``IM/bayesian.py`` are shown on the book's 4x4 grid. This runs both, with
their default settings, on five other mazes (3x6, 5x5, 4x7, 6x4 and 5x8, with Blocks; on each
the Danger lies on the short way and the teacher walks round it) over several seeds, and
checks the facts of ``IM/irl_demo.py``'s ``judge`` on each estimate: the highest estimate is
at or next to the Treasure, and every Danger cell is below the median cell (the third, that
the policy planned on the estimate reaches the Treasure, goes to the CSV).

Run: ``python IM/irl_mazes.py`` (seeds 0-4, about 2 minutes; small: ``--seeds 1
--mazes 3x6``). It prints a table (maze × method × seed) and writes ``facts.csv`` (a row per
maze, method and seed) in a run folder. The measurements are in doc/day6_im_mm.md.
"""

import argparse
import contextlib
import csv
import io
import time

from common import (
    atomic_path,
    exit_with_error,
    finish_run,
    new_run_dir,
    pad,
    positive_int,
    set_seed,
)

from tqdm import tqdm

from envs.gridworld import GridWorldEnv
from IM import bayesian, maxent
from IM.bayesian import BayesianIRL
from IM.irl_demo import judge, teacher_demonstrations
from IM.maxent import MaxEntIRL

# Start at the lower left as always; 1 Treasure, -1 Danger, 9 Block.
MAZES = {
    # The way along the middle row runs into the Danger; the teacher goes round by the top.
    "3x6": [[0, 0, 0, 0, 0, 0],
            [0, 0, 0, -1, 0, 1],
            [0, 0, 0, 0, 9, 0]],
    # The way up the middle crosses the Danger; the teacher goes round by the right edge.
    "5x5": [[0, 0, 0, 0, 1],
            [0, 9, 0, 0, 0],
            [0, 0, -1, 0, 0],
            [0, 0, 0, 9, 0],
            [0, 0, 0, 0, 0]],
    # A wall with one gap at the bottom; the Danger lies on the bottom row behind it.
    "4x7": [[0, 0, 9, 0, 0, 0, 0],
            [0, 0, 9, 0, 0, 0, 0],
            [0, 0, 9, 0, 0, 0, 1],
            [0, 0, 0, 0, -1, 0, 0]],
    # Tall: the Danger on the straight way up, a Block at each side.
    "6x4": [[0, 0, 0, 1],
            [0, 0, 0, 0],
            [0, -1, 0, 9],
            [0, 0, 0, 0],
            [9, 0, 0, 0],
            [0, 0, 0, 0]],
    # Long: a wall open at the bottom, the Danger on the short way up to the Treasure.
    "5x8": [[0, 0, 0, 9, 0, 0, 0, 1],
            [0, 0, 0, 9, 0, 0, 0, 0],
            [0, 0, 0, 9, 0, -1, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0]],
}
METHODS = ("maxent", "bayesian")
METHOD_NAMES = {"maxent": "最大エントロピー (MaxEnt)", "bayesian": "ベイズ (Bayesian)"}
FACTS = ("peak_near_treasure", "danger_below_median", "reaches_treasure")
GAMMA = 0.9


def estimate(env, method, seed, trajectories=None):
    """One estimate, seeded as ``IM/maxent.py`` and ``IM/bayesian.py`` seed their runs.

    ``trajectories``: how many demonstrations (None: the script's own default).
    """
    script = maxent if method == "maxent" else bayesian
    trajectories = trajectories or script.TRAJECTORIES
    set_seed(seed)
    # Quiet: the table is the output, not each run's "Gather ..." line and progress bar.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        demonstrations = teacher_demonstrations(env, trajectories, seed)
        if method == "maxent":
            return MaxEntIRL(env).estimate([states for states, _ in demonstrations],
                                           epoch=maxent.EPOCH)
        pairs = [list(zip(states, actions)) for states, actions in demonstrations]
        return BayesianIRL(env).estimate(pairs, epoch=bayesian.EPOCH)


def run_one(maze, method, seed, trajectories=None):
    """The facts of one estimate, with the Danger cells' highest estimate and the median."""
    env = GridWorldEnv(MAZES[maze])
    estimated = estimate(env, method, seed, trajectories).ravel()
    facts = judge(env, estimated, GAMMA)
    return {"maze": maze, "method": method, "seed": seed,
            **{fact: bool(facts[fact]) for fact in FACTS},
            "danger": float(estimated[facts["dangers"]].max()), "median": facts["median"],
            "peak": float(estimated[facts["peak"]])}


def mark(row):
    """One cell of the table: ○ or × for the first two facts, then the Danger's distance."""
    ok = "".join("○" if row[fact] else "×" for fact in FACTS[:2])
    return f"{ok} {row['danger'] - row['median']:+.2f}"


def print_table(rows, seeds):
    print("○○ = 最高の推定が宝かその隣 / 危険が中央値より下 (peak near Treasure / Danger below "
          "median); 数字 = 危険 − 中央値 (Danger minus median)")
    header = " | ".join(pad(f"シード {seed}", 13) for seed in seeds)
    print(f"{pad('迷路 (maze)', 11)} | {pad('手法 (method)', 26)} | {header} | 合格 (passed)")
    for maze in dict.fromkeys(row["maze"] for row in rows):
        for method in METHODS:
            mine = [row for row in rows if row["maze"] == maze and row["method"] == method]
            if not mine:
                continue
            passed = sum(row[FACTS[0]] and row[FACTS[1]] for row in mine)
            cells = " | ".join(pad(mark(row), 13) for row in mine)
            print(f"{pad(maze, 11)} | {pad(METHOD_NAMES[method], 26)} | {cells} | "
                  f"{passed}/{len(mine)}")


def save_rows(rows, path):
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(f"Saved {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="MaxEnt and Bayesian inverse RL on five unseen mazes, over seeds.")
    parser.add_argument("--seeds", type=positive_int, default=5,
                        help="seeds 0, 1, ... to run on each maze (default 5)")
    parser.add_argument("--mazes", nargs="+", default=list(MAZES), metavar="MAZE",
                        help=f"which mazes (default all: {' '.join(MAZES)})")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="which estimators (default both)")
    parser.add_argument("--trajectories", type=positive_int,
                        help="demonstrations the teacher gives (default: each script's own, "
                             f"{maxent.TRAJECTORIES} for MaxEnt, {bayesian.TRAJECTORIES} for "
                             "Bayesian)")
    parser.add_argument("--no-show", action="store_true",
                        help="accepted for symmetry with the other scripts (no figure here)")
    args = parser.parse_args(argv)
    unknown = [maze for maze in args.mazes if maze not in MAZES]
    if unknown:
        exit_with_error(f"unknown maze {unknown[0]!r}; choose from {', '.join(MAZES)}")
    seeds = list(range(args.seeds))
    rows = []
    started = time.perf_counter()
    runs = [(maze, method, seed) for maze in args.mazes for method in args.methods
            for seed in seeds]
    for maze, method, seed in tqdm(runs, desc="Inverse RL"):
        rows.append(run_one(maze, method, seed, args.trajectories))
    print(f"{len(rows)} 回の推定に {time.perf_counter() - started:.0f} 秒 (estimates)")
    print_table(rows, seeds)
    run_dir = new_run_dir(__file__)
    save_rows(rows, run_dir / "facts.csv")
    finish_run(run_dir, passed=sum(row[FACTS[0]] and row[FACTS[1]] for row in rows),
               estimates=len(rows))
    return rows


if __name__ == "__main__":
    main()
