"""Benchmark: does the evolution strategy learn Catcher, and does it use two cores (Day6)?

Targets for ``EV/evolution.py``:

1. Learning: training with the script's defaults (100 epochs, 20 agents, 5 episodes per
   agent) improves Catcher's mean reward over the random initial policy. The initial and the
   trained network are both measured on the same ``--eval-episodes`` games (sampling their
   actions, as they play); a network with all weights 0 (every action equally likely) is
   measured too, for reference. The training time is printed.
2. Speed: with 2 workers an epoch is at least 1.7 times as fast as with 1. Both play the
   same epochs (the same members and games) with the initial network, whose short games
   make the shortest epochs (the hardest case for parallel work), taking turns, after a
   warm-up epoch that starts the worker processes. The fastest epoch of each is kept,
   because other work on the machine can only make an epoch slower. This is measured first,
   and the load average is printed before and after it: two workers cannot be twice as
   fast while other programs hold one of the two cores.

Run from the repository root:

    python benchmarks/evolution.py
    python benchmarks/evolution.py --epochs 20 --speed-epochs 3    # a quicker look
    python benchmarks/evolution.py --skip-learning                 # the speed alone
"""

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, Python puts benchmarks/ first on sys.path, where benchmarks/envs.py
    # would hide the envs package. Look in the repository root instead (worker processes
    # inherit this path).
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from common import exit_with_error  # noqa: E402

import numpy as np  # noqa: E402
from joblib import Parallel  # noqa: E402

from EV.evolution import EPISODES_PER_AGENT, EvolutionalTrainer  # noqa: E402

SPEEDUP_TARGET = 1.7


def mean_reward(weights, episodes, seed):
    """Mean reward of the network ``weights`` over ``episodes`` games (from ``seed``).

    ``run_agent`` with σ = 0 plays the weights themselves, in batches of at most 50 games.
    """
    total = 0.0
    for start in range(0, episodes, 50):
        count = min(50, episodes - start)
        reward, _ = EvolutionalTrainer.run_agent(count, weights, 0.0, 0, seed + start)
        total += reward * count
    return total / episodes


def learning(args):
    """Train with the given settings; compare the initial and the trained network."""
    trainer = EvolutionalTrainer(population_size=args.population, n_jobs=args.workers,
                                 seed=args.seed, report_interval=max(1, args.epochs // 5))
    initial = trainer.train(epoch=0).weights  # the same start as the training below
    start = time.perf_counter()
    trained = trainer.train(epoch=args.epochs, episode_per_agent=args.episodes_per_agent)
    elapsed = time.perf_counter() - start
    zeros = [np.zeros_like(w) for w in initial]
    evaluation_seed = 10**6 + args.seed  # games that training never played
    uniform = mean_reward(zeros, args.eval_episodes, evaluation_seed)
    before = mean_reward(initial, args.eval_episodes, evaluation_seed)
    after = mean_reward(trained.weights, args.eval_episodes, evaluation_seed)
    print()
    print(f"Learning ({args.epochs} epochs x {args.population} agents x "
          f"{args.episodes_per_agent} episodes, n_jobs={args.workers}): {elapsed:.1f} s "
          f"({elapsed / max(args.epochs, 1):.2f} s per epoch)")
    print(f"  mean reward over {args.eval_episodes} games: every action equally likely "
          f"{uniform:+.2f}, initial network {before:+.2f}, trained network {after:+.2f}")
    verdict = "PASS" if after > before else "FAIL"
    print(f"  improvement over the initial policy: {after - before:+.2f} "
          f"(target > 0): {verdict}")
    return after - before


def speed(args, weights):
    """Seconds per epoch with 1 and with 2 workers, and their ratio."""
    trainer = EvolutionalTrainer(population_size=args.population, seed=args.seed)
    trainer.weights = weights
    times = {1: [], 2: []}
    with Parallel(n_jobs=1) as one, Parallel(n_jobs=2) as two:
        parallels = {1: one, 2: two}
        for parallel in parallels.values():  # warm-up: starts the workers
            trainer.play_population(parallel, args.seed, 0, args.episodes_per_agent)
        for epoch in range(1, args.speed_epochs + 1):
            for jobs, parallel in parallels.items():
                start = time.perf_counter()
                trainer.play_population(parallel, args.seed, epoch, args.episodes_per_agent)
                times[jobs].append(time.perf_counter() - start)
    best = {jobs: min(values) for jobs, values in times.items()}
    ratio = best[1] / best[2]
    print()
    print(f"Speed (one epoch of {args.population} agents x {args.episodes_per_agent} "
          f"episodes, best of {args.speed_epochs}):")
    print(f"  1 worker {best[1]:.2f} s, 2 workers {best[2]:.2f} s per epoch")
    verdict = "PASS" if ratio >= SPEEDUP_TARGET else "FAIL"
    print(f"  2 workers are {ratio:.2f}x as fast as 1 (target >= {SPEEDUP_TARGET}): {verdict}")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Evolution strategy on Catcher: learning and parallel speed."
    )
    parser.add_argument("--epochs", type=int, default=100,
                        help="training epochs (default: 100, the script's default)")
    parser.add_argument("--population", type=int, default=20,
                        help="agents per epoch (default: 20)")
    parser.add_argument("--episodes-per-agent", type=int, default=EPISODES_PER_AGENT,
                        help=f"episodes per agent and epoch (default: {EPISODES_PER_AGENT})")
    parser.add_argument("--workers", type=int, default=-1,
                        help="workers for the training run (default -1: all cores)")
    parser.add_argument("--eval-episodes", type=int, default=200,
                        help="games on which the networks are compared (default: 200)")
    parser.add_argument("--speed-epochs", type=int, default=5,
                        help="timed epochs for each worker count (default: 5)")
    parser.add_argument("--skip-learning", action="store_true",
                        help="measure only the speed, not the learning")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    for name in ("epochs", "episodes_per_agent", "eval_episodes", "speed_epochs"):
        if getattr(args, name) < 1:
            exit_with_error(f"--{name.replace('_', '-')} must be at least 1")
    if args.population < 2:
        exit_with_error("--population must be at least 2")
    if args.workers == 0 or args.workers < -1:
        exit_with_error("--workers must be a positive number, or -1 for all")

    print(f"Load average before: {os.getloadavg()[0]:.2f} (this machine has "
          f"{os.cpu_count()} cores; other work makes the speed figure too low)")
    # The speed first: it is short, and the most sensitive to other work starting meanwhile.
    speed(args, EvolutionalTrainer(seed=args.seed).train(epoch=0).weights)
    print(f"Load average after the speed measurement: {os.getloadavg()[0]:.2f}")
    if not args.skip_learning:
        learning(args)


if __name__ == "__main__":
    main()
