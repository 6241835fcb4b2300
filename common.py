"""Helpers that every script of the book shares: seeding, the output folder, plots and errors.

Kept small on purpose. Each script calls these instead of repeating the same few lines:

- ``set_seed`` seeds Python's ``random``, NumPy, TensorFlow/Keras (when the script uses them)
  and, optionally, a gymnasium environment, so that one seed reproduces one run;
- ``output_dir`` gives ``outputs/<FOLDER>/<script>/`` for plots, models, logs and CSV files;
- ``save_figure`` and ``show_plot`` write a figure and open a window only when one can be shown,
  and ``save_runs_csv`` writes per-episode results of many runs as one table;
- ``atomic_path`` lets a file be written under a temporary name and renamed when complete;
- ``exit_with_error`` turns a user's mistake into one clear sentence and exit status 2;
- ``seed_value``, ``probability``, ``positive_float``, ``positive_int`` and ``non_negative_int``
  are argparse types, so that every script checks its options the same way;
- ``new_run_dir``, ``finish_run`` and ``find_model`` give each training run a folder of its own,
  so that no run ever replaces what an earlier one saved, and ``--play`` finds the newest;
- ``load_keras_model`` opens a saved model, or says in one sentence why it cannot;
- ``save_gif``, ``display_available`` and ``window_closed`` serve the scripts that show a game.

Every figure can carry Japanese text on any machine: importing ``matplotlib_fontja`` makes
matplotlib use the IPAex Gothic font that the package ships, so no figure shows empty boxes.

Importing this module first also makes a script quiet and interruptible from its first line:
TensorFlow's C++ start-up messages are silenced (``TF_CPP_MIN_LOG_LEVEL``, unless the user set
it), and a Ctrl-C at any moment, even while TensorFlow is still importing, prints one line and
exits with status 130 instead of a long traceback. That is why ruff's import order puts
``common`` before the third-party libraries (see ``pyproject.toml``).
"""

