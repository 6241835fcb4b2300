"""Day4-5: what every FN training script does around its ``Trainer``, written once.

- ``make_parser``: the options all FN scripts share (``--play``, ``--model``, ``--seed``,
  ``--episodes``, ``--render``, ``--no-show``; and ``--test``, ``--steps``, ``--headless`` for
  DQN and A2C, which learn Catcher, or CartPole with ``--test``), checked by ``common``'s
  argparse types, so that a bad value gets one sentence and exit status 2;
- ``play``: ``--play``, the newest finished run's agent (or ``--model PATH``) playing;
- ``train_mode``: seed, train (with a periodic greedy evaluation where a mode asks for one),
  close; ``train_and_save`` adds ``finish_training`` for the scripts with one mode;
- ``finish_training``: the end of a training run: save what was learned (also after Ctrl-C),
  plot the rewards, mark the run folder finished or interrupted, and after Ctrl-C exit with
  status 130;
- ``run_mode`` and ``watch_render_mode``.

Each training run writes into a folder of its own (``common.new_run_dir``), so that no run
replaces what an earlier one saved. This module does not import TensorFlow.
"""

import argparse
from pathlib import Path

from common import (
    INTERRUPTED_EXIT_STATUS,
    display_available,
    find_model,
    finish_run,
    output_dir,
    positive_int,
    seed_value,
    set_seed,
)

from FN.catcher_observer import play_catcher


def make_parser(description, episodes, mode_steps=None):
    """The command line that every FN script shares. ``mode_steps``, the default number of
    steps on Catcher and with ``--test``, adds the options of the two-mode scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--play", action="store_true",
                        help="load the newest trained model (or --model) and watch it play")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help="with --play: the model file to play instead of the newest run's")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed, from 0 to 2**32 - 1 (default 0)")
    parser.add_argument("--episodes", type=positive_int, default=episodes,
                        help=f"training episodes (default {episodes})")
    parser.add_argument("--render", action="store_true",
                        help="open a window and draw the environment while training")
    parser.add_argument("--no-show", action="store_true",
                        help="save the reward plot without opening a window")
    if mode_steps is not None:
        parser.add_argument("--test", action="store_true",
                            help="train (or --play) the small MLP on CartPole-v1")
        parser.add_argument("--steps", type=positive_int, default=None,
                            help=f"at most this many environment steps (default "
                                 f"{mode_steps[0]:,} on Catcher, {mode_steps[1]:,} with --test)")
        parser.add_argument("--headless", action="store_true",
                            help="with --play on Catcher: write a GIF instead of a window")
    return parser


def run_mode(script_file, kind="", suffix=".keras"):
    """``(model file name, training command)`` of a script's mode: ``kind`` is ``""`` for a
    script with one mode, ``"cartpole"`` for ``--test`` and ``"catcher"`` for DQN's and A2C's
    Catcher. Each kind has its run folders, so that ``--play`` of one mode never picks the
    other's model."""
    stem = Path(script_file).stem
    if kind == "cartpole":
        return f"{stem}_test{suffix}", f"python FN/{stem}.py --test"
    return f"{stem}{suffix}", f"python FN/{stem}.py"


def watch_render_mode():
    """``"human"`` (a window) for --play and --render when one can open, else ``None``.

    Without a display (a server, or ``SDL_VIDEODRIVER=dummy`` in the tests) nothing could be
    seen, and gymnasium would still pace the frames at the game's speed: play without drawing.
    """
    return "human" if display_available() else None


