"""Benchmark: DQN and A2C learn Catcher from pixels on a CPU, in minutes (Day4).

The book says its convolutional DQN and A2C need a GPU, and days without one. This script
trains both from scratch with the defaults of ``python FN/dqn_agent.py`` and
``python FN/a2c_agent.py`` and prints, next to the catch rate of a random policy:

- the training time (evaluations excluded) and the environment steps after which the greedy
  policy first catches at least 90% of the fruits over 10 evaluation episodes (the target:
  within 15 minutes on a 2-core CPU);
- the catch rate of the trained agent (the weights of its best evaluation, as the scripts
  save them) over 10 fresh episodes, and over 100 for a tighter figure;
- the throughput: environment steps per second of training, and the time the evaluations
  took on top.

Catch rate = caught ÷ (caught + missed) over all the episodes. Evaluation episodes are played
by a batch of games stepped together, and never by the training games.

Other work on the machine slows training down and moves the times, not the steps: the CPU
seconds of the process are printed next to the wall seconds for that reason.

    python benchmarks/catcher.py                   # random policy, DQN and A2C (up to ~10 min)
    python benchmarks/catcher.py --algorithms dqn  # only DQN
    python benchmarks/catcher.py --steps 3000      # a quick check that everything runs
    python benchmarks/catcher.py --profile         # where a short training run spends its time
"""

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import time

from common import atomic_path, finish_run, new_run_dir, positive_int, seed_value, set_seed

import numpy as np

from FN import a2c_agent, dqn_agent
from FN.catcher_observer import evaluate_catch_rate, make_catcher_observer

TARGET_RATE = 0.9
EVALUATION_EPISODES = 10
FINAL_EPISODES = (10, 100)
RANDOM_EPISODES = 100
TIME_LIMIT_SECONDS = 15 * 60
MODULES = {"dqn": dqn_agent, "a2c": a2c_agent}


def random_catch_rate(seed):
    """Catch rate of uniformly random actions over ``RANDOM_EPISODES`` episodes."""
    env = make_catcher_observer(num_games=EVALUATION_EPISODES)
    rng = np.random.default_rng(seed)
    rate, _, _ = evaluate_catch_rate(lambda states: rng.integers(0, 3, len(states)), env,
                                     RANDOM_EPISODES, seed=seed)
    return rate


def run(algorithm, seed, max_steps, log_dir):
    """Train one algorithm with its script's defaults; return a dict of measurements."""
    module = MODULES[algorithm]
    kwargs = {"seed": seed, "log_dir": log_dir}
    if max_steps is not None:
        kwargs["max_steps"] = max_steps
    wall, cpu = time.perf_counter(), time.process_time()
    # The trainers print their progress; only the summary below is wanted here.
    with contextlib.redirect_stdout(io.StringIO()):
        trainer, agent = module.train_catcher(**kwargs)
    training = trainer.training_seconds  # since the loop started, evaluations excluded
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    evaluation = trainer.evaluation
    reached = next(((steps, seconds) for (steps, rate), seconds
                    in zip(evaluation.results, evaluation.times)
                    if rate >= TARGET_RATE), (None, None))
    final = {}
    env = make_catcher_observer(num_games=EVALUATION_EPISODES)
    for episodes in FINAL_EPISODES:
        # Seeds that neither training nor the periodic evaluations used.
        final[episodes], _, _ = evaluate_catch_rate(agent, env, episodes,
                                                    seed=seed * 100_000 + 90_000)
    return {
        "algorithm": algorithm,
        "seed": seed,
        "steps": trainer.total_steps,
        "training_seconds": training,
        "evaluation_seconds": evaluation.seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "steps_per_second": trainer.total_steps / training if training else float("nan"),
        "reached_steps": reached[0],
        "reached_seconds": reached[1],
        "best_evaluation": max((rate for _, rate in evaluation.results), default=None),
        "final_rate": final,
        "evaluations": [{"steps": steps, "rate": rate, "training_seconds": seconds}
                        for (steps, rate), seconds in zip(evaluation.results, evaluation.times)],
    }


def profile(algorithm, seed, steps, log_dir, lines=18):
    """Run a short training under cProfile and print the functions that take the most time."""
    module = MODULES[algorithm]
    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.runcall(module.train_catcher, seed=seed, max_steps=steps, log_dir=log_dir)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    print(f"--- {algorithm}: {steps} steps, by own time ---")
    print("\n".join(line for line in text.getvalue().splitlines()[4:] if line.strip()))


def describe(result):
    seconds = result["reached_seconds"]
    reached = ("not reached" if seconds is None else
               f"{seconds:6.1f} s ({result['reached_steps']:,} steps)")
    final = ", ".join(f"{rate:.3f} over {episodes}" for episodes, rate
                      in result["final_rate"].items())
    return (f"{result['algorithm'].upper():4s} 90% after {reached}; final catch rate {final}; "
            f"{result['steps']:,} steps in {result['training_seconds']:.1f} s of training "
            f"({result['steps_per_second']:,.0f} steps/s) + "
            f"{result['evaluation_seconds']:.1f} s of evaluation; "
            f"wall {result['wall_seconds']:.1f} s, CPU {result['cpu_seconds']:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="+", choices=sorted(MODULES),
                        default=["dqn", "a2c"], help="which agents to train (default both)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="environment steps per training run (default: each script's)")
    parser.add_argument("--profile", action="store_true",
                        help="profile a short run of each algorithm instead of benchmarking")
    args = parser.parse_args(argv)
    folder = new_run_dir(__file__)  # a folder of its own: no run replaces an earlier one's
    set_seed(args.seed)
    if args.profile:
        for algorithm in args.algorithms:
            steps = args.steps or (5_000 if algorithm == "dqn" else 40_000)
            profile(algorithm, args.seed, steps, str(folder / f"profile_{algorithm}"))
        return None
    random_rate = random_catch_rate(args.seed)
    print(f"RAND catch rate {random_rate:.3f} over {RANDOM_EPISODES} episodes")
    results = {"random_rate": random_rate, "target_rate": TARGET_RATE, "runs": []}
    for algorithm in args.algorithms:
        result = run(algorithm, args.seed, args.steps, str(folder / algorithm))
        results["runs"].append(result)
        print(describe(result), flush=True)
    for result in results["runs"]:
        seconds = result["reached_seconds"]
        ok = seconds is not None and seconds <= TIME_LIMIT_SECONDS
        verdict = "meets" if ok else "misses"
        final = result["final_rate"][EVALUATION_EPISODES]
        print(f"{result['algorithm'].upper()} {verdict} the target (90% within "
              f"{TIME_LIMIT_SECONDS // 60} minutes); final {final:.3f} vs random {random_rate:.3f}"
              f" ({final / max(random_rate, 1e-9):.1f}x)")
    path = folder / "catcher.json"
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"Saved {path}")
    finish_run(folder)
    return results


if __name__ == "__main__":
    main()