import argparse
import contextlib
import importlib.abc
import importlib.util
import json
import math
import os
import random
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Silence what TensorFlow's C++ core writes to stderr while ``import tensorflow`` runs.

    On a CPU machine TensorFlow prints about eight lines as it starts ("Could not find cuda
    drivers", "failed call to cuInit", ...). ``TF_CPP_MIN_LOG_LEVEL=3`` hides most of them, but
    a few are written before TensorFlow reads that setting. So for the length of that one import
    the stderr file descriptor points at /dev/null. A Python error in the import still shows,
    because it is printed after the descriptor is back. A user who sets TF_CPP_MIN_LOG_LEVEL
    to 0, 1 or 2 sees everything.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once is enough, and find_spec below must not find us
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module_quietly(module):
            with _stderr_to_devnull():
                load(module)

        spec.loader.exec_module = exec_module_quietly
        return spec


@contextlib.contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") == "3" and "tensorflow" not in sys.modules:
    # Level 3 hides TensorFlow's C++ INFO, WARNING and ERROR lines once it runs, among them
    # "failed call to cuInit" on a machine without a GPU. A child process inherits the 3 and
    # is made quiet the same way; a user who asks for a lower level sees everything.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.meta_path.insert(0, _QuietTensorFlowImport())

ROOT = Path(__file__).resolve().parent
# Tests point this at a temporary folder so that they never write into the checkout.
OUTPUT_ENV_VARIABLE = "RL_BOOK_OUTPUT_DIR"
NON_INTERACTIVE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


INTERRUPTED_EXIT_STATUS = 130  # what a shell reports for a program stopped by Ctrl-C (128 + 2)
SEED_MAX = 2**32 - 1  # NumPy and gymnasium take seeds in 0 ... 2**32 - 1


def _exit_quietly_on_ctrl_c(exc_type, exc, tb, previous_hook=sys.excepthook):
    """The last word on an exception nobody caught: Ctrl-C gets one line, not a traceback."""
    if issubclass(exc_type, KeyboardInterrupt):
        print("\nInterrupted (Ctrl-C).", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(INTERRUPTED_EXIT_STATUS)
    previous_hook(exc_type, exc, tb)


sys.excepthook = _exit_quietly_on_ctrl_c

# Registers the Japanese font that matplotlib-fontja ships (after the Ctrl-C hook: this import
# loads matplotlib, which takes a moment).
importlib.import_module("matplotlib_fontja")


def set_seed(seed, env=None):
    """Seed every source of randomness a script uses, and the environment if one is given.

    TensorFlow is seeded only when the script has already imported it: a DP script should not
    pay the seconds that importing TensorFlow costs. Scripts import everything at the top, so
    by the time they call this, TensorFlow is loaded if they need it.

    With ``env``, the environment is reset with the seed (gymnasium seeds its ``np_random`` on
    ``reset(seed=...)``) and its action space is seeded too; the first ``(observation, info)``
    is returned. Without ``env`` it returns ``None``.
    """
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
    if env is None:
        return None
    env.action_space.seed(seed)
    return env.reset(seed=seed)


def output_dir(script_file):
    """Return (and create) ``outputs/<FOLDER>/<script>/`` for the script at ``script_file``.

    Pass ``__file__``: ``DP/planner.py`` writes under ``outputs/DP/planner/``. The root of
    ``outputs`` moves to ``$RL_BOOK_OUTPUT_DIR`` when that variable is set.
    """
    script = Path(script_file).resolve()
    root = Path(os.environ.get(OUTPUT_ENV_VARIABLE, ROOT / "outputs"))
    folder = root / script.parent.name / script.stem
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftover_temporaries(folder)
    return folder


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    An interrupted save (Ctrl-C, a full disk) then never leaves a half-written file where a
    good one was. The temporary name keeps the suffix, because Keras checks it (``.keras``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def can_show_plots():
    """True when matplotlib's backend draws in a window (not Agg, not a file backend)."""
    import matplotlib

    return matplotlib.get_backend().lower() not in NON_INTERACTIVE_BACKENDS


def save_figure(fig, path):
    """Save ``fig`` to ``path`` (atomically), print where it went and return the path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight", format=path.suffix.lstrip("."))
    print(f"Saved {path}")
    return path


def display_width(text):
    """Columns ``text`` takes in a terminal: a Japanese (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text, width):
    """``text`` padded with spaces to ``width`` terminal columns, for tables in Japanese."""
    return text + " " * (width - display_width(text))


def save_runs_csv(tables, path, group, value):
    """Write ``{name: array of shape (runs, episodes)}`` as one row per episode of every run,
    ``<group>,run,episode,<value>`` (episodes from 1), atomically; print where it went."""
    lines = [f"{group},run,episode,{value}"]
    for name, table in tables.items():
        for run, row in enumerate(table):
            lines += [f"{name},{run},{episode},{number:g}" if isinstance(number, float)
                      else f"{name},{run},{episode},{number}"
                      for episode, number in enumerate(row, 1)]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Saved {path}")
    return Path(path)


def show_plot(show=True):
    """Show the current figures when asked to and when a window can open; then close them."""
    import matplotlib.pyplot as plt

    if show and can_show_plots():
        plt.show()
    plt.close("all")


def exit_with_error(message):
    """Print one clear sentence to stderr and exit with status 2, as argparse does."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


# --------------------------------------------------------------------------------------------
# Options: argparse types that every script uses, so that a bad value gets one sentence and
# exit status 2 (argparse's own) instead of a traceback deep inside the training.
# --------------------------------------------------------------------------------------------

def _number(text, kind):
    try:
        value = kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {noun}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def seed_value(text):
    """A seed: a whole number from 0 to 2**32 - 1 (NumPy refuses anything else)."""
    value = _number(text, int)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be from 0 to {SEED_MAX}, got {text}")
    return value


def probability(text):
    """A probability or a rate such as ε or γ: a number from 0 to 1."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def positive_float(text):
    """A learning rate, a step size or a temperature: a finite number above 0."""
    value = _number(text, float)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def positive_int(text):
    """A count that must be at least 1 (episodes, steps, runs)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def non_negative_int(text):
    """A count where 0 means something (Dyna's ``--modelstep 0`` is plain Q-learning)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


# --------------------------------------------------------------------------------------------
# Runs: each training run writes into a folder of its own, so no run replaces another's work.
#
#     outputs/FN/dqn_agent/catcher/20261201-104500/   dqn_agent.keras, run.json, logs, plots
#
# ``run.json`` says whether the run is still going, finished, or was stopped with Ctrl-C.
# --------------------------------------------------------------------------------------------

RUN_FILE = "run.json"


def new_run_dir(script_file, kind=""):
    """Create and return a new, empty run folder under the script's output folder.

    ``kind`` separates the modes of one script (``cartpole`` and ``catcher``), so that
    ``--play`` of one never picks the other's model. The folder is named by the start time
    (``-2``, ``-3`` ... are added when two runs start in the same second).
    """
    parent = output_dir(script_file) / kind if kind else output_dir(script_file)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        folder = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        _write_run_file(folder, {"status": "running", "started": stamp, "argv": sys.argv[1:]})
        return folder
    raise RuntimeError(f"could not create a new run folder under {parent}")


def finish_run(run_dir, interrupted=False, **details):
    """Mark the run as ``finished`` or, after Ctrl-C, ``interrupted``; keep its details."""
    path = Path(run_dir) / RUN_FILE
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    record.update(details, status="interrupted" if interrupted else "finished",
                  ended=time.strftime("%Y%m%d-%H%M%S"))
    _write_run_file(run_dir, record)


def _write_run_file(folder, record):
    with atomic_path(Path(folder) / RUN_FILE) as temporary:
        temporary.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def _run_status(folder):
    try:
        return json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def find_model(script_file, file_name, model=None, kind="", train_command=""):
    """The model file that ``--play`` should load: ``--model PATH``, or the newest run's.

    Only runs that ended (finished, or interrupted with what they had learned saved) count; a
    run still going, or one killed before it saved, is passed over. An interrupted run is
    played, with a line that says so. No file gives one sentence and exit status 2.
    """
    if model is not None:
        path = Path(model)
        if not path.is_file():
            exit_with_error(f"there is no model file at {path}; give the path of a saved "
                            f"{Path(file_name).suffix} file, or train one with "
                            f"`{train_command}`")
        return path
    parent = output_dir(script_file) / kind if kind else output_dir(script_file)
    # Run folders are named by their start time, so the newest sorts last.
    runs = sorted((folder for folder in parent.glob("*") if folder.is_dir()), reverse=True)
    for folder in runs:
        status = _run_status(folder)
        if status in ("finished", "interrupted") and (folder / file_name).is_file():
            if status == "interrupted":
                print(f"Note: the newest run ({folder.name}) was stopped with Ctrl-C; "
                      "playing what it had learned by then.")
            return folder / file_name
    exit_with_error(f"there is no trained model under {parent}; run `{train_command}` "
                    "first, or give a model file with --model PATH")


def load_keras_model(path, train_command, **kwargs):
    """Load a Keras model file, or exit with one sentence that names the file (status 2).

    A file can be damaged (a run killed by the system, a copy cut short), of another kind, or
    saved by another script: every such case ends here, not in a traceback.
    """
    path = Path(path)
    if not path.is_file():
        exit_with_error(f"there is no model file at {path}; train one with `{train_command}`")
    if path.suffix != ".keras":
        exit_with_error(f"{path} is not a Keras model file (.keras); train one with "
                        f"`{train_command}`")
    import keras

    try:
        return keras.models.load_model(path, **kwargs)
    except Exception as error:  # a damaged zip, a foreign file or missing layers: all the same
        exit_with_error(f"{path} cannot be loaded as a model ({type(error).__name__}); it may "
                        f"be damaged or made by another script: train a new one with "
                        f"`{train_command}`")


def _remove_leftover_temporaries(folder):
    """Delete temporary files that a killed save left behind (their process is gone)."""
    for leftover in folder.rglob(".*.tmp*"):
        try:
            pid = int(leftover.name.split(".")[2])
            os.kill(pid, 0)  # raises when no such process is running any more
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except (ValueError, IndexError, OSError):
            continue


# --------------------------------------------------------------------------------------------
# Games on screen: a window when one can open, an animated GIF otherwise, and reward plots.
# --------------------------------------------------------------------------------------------

def display_available():
    """True when a pygame window can open: not SDL's dummy driver, and a display to draw on."""
    if os.environ.get("SDL_VIDEODRIVER", "").lower() in {"dummy", "offscreen"}:
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import pygame

    try:
        pygame.display.init()
    except pygame.error:
        return False
    pygame.display.quit()
    return True


def play_headless(headless):
    """Whether ``--play`` writes a GIF instead of opening a window: when asked (``headless``),
    or when no window can open (it says so)."""
    if not headless and not display_available():
        print("No display found: playing headless, and writing a GIF instead of a window.")
        return True
    return headless


def window_closed():
    """True when the user has closed the pygame window (its close button queues QUIT)."""
    import pygame

    return bool(pygame.event.peek(pygame.QUIT))


def save_gif(frames, path, fps=30, scale=4):
    """Write RGB frames ((H, W, 3) uint8 arrays) as an animated GIF, atomically; print where.

    Each pixel becomes a ``scale`` × ``scale`` square, so that a small game screen can be seen.
    """
    from PIL import Image

    if len(frames) == 0:
        raise ValueError("no frames to write")
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)).resize(
        (frame.shape[1] * scale, frame.shape[0] * scale), Image.Resampling.NEAREST)
        for frame in frames]
    path = Path(path)
    with atomic_path(path) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / fps)), loop=0)
    print(f"Saved {path}")
    return path


