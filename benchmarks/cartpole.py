"""Our DQN and A2C against Stable-Baselines3 on CartPole-v1: the same work, in the same run.

The work: train until the greedy policy averages at least 475 over 20 evaluation episodes,
evaluated every ``interval`` environment steps (the ``--test`` settings of
``FN/dqn_agent.py`` and ``FN/a2c_agent.py``: 1,000 steps for DQN, ``TEST_MODE_EVALUATION``
for A2C). Both libraries get the same evaluation schedule and the same evaluation code, and
both stop at the first evaluation that reaches 475. Stable-Baselines3 trains with the RL Zoo's
tuned CartPole-v1 hyperparameters and one torch thread.

Both sides are timed over the same scope. Each one first pays a one-time **setup**: ours
builds its networks and lets TensorFlow trace and compile its update (``tf.function``, with
XLA for the MLPs); Stable-Baselines3 builds its model and environments. The **training
clock** starts once the model is ready and stops when the evaluation reaches 475: it counts
acting, learning *and* the evaluations, since a learner that evaluates too often pays for it.
The setup and the **whole** run (setup, training, and what comes around them) are printed
beside it. TensorFlow's tracing happens on the first call of the update, in the middle of
training, so our setup there is measured as that call's time minus the median of the next
five calls (``FirstCallTimer``).

The targets (issue 19): on the median of seeds 0, 1 and 2, each of our algorithms reaches
475 in at most half of Stable-Baselines3's training clock. Other work on the machine moves
the wall seconds; the CPU seconds of the process are printed beside them, and the two sides
alternate seed by seed so that both meet the same load.

    python benchmarks/cartpole.py                 # both algorithms, seeds 0 1 2
    python benchmarks/cartpole.py --algorithms a2c --seeds 0
    python benchmarks/cartpole.py --no-baseline   # ours only

Stable-Baselines3 comes with ``pip install -e .[bench]`` (use the CPU build of torch); without
it, its part is skipped.
"""

import argparse
import contextlib
import io
import json
import os
import time

from common import atomic_path, finish_run, new_run_dir, seed_value, set_seed

import numpy as np

from FN import a2c_agent, dqn_agent
from FN.fn_framework import evaluate, make_cartpole

TARGET_RETURN = 475.0
EVALUATION_EPISODES = 20
MODULES = {"dqn": dqn_agent, "a2c": a2c_agent}
# The most environment steps either side may take; a run that does not reach 475 says so.
STEP_LIMIT = {"dqn": 50_000, "a2c": 100_000}
TRAINERS = {"dqn": dqn_agent.DeepQNetworkTrainer, "a2c": a2c_agent.ActorCriticTrainer}


def now():
    """(wall seconds, CPU seconds of the process)."""
    return np.array([time.perf_counter(), time.process_time()])


class FirstCallTimer:
    """Wraps a ``tf.function``: its first call traces and compiles, the next ones only run.

    ``overhead()`` is the first call's time minus the median of the next five: the one-time
    cost of tracing, as (wall, CPU) seconds.
    """

    def __init__(self, function):
        self.function = function
        self.durations = []

    def __call__(self, *args, **kwargs):
        started = now()
        result = self.function(*args, **kwargs)
        if len(self.durations) < 6:
            self.durations.append(now() - started)
        return result

    def overhead(self):
        if len(self.durations) < 2:
            return self.durations[0] if self.durations else np.zeros(2)
        return np.maximum(self.durations[0] - np.median(self.durations[1:], axis=0), 0.0)


