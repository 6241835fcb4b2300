"""How fast the shared worlds step: Catcher alone, Catcher batched, and CartPole as a yardstick.

Targets for ``envs/catcher.py``:

- a single Catcher (``gym.make("Catcher-v0")``, 64×64×3 RGB observations, random actions,
  reset after each episode) makes at least 20,000 steps per second;
- the batched Catcher (``CatcherVectorEnv``) with 16 games makes at least 5 times as many
  steps per second as the single one, counting one step per game.

Other work on the machine changes the absolute figures, so gymnasium's CartPole-v1 is measured
in the same run for reference, and gymnasium's generic ``SyncVectorEnv`` of 16 Catchers shows
what the batched arithmetic buys. Each figure is the best of ``--repeats`` timed runs.

    python benchmarks/environments.py
    python benchmarks/environments.py --seconds 2 --num-envs 32

(The file is not called ``envs.py``: run as a file, a script's folder comes first on
``sys.path``, and a ``benchmarks/envs.py`` would hide the ``envs`` package from every
benchmark here.)
"""

import argparse
import time

from common import exit_with_error

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers Catcher-v0)
from envs.catcher import CatcherVectorEnv

SINGLE_TARGET = 20_000
BATCH_TARGET_RATIO = 5.0
CHECK_EVERY = 200  # steps between looks at the clock


def single_steps_per_second(env, seconds, rng):
    """Steps per second of one environment under random actions, resetting after each end."""
    actions = rng.integers(0, env.action_space.n, CHECK_EVERY).tolist()
    env.reset(seed=int(rng.integers(2**31)))
    steps, start = 0, time.perf_counter()
    while True:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        steps += len(actions)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def vector_steps_per_second(env, seconds, rng):
    """Game steps per second of a vector env (it resets its games by itself)."""
    actions = rng.integers(0, env.single_action_space.n, (CHECK_EVERY, env.num_envs))
    env.reset(seed=int(rng.integers(2**31)))
    steps, start = 0, time.perf_counter()
    while True:
        for action in actions:
            env.step(action)
        steps += len(actions) * env.num_envs
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def best_of(repeats, measure, make_env, seconds, rng):
    env = make_env()
    try:
        return max(measure(env, seconds, rng) for _ in range(repeats))
    finally:
        env.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random actions")
    parser.add_argument("--num-envs", type=int, default=16,
                        help="games in the batched Catcher (default: 16)")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="length of each timed run, in seconds (default: 1.0)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per figure; the best one counts (default: 3)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.num_envs < 1:
        exit_with_error("--num-envs must be at least 1")
    if not args.seconds > 0 or args.repeats < 1:
        exit_with_error("--seconds must be positive and --repeats at least 1")

    rng = np.random.default_rng(args.seed)
    n = args.num_envs
    print(f"Measuring ({args.repeats} x {args.seconds:g} s each, best run counts)...")
    single = best_of(args.repeats, single_steps_per_second,
                     lambda: gym.make("Catcher-v0"), args.seconds, rng)
    batched = best_of(args.repeats, vector_steps_per_second,
                      lambda: CatcherVectorEnv(n), args.seconds, rng)
    generic = best_of(args.repeats, vector_steps_per_second,
                      lambda: gym.make_vec("Catcher-v0", num_envs=n, vectorization_mode="sync"),
                      args.seconds, rng)
    cartpole = best_of(args.repeats, single_steps_per_second,
                       lambda: gym.make("CartPole-v1"), args.seconds, rng)

    ratio = batched / single
    single_ok, batch_ok = single >= SINGLE_TARGET, ratio >= BATCH_TARGET_RATIO
    print(f"Catcher, single (64x64x3 RGB):        {single:>11,.0f} steps/s   "
          f"target >= {SINGLE_TARGET:,}: {'OK' if single_ok else 'MISSED'}")
    print(f"Catcher, batched ({n} games):          {batched:>11,.0f} steps/s   "
          f"{ratio:.1f}x single, target >= {BATCH_TARGET_RATIO:g}x: "
          f"{'OK' if batch_ok else 'MISSED'}")
    print(f"Catcher, SyncVectorEnv ({n} games):    {generic:>11,.0f} steps/s   "
          f"{generic / single:.1f}x single (gymnasium's generic loop, for comparison)")
    print(f"CartPole-v1, single (reference):      {cartpole:>11,.0f} steps/s   "
          f"Catcher single / CartPole = {single / cartpole:.2f}")
    if args.strict and not (single_ok and batch_ok):
        raise SystemExit(1)
    return {"single": single, "batched": batched, "sync": generic, "cartpole": cartpole}


if __name__ == "__main__":
    main()
