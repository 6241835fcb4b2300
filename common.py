"""Helpers that every script of the book shares: seeding, the output folder, plots and errors.

Kept small on purpose. Each script calls these instead of repeating the same few lines:

- ``set_seed`` seeds Python's ``random``, NumPy, TensorFlow/Keras (when the script uses them)
  and, optionally, a gymnasium environment, so that one seed reproduces one run;
- ``output_dir`` gives ``outputs/<FOLDER>/<script>/`` for plots, models, logs and CSV files;
- ``save_figure`` and ``show_plot`` write a figure and open a window only when one can be shown;
- ``atomic_path`` lets a file be written under a temporary name and renamed when complete;
- ``exit_with_error`` turns a user's mistake into one clear sentence and exit status 2.
"""

import contextlib
import os
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
# Tests point this at a temporary folder so that they never write into the checkout.
OUTPUT_ENV_VARIABLE = "RL_BOOK_OUTPUT_DIR"
NON_INTERACTIVE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


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