def play_first_episodes(env, act, seed=None, counts=()):
    """Play each environment of a batch until its first episode ends (an evaluation).

    ``env`` is a batch seen through an observer: ``reset(seed=...)`` returns the states and
    ``step(actions)`` returns ``(states, rewards, dones, info)``. ``act(states)`` is called only
    on the states of the environments still playing, so an agent that draws its actions from
    its own random numbers draws none for a finished one; finished ones go on stepping,
    repeating their last action, but nothing of theirs counts any more. Returns ``(returns,
    *kept)``: per environment, its return and each info entry named in ``counts`` (Catcher's
    ``"caught"``, ``"missed"``) as its episode ended (from ``info["final_info"]`` under
    gymnasium's same-step autoreset, else from ``info``).
    """
    states = env.reset(seed=seed)
    n = len(states)
    returns = np.zeros(n)
    kept = [np.zeros(n, dtype=np.int64) for _ in counts]
    done = np.zeros(n, dtype=bool)
    actions = np.zeros(n, dtype=np.int64)
    while not done.all():
        actions[~done] = act(states[~done])
        states, rewards, dones, info = env.step(actions)
        returns += np.where(done, 0.0, rewards)
        ended = dones & ~done
        if ended.any():
            final = info.get("final_info", info)
            for name, values in zip(counts, kept):
                values[ended] = final[name][ended]
        done |= dones
    return (returns, *kept)