@contextlib.contextmanager
def clocked(trainer_class, clock):
    """Record, for one run of ``trainer_class``'s loop, when it started, how long its setup
    took (``begin_train``: networks and optimizer; then the traced updates) and when its
    evaluation first reached the target. The class is restored afterwards."""
    originals = {name: getattr(trainer_class, name)
                 for name in ("session", "begin_train", "evaluate_if_due")}

    @contextlib.contextmanager
    def session(self, *args, **kwargs):
        clock["loop_start"] = now()
        with originals["session"](self, *args, **kwargs) as bar:
            yield bar

    def begin_train(self, episode, agent):
        started = now()
        originals["begin_train"](self, episode, agent)
        clock["build"] = now() - started
        for name in ("_updater", "_train"):  # A2C's and DQN's compiled updates
            if hasattr(agent, name):
                clock["timers"].append(FirstCallTimer(getattr(agent, name)))
                setattr(agent, name, clock["timers"][-1])

    def evaluate_if_due(self, agent):
        originals["evaluate_if_due"](self, agent)
        if self.evaluation.solved_at is not None and "solved" not in clock:
            clock["solved"] = now()

    clock.update(timers=[], build=np.zeros(2))
    for name, method in (("session", session), ("begin_train", begin_train),
                         ("evaluate_if_due", evaluate_if_due)):
        setattr(trainer_class, name, method)
    try:
        yield clock
    finally:
        for name, method in originals.items():
            setattr(trainer_class, name, method)


def run_ours(algorithm, seed, log_dir):
    """Train until solved (or the step limit); return a result dict (times as [wall, CPU])."""
    clock = {}
    started = now()
    with clocked(TRAINERS[algorithm], clock), contextlib.redirect_stdout(io.StringIO()):
        trainer, env = MODULES[algorithm].make_run(test_mode=True, seed=seed, log_dir=log_dir)
        trainer.train(env, test_mode=True, max_steps=STEP_LIMIT[algorithm])
    whole = now() - started
    setup = clock["build"] + sum((timer.overhead() for timer in clock["timers"]), np.zeros(2))
    solved = trainer.evaluation.solved_at
    training = clock["solved"] - clock["loop_start"] - setup if solved else None
    return {"library": "ours", "seed": seed, "solved_at": solved,
            "steps": trainer.total_steps, "setup": setup.tolist(),
            "training": None if training is None else training.tolist(),
            "whole": whole.tolist(),
            "best": max((score for _, score in trainer.evaluation.results), default=None)}


class GreedySB3:
    """Lets ``evaluate`` drive a Stable-Baselines3 model (deterministic actions)."""

    def __init__(self, model):
        self.model = model

    def greedy_actions(self, states):
        actions, _ = self.model.predict(states, deterministic=True)
        return np.asarray(actions)


def make_sb3(algorithm, seed):
    """Stable-Baselines3 with the RL Zoo's CartPole-v1 hyperparameters."""
    from stable_baselines3 import A2C, DQN
    from stable_baselines3.common.env_util import make_vec_env

    if algorithm == "dqn":
        return DQN("MlpPolicy", "CartPole-v1", learning_rate=2.3e-3, batch_size=64,
                   buffer_size=100_000, learning_starts=1000, gamma=0.99,
                   target_update_interval=10, train_freq=256, gradient_steps=128,
                   exploration_fraction=0.16, exploration_final_eps=0.04,
                   policy_kwargs={"net_arch": [256, 256]}, seed=seed, verbose=0)
    return A2C("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8, seed=seed), ent_coef=0.0,
               seed=seed, verbose=0)


def run_sb3(algorithm, seed):
    """Stable-Baselines3 on the same work and the same evaluations; the same result dict."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    # One thread: with two, torch's OpenMP workers spin against each other (and against any
    # other load) on a 2-core machine, which made it over ten times slower in our runs.
    torch.set_num_threads(1)
    set_seed(seed)
    interval = MODULES[algorithm].TEST_MODE_EVALUATION["interval"]
    started = now()
    model = make_sb3(algorithm, seed)
    evaluation_env = make_cartpole(num_envs=EVALUATION_EPISODES)
    setup = now() - started

    class Evaluate(BaseCallback):
        """Every ``interval`` steps, the greedy policy's mean return; stop at the target."""

        next_at, solved, best = interval, None, None

        def _on_step(self):
            if self.num_timesteps >= self.next_at:
                self.next_at += interval
                returns = evaluate(GreedySB3(self.model), evaluation_env,
                                   EVALUATION_EPISODES, seed=seed * 100_000 + self.num_timesteps)
                self.best = max(self.best or 0.0, float(returns.mean()))
                if returns.mean() >= TARGET_RETURN:
                    self.solved = (self.num_timesteps, now())
                    return False
            return True

    callback = Evaluate()
    loop_start = now()
    model.learn(total_timesteps=STEP_LIMIT[algorithm], callback=callback)
    whole = now() - started
    solved_at, solved = callback.solved or (None, None)
    return {"library": "sb3", "seed": seed, "solved_at": solved_at,
            "steps": model.num_timesteps, "setup": setup.tolist(),
            "training": None if solved is None else (solved - loop_start).tolist(),
            "whole": whole.tolist(), "best": callback.best}


