"""Benchmark: the vectorized Value Iteration against the book's listing.

The baseline is ``DP/planner.py``'s ``ValueIterationPlanner``: a dict of values keyed by
``State``, and for every state, action and outcome a Python loop over ``transitions_at``.
It overwrites values within a sweep, so it stops after other sweeps than the vectorized one,
which reads the previous sweep's values; both stop within γ θ / (1 − γ) of the same fixed
point (θ the threshold), and the values are compared against that bound.

Target: on a 40x40 maze with about 10% blocks, ours is at least 100x faster.

    python benchmarks/dp_planners.py
"""

import argparse
import time

import numpy as np

from DP import planner as book
from DP.environment import BLOCK, DANGER, TREASURE
from DP.vectorized_planner import Environment, ValueIterationPlanner


def make_maze(size, block_ratio=0.1, seed=0):
    """A size x size maze with ~10% blocks, a treasure in the top right and a few dangers."""
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random((size, size)) < block_ratio, BLOCK, 0)
    grid[0, -1] = TREASURE
    for row, column in rng.integers(0, size, size=(size // 8, 2)):
        grid[row, column] = DANGER
    grid[-1, 0] = 0
    return grid.tolist()


def best_time(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description="Vectorized vs the book's Value Iteration.")
    parser.add_argument("--size", type=int, default=40, help="maze side length (default 40)")
    parser.add_argument("--gamma", type=float, default=0.9, help="discount factor (default 0.9)")
    parser.add_argument("--threshold", type=float, default=0.0001, help="stop threshold")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random maze")
    args = parser.parse_args(argv)

    env = Environment(make_maze(args.size, seed=args.seed))
    blocks = sum(row.count(BLOCK) for row in env.grid)
    print(f"{args.size}x{args.size} maze, {blocks} blocks ({blocks / args.size**2:.0%}), "
          f"γ={args.gamma}, threshold={args.threshold}")

    planner = ValueIterationPlanner(env)
    ours, V_grid = best_time(lambda: planner.plan(args.gamma, args.threshold), args.repeat)
    listing = book.ValueIterationPlanner(env)
    baseline, V_book = best_time(lambda: listing.plan(args.gamma, args.threshold),
                                 max(1, args.repeat - 2))

    difference = np.abs(np.array(V_grid) - np.array(V_book)).max()
    bound = 2 * args.gamma * args.threshold / (1 - args.gamma)
    ratio = baseline / ours
    print(f"the book's listing:     {baseline * 1000:9.1f} ms ({len(listing.log)} sweeps)")
    print(f"ValueIterationPlanner:  {ours * 1000:9.1f} ms ({planner.iterations} sweeps)")
    print(f"speed-up: {ratio:.0f}x (target >= 100x)   max |ΔV| = {difference:.2e} "
          f"(bound {bound:.1e})")
    return ratio, difference


if __name__ == "__main__":
    main()
