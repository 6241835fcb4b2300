"""Benchmark: does the evolution strategy learn Catcher, and does it use two cores (Day6)?

1. Learning: trained with the script's defaults, the agent catches 90% of the fruit over 100
   evaluation games, and at least 92% at the end, within 10 minutes of a 2-core CPU, or 1,020
   CPU seconds (two workers at the target speed-up). Printed beside a random policy's catch
   rate: the epoch, time and CPU seconds when the weights first caught 90% (checked
   afterwards, every ``--check-interval`` epochs) and the final catch rate (of the weights
   that the script keeps: the best of its checks).
2. Speed: 2 workers play an epoch at least 1.7 times as fast as 1, with joblib and on a Dask
   ``LocalCluster`` (the fastest timed epoch of the initial network, whose games are shortest).

How each figure is measured, and the latest ones: doc/day6.md. From the repository root:

    python benchmarks/evolution.py                  # everything (about 15 minutes)
    python benchmarks/evolution.py --skip-speed --seed 1   # the learning alone, seed 1
    python benchmarks/evolution.py --skip-learning  # the speed alone
    python benchmarks/evolution.py --epochs 20 --speed-epochs 3 --skip-dask   # a quick look
"""

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, Python puts benchmarks/ first on sys.path, where benchmarks/envs.py
    # would hide the envs package. Look in the repository root instead (worker processes
    # inherit this path).
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from common import play_first_episodes, positive_int, seed_value  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from joblib import Parallel  # noqa: E402

from envs.catcher import catch_rate  # noqa: E402
from EV import evolution  # noqa: E402
from EV.dask_parallel import DaskParallel, local_cluster  # noqa: E402
from EV.evolution import CatcherObserver, EvolutionalTrainer, evaluate  # noqa: E402

TARGET_RATE, FINAL_TARGET = 0.9, 0.92  # reached within the time; at the end of training
TARGET_SECONDS = 10 * 60
SPEEDUP_TARGET = 1.7
TARGET_CPU_SECONDS = TARGET_SECONDS * SPEEDUP_TARGET


def load():
    """The 1-minute load average and the cores: how much else the machine is doing."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def cpu_seconds():
    """CPU seconds used so far by this process and its worker processes."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def random_catch_rate(games, seed):
    """Catch rate of uniformly random actions, one every frame, over ``games`` games."""
    env = CatcherObserver(50, 50, 1, num_games=games, frame_skip=1)
    rng = np.random.default_rng(seed)
    _, caught, missed = play_first_episodes(env, lambda states: rng.integers(0, 3, len(states)),
                                            seed, ("caught", "missed"))
    return catch_rate({"caught": caught.sum(), "missed": missed.sum()})


class TimedTrainer(EvolutionalTrainer):
    """The script's trainer, keeping the weights, the time and the CPU seconds of every epoch."""

    def train(self, *args, **kwargs):
        self.checkpoints = []
        self.start, self.start_cpu = time.perf_counter(), cpu_seconds()
        return super().train(*args, **kwargs)

    def log(self):
        self.checkpoints.append((time.perf_counter() - self.start,
                                 cpu_seconds() - self.start_cpu, self.weights))
        super().log()


def learning(args):
    """Train with the script's settings (mirrored pairs, short training games, the best θ
    kept); return the final catch rate."""
    random_rate = random_catch_rate(args.eval_episodes, evolution.EVALUATION_SEED)
    print(f"Random policy: catch rate {random_rate:.3f} over {args.eval_episodes} games")
    print(f"Training ({args.epochs} epochs x {args.population} agents x "
          f"{args.episodes_per_agent} episodes, all cores); {load()} ...")
    trainer = TimedTrainer(population_size=args.population, sigma=args.sigma,
                           learning_rate=args.learning_rate, report_interval=args.epochs,
                           seed=args.seed, keep_best=evolution.CHECK_INTERVAL,
                           max_step=evolution.TRAINING_MAX_STEPS)
    agent = trainer.train(epoch=args.epochs, episode_per_agent=args.episodes_per_agent)
    seconds, cpu, _ = trainer.checkpoints[-1]
    print(f"  trained in {seconds:.0f} s ({cpu:.0f} CPU seconds in all processes); {load()}")
    reached = None
    for epoch in range(args.check_interval, args.epochs + 1, args.check_interval):
        elapsed, elapsed_cpu, weights = trainer.checkpoints[epoch - 1]
        rate = evaluate(weights, args.eval_episodes)
        print(f"  epoch {epoch:4d} after {elapsed:5.0f} s ({elapsed_cpu:5.0f} CPU s): "
              f"catch rate {rate:.3f}")
        if rate >= TARGET_RATE:
            reached = (epoch, elapsed, elapsed_cpu)
            break
    final = evaluate(agent.weights, args.eval_episodes)
    when = ("not reached" if reached is None else
            f"{reached[1]:.0f} s, {reached[2]:.0f} CPU s (epoch {reached[0]})")
    # On a busy machine the wall time says little: then the CPU seconds count. Two workers
    # at the target speed-up do TARGET_CPU_SECONDS of work in TARGET_SECONDS.
    in_time = seconds <= TARGET_SECONDS or cpu <= TARGET_CPU_SECONDS
    verdict = "PASS" if reached and final >= FINAL_TARGET and in_time else "FAIL"
    print(f"Learning, seed {args.seed}: random policy {random_rate:.3f}; "
          f"{TARGET_RATE:.0%} first after {when}; "
          f"final catch rate {final:.3f} over {args.eval_episodes} games after {seconds:.0f} s "
          f"({cpu:.0f} CPU s) of training (targets: {TARGET_RATE} reached and >= {FINAL_TARGET} "
          f"at the end, within {TARGET_SECONDS} s or {TARGET_CPU_SECONDS:.0f} CPU s): "
          f"{verdict}")
    return final