def sb3_available():
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def describe(algorithm, result):
    """One line per run: steps and the three times, wall (CPU)."""
    def seconds(pair):
        return f"{pair[0]:.2f} s ({pair[1]:.2f} CPU)"

    name = f"{'ours' if result['library'] == 'ours' else 'SB3 '} {algorithm} seed {result['seed']}"
    if result["solved_at"] is None:
        reached = f"475 not reached in {result['steps']:,} steps (best {result['best']})"
    else:
        reached = (f"475 at {result['solved_at']:>7,} steps, training "
                   f"{seconds(result['training'])}")
    return (f"{name}: {reached}; setup {seconds(result['setup'])}, "
            f"whole {seconds(result['whole'])}")


def summarize(algorithm, ours, sb3):
    """The medians over seeds, and the ratio ours / SB3 of the training clocks (target ≤ 0.5).
    A seed that did not reach 475 counts as infinitely slow."""
    def median(results, key, column):
        values = [np.inf if r[key] is None else (r[key] if column is None else r[key][column])
                  for r in results]
        return float(np.median(values))

    lines = [f"{algorithm.upper()} (median of {len(ours)} seeds)"]
    sides = [("ours", ours)] + ([("SB3", sb3)] if sb3 else [])
    for name, results in sides:
        solved = sum(r["solved_at"] is not None for r in results)
        lines.append(
            f"  {name:4s}: reached 475 on {solved}/{len(results)}, at "
            f"{median(results, 'solved_at', None):,.0f} steps; training "
            f"{median(results, 'training', 0):.2f} s ({median(results, 'training', 1):.2f} CPU)"
            f"; setup {median(results, 'setup', 0):.2f} s; whole "
            f"{median(results, 'whole', 0):.2f} s")
    if sb3:
        for column, unit in ((0, "wall"), (1, "CPU")):
            ratio = median(ours, "training", column) / median(sb3, "training", column)
            verdict = "met" if ratio <= 0.5 else "NOT met"
            lines.append(f"  ratio ours / SB3, training clock ({unit}): {ratio:.2f} "
                         f"(target ≤ 0.50: {verdict})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description="Time our DQN and A2C to a CartPole-v1 "
                                     "evaluation of 475, against Stable-Baselines3 if present.")
    parser.add_argument("--algorithms", nargs="+", choices=("dqn", "a2c"),
                        default=["dqn", "a2c"], help="which algorithms (default both)")
    parser.add_argument("--seeds", nargs="+", type=seed_value, default=[0, 1, 2],
                        help="seeds to run (default 0 1 2)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip Stable-Baselines3 even when it is installed")
    args = parser.parse_args(argv)
    folder = new_run_dir(__file__)  # a folder of its own: no run replaces an earlier one's
    print(f"CPU cores: {os.cpu_count()}, load average: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other work slows every figure)")
    baseline = not args.no_baseline and sb3_available()
    if not args.no_baseline and not baseline:
        print("Stable-Baselines3: not installed (pip install -e .[bench]); ratios skipped")
    results = {}
    for algorithm in args.algorithms:
        ours, sb3 = [], []
        for seed in args.seeds:
            ours.append(run_ours(algorithm, seed, folder / f"{algorithm}_seed{seed}"))
            print(describe(algorithm, ours[-1]), flush=True)
            if baseline:
                sb3.append(run_sb3(algorithm, seed))
                print(describe(algorithm, sb3[-1]), flush=True)
        results[algorithm] = {"ours": ours, "sb3": sb3}
        print("\n".join(summarize(algorithm, ours, sb3)), flush=True)
    path = folder / "results.json"
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"Saved {path}")
    finish_run(folder)
    return results


if __name__ == "__main__":
    main()
