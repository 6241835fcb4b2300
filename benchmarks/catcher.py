"""Benchmark: DQN and A2C learn Catcher from pixels on a CPU, in minutes (Day4), against
Stable-Baselines3 on the same frames.

The book says its convolutional DQN and A2C need a GPU, and days without one. This script
trains both from scratch with the defaults of ``python FN/dqn_agent.py`` and
``python FN/a2c_agent.py``, up to their first evaluation at 90% (the scripts train on), and
prints, next to the catch rate of a random policy:

- the training time (evaluations excluded) and the environment steps after which the greedy
  policy first catches at least 90% of the fruits over 10 evaluation episodes (the target:
  within 15 minutes on a 2-core CPU);
- the catch rate of the trained agent (the weights of its best evaluation) over 10 fresh
  episodes, and over 100 for a tighter figure;
- the throughput: environment steps per second of training, and the time the evaluations
  took on top.

Catch rate = caught ÷ (caught + missed) over all the episodes. Evaluation episodes are played
by a batch of games stepped together, and never by the training games.

Other work on the machine slows training down and moves the times, not the steps: the CPU
seconds of the process are printed next to the wall seconds for that reason.

When Stable-Baselines3 is installed (``pip install -e .[bench]``), its DQN and A2C
(``CnnPolicy``, one torch thread) train on the same game, and see the same frames:
``CatcherObservation`` (below) gives them our 40×40×2 stacks. They get our
settings where they have one (DQN: replay, batch, ε schedule, teacher refresh, learning rate;
A2C: 32 games × 8 steps, Adam at 7e-4, entropy and value weights, gradient clip), are
evaluated on the same 10 episodes at the same steps, and stop at their first 90% (or after
as many steps as ours may take, which the line then says). Their time to 90% is measured as
ours is, from the start of the training loop with the evaluations left out; the target
(issue 19) is ours at most a quarter of theirs, for each algorithm.

    python benchmarks/catcher.py                   # random policy, DQN and A2C (up to ~10 min)
    python benchmarks/catcher.py --algorithms dqn  # only DQN
    python benchmarks/catcher.py --steps 3000      # a quick check that everything runs
    python benchmarks/catcher.py --no-baseline     # ours only
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

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.catcher import evaluate_catch_rate, register_catcher
from FN import a2c_agent, dqn_agent
from FN.a2c_agent import CATCHER_FRAMES, CATCHER_SIZE, CatcherObserver, make_catcher

TARGET_RATE = 0.9
EVALUATION_EPISODES = 10
FINAL_EPISODES = (10, 100)
RANDOM_EPISODES = 100
TIME_LIMIT_SECONDS = 15 * 60
MODULES = {"dqn": dqn_agent, "a2c": a2c_agent}


class CatcherObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """``CatcherObserver``'s preprocessing as a gymnasium wrapper, for other libraries.

    ``CatcherObservation(gym.make("Catcher-v0"))`` is an ordinary gymnasium environment whose
    observations are the observer's uint8 stacks, (height, width, frame_count) in 0-255:
    the frames our agents' states are made of (a state is the stack divided by 255). The
    observer inside does the work (grayscale, area resizing, stacking, a full stack of the
    first frame after a reset); ``reset`` and ``step`` keep gymnasium's signatures, so
    ``terminated`` and ``truncated`` stay apart.

    uint8 with channels last is what Stable-Baselines3's ``CnnPolicy`` expects of an image:
    it moves the channels first and divides by 255 itself, so its network gets the same
    numbers as ours (to the last bit of a float32: ours multiplies by 1/255). Its
    ``NatureCNN`` needs at least 36 × 36 pixels: 40 × 40 fits.
    """

    def __init__(self, env, width=CATCHER_SIZE, height=CATCHER_SIZE, frame_count=CATCHER_FRAMES):
        # Recording the arguments lets gymnasium re-create the wrapped environment (check_env).
        gym.utils.RecordConstructorArgs.__init__(self, width=width, height=height,
                                                 frame_count=frame_count)
        gym.ObservationWrapper.__init__(self, env)
        self.observer = CatcherObserver(env, width, height, frame_count)
        self.observation_space = spaces.Box(0, 255, self.observer.frames.shape[1:], np.uint8)

    def reset(self, *, seed=None, options=None):
        self.observer.fresh[:] = True  # the first frame fills the stack
        return super().reset(seed=seed, options=options)

    def observation(self, observation):
        self.observer.transform(observation)
        return self.observer.frames[0].copy()


def train_catcher(module, seed, max_steps, log_dir, evaluation=None):
    """The script's default run (``module.make_run``) without its files, timed: ``(trainer,
    agent, clock)``; ``clock`` has the training seconds (the evaluations' own time left out)
    at each evaluation (``times``) and in all (``training``), and the evaluations' seconds."""
    trainer, env = module.make_run(seed=seed, log_dir=log_dir, evaluation=evaluation)
    clock = {"times": [], "evaluation": 0.0, "start": time.perf_counter()}
    evaluate_if_due = trainer.evaluate_if_due

    def timed(agent):  # the trainer's own evaluation, inside a stopwatch
        began, done = time.perf_counter(), len(trainer.evaluation.results)
        evaluate_if_due(agent)
        if len(trainer.evaluation.results) > done:
            clock["times"].append(began - clock["start"] - clock["evaluation"])
            clock["evaluation"] += time.perf_counter() - began

    trainer.evaluate_if_due = timed
    agent = trainer.train(env, max_steps=max_steps or module.CATCHER_MAX_STEPS)
    clock["training"] = time.perf_counter() - clock["start"] - clock["evaluation"]
    env.close()
    return trainer, agent, clock


def random_catch_rate(seed):
    """Catch rate of uniformly random actions over ``RANDOM_EPISODES`` episodes."""
    env = make_catcher(num_games=EVALUATION_EPISODES)
    rng = np.random.default_rng(seed)
    rate, _, _ = evaluate_catch_rate(lambda states: rng.integers(0, 3, len(states)), env,
                                     RANDOM_EPISODES, seed=seed)
    return rate


def run(algorithm, seed, max_steps, log_dir):
    """Train one algorithm with its script's defaults; return a dict of measurements."""
    module = MODULES[algorithm]
    # Stop at the first 90%, as Stable-Baselines3 does below: the rest would not change the
    # time to 90%. (``python FN/*_agent.py`` trains on and keeps its best weights.)
    wall, cpu = time.perf_counter(), time.process_time()
    # The trainers print their progress; only the summary below is wanted here.
    with contextlib.redirect_stdout(io.StringIO()):
        trainer, agent, clock = train_catcher(module, seed, max_steps, log_dir,
                                              evaluation={"target": TARGET_RATE})
    training = clock["training"]  # since the run started, evaluations excluded
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    evaluation = trainer.evaluation
    reached = next(((steps, seconds) for (steps, rate), seconds
                    in zip(evaluation.results, clock["times"])
                    if rate >= TARGET_RATE), (None, None))
    final = {}
    env = make_catcher(num_games=EVALUATION_EPISODES)
    for episodes in FINAL_EPISODES:
        # Seeds that neither training nor the periodic evaluations used.
        final[episodes], _, _ = evaluate_catch_rate(agent.greedy_actions, env, episodes,
                                                    seed=seed * 100_000 + 90_000)
    return {
        "algorithm": algorithm,
        "seed": seed,
        "steps": trainer.total_steps,
        "training_seconds": training,
        "evaluation_seconds": clock["evaluation"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "steps_per_second": trainer.total_steps / training if training else float("nan"),
        "reached_steps": reached[0],
        "reached_seconds": reached[1],
        "best_evaluation": max((rate for _, rate in evaluation.results), default=None),
        "final_rate": final,
        "evaluations": [{"steps": steps, "rate": rate, "training_seconds": seconds}
                        for (steps, rate), seconds in zip(evaluation.results, clock["times"])],
    }


def sb3_available():
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def make_sb3(algorithm, seed, max_steps):
    """Stable-Baselines3's DQN or A2C with ``CnnPolicy``, on ``CatcherObservation`` games and
    with our settings (``CATCHER_SETTINGS`` of each script) where it has them, for a run of
    ``max_steps`` steps."""
    import torch
    from stable_baselines3 import A2C, DQN
    from stable_baselines3.common.env_util import make_vec_env

    register_catcher()
    module = MODULES[algorithm]
    settings = module.CATCHER_SETTINGS
    if algorithm == "dqn":
        return DQN("CnnPolicy", CatcherObservation(gym.make("Catcher-v0")),
                   learning_rate=settings["learning_rate"], buffer_size=settings["buffer_size"],
                   learning_starts=settings["learning_starts"],
                   batch_size=settings["batch_size"], gamma=settings["gamma"],
                   train_freq=settings["train_interval"],
                   gradient_steps=settings["gradient_steps"],
                   target_update_interval=settings["teacher_update_steps"],
                   exploration_initial_eps=settings["initial_epsilon"],
                   exploration_final_eps=settings["final_epsilon"],
                   # SB3 decays ε over a fraction of the whole run; ours over a number of steps.
                   exploration_fraction=min(1.0, settings["epsilon_decay_steps"] / max_steps),
                   seed=seed, verbose=0)
    games = module.CATCHER_GAMES
    envs = make_vec_env(lambda: CatcherObservation(gym.make("Catcher-v0")), n_envs=games,
                        seed=seed)
    return A2C("CnnPolicy", envs, learning_rate=settings["learning_rate"],
               n_steps=settings["batch_size"] // games, gamma=settings["gamma"],
               ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, use_rms_prop=False,
               normalize_advantage=settings["normalize_advantages"],
               policy_kwargs={"optimizer_class": torch.optim.Adam}, seed=seed, verbose=0)


def run_sb3(algorithm, seed, max_steps):
    """Train Stable-Baselines3 until its greedy policy catches 90% (or ``max_steps``)."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    # One thread, as in benchmarks/cartpole.py: two OpenMP workers on two cores spin against
    # each other and against any other load.
    torch.set_num_threads(1)
    set_seed(seed)
    module = MODULES[algorithm]
    evaluation = module.CATCHER_EVALUATION
    interval, episodes = evaluation["interval"], evaluation["episode_count"]
    max_steps = max_steps or module.CATCHER_MAX_STEPS
    model = make_sb3(algorithm, seed, max_steps)
    env = make_catcher(num_games=episodes)

    def greedy(states):
        # SB3 takes the uint8 stacks (the states are the same stacks divided by 255).
        return model.predict(env.frames, deterministic=True)[0]

    class Evaluate(BaseCallback):
        """Our evaluation schedule and episodes (``prepare_run``'s seeds); stop at 90%."""

        def __init__(self):
            super().__init__()
            self.next_at, self.results, self.times = interval, [], []
            self.evaluation_seconds, self.started = 0.0, time.perf_counter()

        def _on_step(self):
            if self.num_timesteps < self.next_at:
                return True
            self.next_at += interval
            began = time.perf_counter()
            self.times.append(began - self.started - self.evaluation_seconds)
            first_seed = seed * 100_000 + 10_000 + len(self.results) * episodes
            rate, _, _ = evaluate_catch_rate(greedy, env, episodes, seed=first_seed)
            self.evaluation_seconds += time.perf_counter() - began
            self.results.append((self.num_timesteps, rate))
            return rate < TARGET_RATE

    callback = Evaluate()
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=max_steps, callback=callback)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    reached = next(((steps, seconds) for (steps, rate), seconds
                    in zip(callback.results, callback.times) if rate >= TARGET_RATE),
                   (None, None))
    return {"algorithm": algorithm, "seed": seed, "steps": model.num_timesteps,
            "training_seconds": wall - callback.evaluation_seconds,
            "evaluation_seconds": callback.evaluation_seconds, "wall_seconds": wall,
            "cpu_seconds": cpu, "reached_steps": reached[0], "reached_seconds": reached[1],
            "best_evaluation": max((rate for _, rate in callback.results), default=None)}


def describe_sb3(result):
    seconds = result["reached_seconds"]
    reached = (f"not reached in {result['steps']:,} steps" if seconds is None else
               f"{seconds:6.1f} s ({result['reached_steps']:,} steps)")
    return (f"SB3 {result['algorithm'].upper():4s} 90% after {reached}; best evaluation "
            f"{result['best_evaluation']}; {result['steps']:,} steps in "
            f"{result['training_seconds']:.1f} s of training + "
            f"{result['evaluation_seconds']:.1f} s of evaluation; "
            f"wall {result['wall_seconds']:.1f} s, CPU {result['cpu_seconds']:.1f} s")


def compare(ours, sb3):
    """Ours against SB3: the ratio of the times to 90% (target ≤ 0.25)."""
    name = ours["algorithm"].upper()
    if ours["reached_seconds"] is None:
        return f"{name} vs SB3: ours did not reach 90%, no ratio"
    if sb3["reached_seconds"] is None:
        bound = ours["reached_seconds"] / sb3["training_seconds"]
        return (f"{name} vs SB3: SB3 did not reach 90% in {sb3['steps']:,} steps "
                f"({sb3['training_seconds']:.1f} s of training); ratio ours / SB3 < {bound:.2f} "
                f"(target ≤ 0.25: {'met' if bound <= 0.25 else 'not shown'})")
    ratio = ours["reached_seconds"] / sb3["reached_seconds"]
    return (f"{name} vs SB3: ours {ours['reached_seconds']:.1f} s ({ours['reached_steps']:,} "
            f"steps), SB3 {sb3['reached_seconds']:.1f} s ({sb3['reached_steps']:,} steps): "
            f"ratio {ratio:.2f} (target ≤ 0.25: {'met' if ratio <= 0.25 else 'NOT met'})")


def profile(algorithm, seed, steps, log_dir, lines=18):
    """Run a short training under cProfile and print the functions that take the most time."""
    module = MODULES[algorithm]
    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.runcall(train_catcher, module, seed, steps, log_dir)
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
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip Stable-Baselines3 even when it is installed")
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
    baseline = not args.no_baseline and sb3_available()
    if not args.no_baseline and not baseline:
        print("Stable-Baselines3: not installed (pip install -e .[bench]); comparison skipped")
    results = {"random_rate": random_rate, "target_rate": TARGET_RATE, "runs": [], "sb3": []}
    for algorithm in args.algorithms:
        result = run(algorithm, args.seed, args.steps, str(folder / algorithm))
        results["runs"].append(result)
        print(describe(result), flush=True)
        if baseline:
            results["sb3"].append(run_sb3(algorithm, args.seed, args.steps))
            print(describe_sb3(results["sb3"][-1]), flush=True)
    for result in results["runs"]:
        seconds = result["reached_seconds"]
        ok = seconds is not None and seconds <= TIME_LIMIT_SECONDS
        verdict = "meets" if ok else "misses"
        final = result["final_rate"][EVALUATION_EPISODES]
        print(f"{result['algorithm'].upper()} {verdict} the target (90% within "
              f"{TIME_LIMIT_SECONDS // 60} minutes); final {final:.3f} vs random {random_rate:.3f}"
              f" ({final / max(random_rate, 1e-9):.1f}x)")
    for ours, sb3 in zip(results["runs"], results["sb3"]):
        print(compare(ours, sb3))
    path = folder / "catcher.json"
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"Saved {path}")
    finish_run(folder)
    return results


if __name__ == "__main__":
    main()