def fastest_epochs(trainer, parallels, epochs, first=1):
    """The fastest of the epochs ``first`` … ``first + epochs - 1`` for each ``joblib.Parallel``
    (or ``DaskParallel``) in ``parallels`` (a dict).

    They take turns, epoch by epoch, so that a burst of other work slows both alike; a
    warm-up epoch first starts the workers.
    """
    for parallel in parallels.values():
        trainer.play_population(parallel, 0, trainer.episodes)
    times = {name: [] for name in parallels}
    for epoch in range(first, first + epochs):
        for name, parallel in parallels.items():
            start = time.perf_counter()
            trainer.play_population(parallel, epoch, trainer.episodes)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def report_speed(name, seconds):
    ratio = seconds[1] / seconds[2]
    verdict = "PASS" if ratio >= SPEEDUP_TARGET else "FAIL"
    print(f"  {name}: 1 worker {seconds[1]:.2f} s, 2 workers {seconds[2]:.2f} s per epoch; "
          f"2 workers are {ratio:.2f}x as fast as 1 (target >= {SPEEDUP_TARGET}): "
          f"{verdict}; {load()}")
    return ratio


def speed(args):
    """Seconds per epoch with 1 and with 2 workers, on joblib's processes and on Dask."""
    trainer = EvolutionalTrainer(population_size=args.population, n_jobs=1, seed=args.seed)
    trainer.weights = trainer.train(epoch=0).weights  # the initial network
    trainer.episodes = args.episodes_per_agent
    print(f"Speed (one epoch of {args.population} agents x {args.episodes_per_agent} "
          f"episodes, best of {args.speed_epochs}); {load()}:")
    with Parallel(n_jobs=1) as one, Parallel(n_jobs=2) as two:
        ratios = {"joblib": report_speed(
            "joblib", fastest_epochs(trainer, {1: one, 2: two}, args.speed_epochs))}
    if args.skip_dask:
        return ratios
    from dask.distributed import Client

    # One cluster at a time: the processes of an idle cluster (its scheduler, worker and
    # nanny keep heartbeats and monitors going) would take CPU from the one being timed.
    # Two clusters of each size, in turns, each playing half of the epochs: how fast a
    # cluster runs also depends on where its processes happen to land (doc/day6.md).
    half = max(1, args.speed_epochs // 2)
    seconds = {}
    for first, workers in ((1, 1), (1, 2), (1 + half, 1), (1 + half, 2)):
        with local_cluster(workers, dashboard_address=":0") as cluster, \
                Client(cluster, set_as_default=False) as client:
            fastest = fastest_epochs(trainer, {workers: DaskParallel(client)}, half,
                                     first)[workers]
        seconds[workers] = min(fastest, seconds.get(workers, fastest))
    ratios["dask"] = report_speed("Dask LocalCluster", seconds)
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Evolution strategy on Catcher: learning and parallel speed."
    )
    parser.add_argument("--epochs", type=positive_int, default=evolution.EPOCHS,
                        help=f"training epochs (default: {evolution.EPOCHS}, the script's)")
    parser.add_argument("--population", type=positive_int,
                        default=evolution.POPULATION,
                        help=f"agents per epoch (default: {evolution.POPULATION})")
    parser.add_argument("--episodes-per-agent", type=positive_int,
                        default=evolution.EPISODES_PER_AGENT,
                        help="episodes per agent and epoch "
                             f"(default: {evolution.EPISODES_PER_AGENT})")
    parser.add_argument("--eval-episodes", type=positive_int,
                        default=evolution.EVALUATION_GAMES,
                        help=f"games of each catch rate (default: {evolution.EVALUATION_GAMES})")
    parser.add_argument("--check-interval", type=positive_int, default=10,
                        help="epochs between the checks for 90%% (default: 10)")
    parser.add_argument("--speed-epochs", type=positive_int, default=10,
                        help="timed epochs for each worker count (default: 10)")
    parser.add_argument("--skip-learning", action="store_true",
                        help="measure only the speed, not the learning")
    parser.add_argument("--skip-speed", action="store_true",
                        help="measure only the learning, not the speed")
    parser.add_argument("--skip-dask", action="store_true",
                        help="measure the speed with joblib only, not on Dask")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    args.sigma, args.learning_rate = evolution.SIGMA, evolution.LEARNING_RATE
    args.check_interval = min(args.check_interval, args.epochs)

    # The speed first: it is short, and the most sensitive to other work starting meanwhile.
    if not args.skip_speed:
        speed(args)
    if not args.skip_learning:
        learning(args)


if __name__ == "__main__":
    main()
