"""Benchmark: the vectorized Value Iteration against a plain dict-and-loop one.

The baseline is written the way the book's listing is: a dict of values keyed by ``State``,
and for every state, every action and every outcome a Python loop over
``Environment.transit_func``. One difference, on purpose: the baseline reads the values of the
previous sweep (as ours does), so that both compute the very same sequence of sweeps and
their results can be compared to 1e-6. (The book overwrites values within a sweep; that
converges to the same fixed point, but stops at a slightly different point of the way.)

Target: on a 40x40 maze with about 10% blocks, ours is at least 100x faster.

    python benchmarks/dp_planners.py
"""

import argparse
import time

import numpy as np

from DP.environment import BLOCK, DANGER, TREASURE, Environment
from DP.vectorized_planner import ValueIterationPlanner


def make_maze(size, block_ratio=0.1, seed=0):
    """A size x size maze with ~10% blocks, a treasure in the top right and a few dangers."""
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random((size, size)) < block_ratio, BLOCK, 0)
    grid[0, -1] = TREASURE
    for row, column in rng.integers(0, size, size=(size // 8, 2)):
        grid[row, column] = DANGER
    grid[-1, 0] = 0
    return grid.tolist()


def dict_value_iteration(env, gamma, threshold):
    """The baseline: dicts and loops, one state at a time."""
    V = {state: 0.0 for state in env.states}
    sweeps = 0
    while True:
        delta = 0.0
        previous = dict(V)
        for state in V:
            if not env.can_action_at(state):
                continue
            expected_rewards = []
            for action in env.actions:
                value = 0.0
                for next_state, prob in env.transit_func(state, action).items():
                    reward, _ = env.reward_func(next_state)
                    value += prob * (reward + gamma * previous[next_state])
                expected_rewards.append(value)
            V[state] = max(expected_rewards)
            delta = max(delta, abs(V[state] - previous[state]))
        sweeps += 1
        if delta < threshold:
            return V, sweeps


def best_time(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description="Vectorized vs dict-and-loop Value Iteration.")
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
    baseline, (V_dict, sweeps) = best_time(
        lambda: dict_value_iteration(env, args.gamma, args.threshold), max(1, args.repeat - 2))

    difference = max(abs(V_grid[s.row][s.column] - value) for s, value in V_dict.items())
    ratio = baseline / ours
    print(f"dict-and-loop baseline: {baseline * 1000:9.1f} ms ({sweeps} sweeps)")
    print(f"ValueIterationPlanner:  {ours * 1000:9.1f} ms ({planner.iterations} sweeps)")
    print(f"speed-up: {ratio:.0f}x (target >= 100x)   max |ΔV| = {difference:.2e} (target < 1e-6)")
    return ratio, difference


if __name__ == "__main__":
    main()