def play(args, script_file, agent_class, make_env, kind="", suffix=".keras", greedy=False,
         episode_count=5):
    """``--play``: the newest finished run's agent of this script and mode plays (or the
    model at ``--model PATH``), on ``make_env(render_mode=...)``; Catcher goes through
    ``play_catcher`` (a window, or a GIF). Returns the rewards (or the GIF's path).

    ``greedy`` plays the action the agent rates best in every state, as the evaluations
    measure it, instead of drawing actions from the policy; the script says so on screen.
    """
    file_name, command = run_mode(script_file, kind, suffix)
    path = find_model(script_file, file_name, model=args.model, kind=kind,
                      train_command=command)
    print(f"Playing {path}" + (" greedily (the most probable action in each state, as the "
                               "evaluations measure it)" if greedy else ""))
    if kind == "catcher":
        gif = output_dir(script_file) / f"{Path(script_file).stem}_play.gif"
        return play_catcher(agent_class, path, gif, seed=args.seed, headless=args.headless,
                            episode_count=episode_count, greedy=greedy, train_command=command)
    env = make_env(render_mode=watch_render_mode())
    set_seed(args.seed, env.env)
    agent = agent_class.load(env, path, train_command=command)
    rewards = agent.play(env, episode_count=episode_count, render=True, greedy=greedy)
    env.close()
    return rewards


def train_mode(trainer, env, seed=0, evaluation_env=None, evaluation=None, metric=None,
               metric_name="return", **train_kwargs):
    """Seed ``env``, run ``trainer.train(env, **train_kwargs)``, close ``env``; return
    ``(trainer, agent)``. With ``evaluation`` (``interval``, ``episode_count``, ``target``),
    the greedy policy is evaluated on ``evaluation_env`` meanwhile, on seeds that training
    never uses."""
    set_seed(seed, env.env)
    if evaluation is not None:
        trainer.set_evaluation(evaluation_env, evaluation["interval"],
                               evaluation["episode_count"], target=evaluation["target"],
                               seed=seed * 100_000 + 10_000, metric=metric,
                               metric_name=metric_name)
    agent = trainer.train(env, **train_kwargs)
    env.close()
    return trainer, agent


def train_and_save(trainer, env, args, file_name, **train_kwargs):
    """A one-mode script's training: ``train_mode`` with the command line's seed, episodes and
    ``--render``, then ``finish_training``; returns the episodes' rewards."""
    trainer, agent = train_mode(trainer, env, args.seed, episode_count=args.episodes,
                                render=args.render, **train_kwargs)
    finish_training(trainer, agent, file_name, show=not args.no_show)
    return trainer.reward_log


def finish_training(trainer, agent, file_name, show=True):
    """Save the agent in the trainer's run folder, plot its rewards and mark the run.

    This is the one end of every training script, and it runs after Ctrl-C too (the trainer
    catches it and keeps what was learned): the model is saved and the run is marked
    ``interrupted``; ``--play`` then says so when it picks it. After Ctrl-C the script ends
    here with exit status 130, as a shell expects of an interrupted program. Returns the path
    of the saved model (``None`` when training stopped before the model was built).
    """
    run_dir = trainer.logger.log_dir
    path = None
    if agent.initialized:
        path = agent.save(trainer.logger.path_of(file_name))
        print(f"Saved {path}")
    else:
        print("Training stopped before the model was built: nothing to save.")
    if trainer.reward_log:
        trainer.logger.plot("Rewards", trainer.reward_log, trainer.report_interval,
                            show=show and not trainer.interrupted)
    print(f"TensorBoard logs: {trainer.logger.tensorboard_dir}")
    evaluation = trainer.evaluation
    best = None
    if evaluation is not None and evaluation.results:
        steps, best = max(evaluation.results, key=lambda item: item[1])
        print(f"Best evaluation: {best:.4g} over {evaluation.episode_count} episodes (at step "
              f"{steps}); {trainer.total_steps} steps in all.")
    finish_run(run_dir, interrupted=trainer.interrupted, model=file_name if path else None,
               steps=trainer.total_steps, episodes=len(trainer.reward_log),
               best_evaluation=best)
    if trainer.interrupted:
        print(f"Stopped with Ctrl-C: the run in {run_dir} keeps what it learned "
              "(marked interrupted).")
        raise SystemExit(INTERRUPTED_EXIT_STATUS)
    return path