def plot_reward_history(groups, path, x=None, xlabel="エピソード (episode)",
                        label="平均報酬 (mean reward)", best=False, show=True, low=None,
                        high=None):
    """The book's reward-history plot: the mean of each group of rewards, ± one std band.

    ``groups`` is a list of arrays: the rewards of each block of ``interval`` episodes
    (see ``reward_groups``), or each epoch's population. ``best`` adds each group's maximum.
    The PNG is saved at ``path`` and shown when a window can open; its path is returned.

    The band is clipped to ``[low, high]``, by default the smallest and largest reward in the
    groups: a mean of 0.9 ± 0.3 on FrozenLake, whose rewards are 0 or 1, would otherwise
    draw a band up to 1.2, a reward no episode can earn.
    """
    import matplotlib.pyplot as plt

    if len(groups) == 0:
        raise ValueError("the reward log is empty: train for at least one episode first")
    x = np.arange(len(groups)) if x is None else np.asarray(x)
    means = np.array([np.mean(group) for group in groups])
    stds = np.array([np.std(group) for group in groups])
    low = min(np.min(group) for group in groups) if low is None else low
    high = max(np.max(group) for group in groups) if high is None else high
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.set_title("報酬の推移 (reward history)")
    ax.grid()
    ax.fill_between(x, np.clip(means - stds, low, high), np.clip(means + stds, low, high),
                    alpha=0.1, color="g", label="± 標準偏差 (one standard deviation)")
    ax.plot(x, means, "o-", color="g", markersize=3, label=label)
    if best:
        ax.plot(x, [np.max(group) for group in groups], ":", color="g", label="最高 (best)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("報酬 (reward)")
    ax.legend(loc="best")
    save_figure(fig, path)
    show_plot(show)
    return Path(path)


def reward_groups(values, interval):
    """``(x, groups)``: the rewards cut into blocks of ``interval`` episodes, for the plot."""
    values = np.asarray(values, dtype=float)
    interval = max(1, int(interval))
    x = np.arange(0, len(values), interval)
    return x, [values[i:i + interval] for i in x]


def finish_training(run_dir, interrupted=False, **details):
    """The last step of a training script, once what was learned is saved (after Ctrl-C too).

    Marks the run folder ``finished`` or ``interrupted`` with ``details`` (``finish_run``).
    After Ctrl-C the script ends here with exit status 130, as a shell expects of an
    interrupted program; ``--play`` then says that the run it picks was interrupted.
    """
    finish_run(run_dir, interrupted=interrupted, **details)
    if interrupted:
        print(f"Stopped with Ctrl-C: the run in {run_dir} keeps what it learned "
              "(marked interrupted).")
        raise SystemExit(INTERRUPTED_EXIT_STATUS)
