"""Day3: drawing a FrozenLake Q table, and what the FrozenLake training scripts share.

``show_q_value(Q)`` draws each cell of the lake as a 3×3 block of colours:

    .    up    .
    left mean  right
    .    down  .

The colour map diverges (red for low, green for high, yellow around 0), so it is easy to see
where the agent expects to do well and which moves lead into holes. FrozenLake numbers its
actions LEFT=0, DOWN=1, RIGHT=2, UP=3, and its states row by row (``s = row * ncol + col``).

Deviation from the book: the book takes the map size from a fresh 4×4 environment and
computes ``s = row * nrow + col``, which is only right for square maps. Here the size comes
from the environment you pass (or ``nrow``/``ncol``), and any rectangular map works.

The rest of the file is the scaffolding that ``monte_carlo.py``, ``q_learning.py``,
``sarsa.py`` and ``actor_critic.py`` share: their command line, the greedy roll-out that
checks what was learned, and saving and showing the results, each run in a folder of
its own so that a new run never replaces an earlier one's files.
"""

import argparse
import contextlib
from pathlib import Path
from types import SimpleNamespace

from common import (
    atomic_path,
    finish_run,
    new_run_dir,
    output_dir,
    positive_int,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np

from envs.frozen_lake import make_frozen_lake

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
BLOCK = 3  # each state is drawn as a 3×3 block
COLOR_MAP = "RdYlGn"


def lake_shape(env=None, nrow=None, ncol=None):
    """``(nrow, ncol)`` of the lake: given, read from ``env``, or the book's 4×4."""
    if nrow is not None and ncol is not None:
        return int(nrow), int(ncol)
    if env is None:
        return 4, 4
    lake = env.unwrapped
    return lake.nrow, lake.ncol


def q_value_grid(Q, nrow, ncol):
    """The (nrow·3, ncol·3) image of ``Q``; row 0 is the top of the lake, as the map reads.

    States missing from a dict-like ``Q`` (never visited) stay 0.
    """
    grid = np.zeros((nrow * BLOCK, ncol * BLOCK))
    for row in range(nrow):
        for col in range(ncol):
            s = row * ncol + col
            if isinstance(Q, dict):
                if s not in Q:
                    continue
            elif s >= len(Q):
                continue
            values = np.asarray(Q[s], dtype=float)
            r, c = row * BLOCK + 1, col * BLOCK + 1  # the centre of this state's block
            grid[r - 1, c] = values[UP]
            grid[r + 1, c] = values[DOWN]
            grid[r, c - 1] = values[LEFT]
            grid[r, c + 1] = values[RIGHT]
            grid[r, c] = values.mean()
    return grid


def lake_letters(env):
    """The map of ``env`` as rows of letters (S start, F ice, H hole, G goal), or None."""
    desc = getattr(env.unwrapped, "desc", None) if env is not None else None
    return None if desc is None else [[cell.decode() for cell in row] for row in desc]


def draw_q_value(ax, Q, nrow, ncol, vmax=None, title=None, letters=None):
    """Draw ``Q`` into ``ax``; a shared ``vmax`` puts several maps on one colour scale.

    ``letters`` (rows of "S", "F", "H", "G", see ``lake_letters``) marks the start, the holes
    and the goal in the corner of their cells, so the map can be read against the lake.
    """
    grid = q_value_grid(Q, nrow, ncol)
    if vmax is None:
        vmax = np.abs(grid).max()
    vmax = vmax if vmax > 0 else 1.0
    image = ax.imshow(grid, cmap=COLOR_MAP, interpolation="bilinear", vmin=-vmax, vmax=vmax)
    ax.set_xticks(np.arange(-0.5, ncol * BLOCK, BLOCK))
    ax.set_yticks(np.arange(-0.5, nrow * BLOCK, BLOCK))
    ax.set_xticklabels(range(ncol + 1))
    ax.set_yticklabels(range(nrow + 1))
    ax.set_xlim(-0.5, ncol * BLOCK - 0.5)
    ax.set_ylim(nrow * BLOCK - 0.5, -0.5)
    ax.grid(which="both", color="black", linewidth=0.8)
    ax.set_xlabel("列 (column)")
    ax.set_ylabel("行 (row)")
    for row, line in enumerate(letters or []):
        for col, letter in enumerate(line):
            if letter != "F":
                ax.text(col * BLOCK - 0.35, row * BLOCK - 0.3, letter, ha="left", va="top",
                        fontsize=9)
    if title:
        ax.set_title(title)
    return image


def show_q_value(Q, env=None, nrow=None, ncol=None, title=None, path=None, show=True):
    """Draw the Q table of a FrozenLake, save it as a PNG and show it; return the path.

    The map size comes from ``env`` (or ``nrow`` and ``ncol``; the book's 4×4 without
    either), and so do the letters S, H and G. ``path`` defaults to
    ``outputs/EL/frozen_lake_util/q_value.png``.
    """
    import matplotlib.pyplot as plt  # only when drawing: importing pyplot takes a while

    nrow, ncol = lake_shape(env, nrow, ncol)
    fig, ax = plt.subplots(figsize=(1.2 * ncol + 2.0, 1.2 * nrow + 0.8))
    image = draw_q_value(ax, Q, nrow, ncol, title=title, letters=lake_letters(env))
    fig.colorbar(image, ax=ax, shrink=0.8, label="値 (value): 上下左右 = 各行動, 中央 = 平均")
    if path is None:
        path = output_dir(__file__) / "q_value.png"
    save_figure(fig, path)
    show_plot(show)
    return Path(path)


def run_greedy(env, table, max_steps=100):
    """Play one episode always taking ``argmax table[s]``; return ``(total reward, states)``.

    This is how the tests and the scripts check what was learned: on FrozenLakeEasy a policy
    that has learned the lake reaches the goal (reward 1) from the start.
    """
    s, _ = env.reset()
    states = [s]
    total = 0.0
    for _ in range(max_steps):
        s, reward, terminated, truncated, _ = env.step(int(np.argmax(table[s])))
        states.append(s)
        total += reward
        if terminated or truncated:
            break
    return total, states


def save_table(path, **arrays):
    """Save learned tables as ``.npz`` (atomically) and return the path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        np.savez(temporary, **{name: np.asarray(value) for name, value in arrays.items()})
    print(f"Saved {path}")
    return path


def training_parser(description, episodes):
    """The command line every FrozenLake training script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--episodes", type=positive_int, default=episodes,
                        help=f"number of training episodes (default {episodes}, as in the book)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the plots without opening a window")
    parser.add_argument("--slippery", action="store_true",
                        help="train on the slippery FrozenLake-v1 instead of FrozenLakeEasy-v0")
    return parser


def make_training_env(args):
    """The lake the arguments ask for, seeded with ``--seed``."""
    env = make_frozen_lake(slippery=args.slippery)
    set_seed(args.seed, env)
    return env


@contextlib.contextmanager
def keep_on_interrupt():
    """Ctrl-C stops the training loop but keeps the tables learned so far.

    ``with keep_on_interrupt() as training:`` — afterwards ``training.interrupted`` says
    whether the run was cut short, so that its folder can be marked so.
    """
    training = SimpleNamespace(interrupted=False)
    try:
        yield training
    except KeyboardInterrupt:
        print("\nInterrupted: keeping what has been learned so far.")
        training.interrupted = True


def report_training(agent, env, script_file, table, title, show=True, interrupted=False,
                    **extra_tables):
    """Save and show what a training run learned: Q map, reward history, arrays, CSV.

    Everything goes into a new folder of the run's own, ``outputs/EL/<script>/<time>/``
    (``common.new_run_dir``), so that no run replaces what an earlier one saved; the folder is
    marked finished, or interrupted after Ctrl-C (``interrupted``). ``table`` is what the
    greedy policy follows (``agent.Q`` or the Actor's preferences). Returns the greedy
    roll-out's total reward.
    """
    run_dir = new_run_dir(script_file)
    total, states = run_greedy(env, table)
    outcome = "reaches the goal" if total > 0 else "does not reach the goal"
    print(f"The greedy policy {outcome}: states {states}")
    save_table(run_dir / "q_table.npz", Q=table, **extra_tables)
    if agent.reward_log:
        agent.save_reward_log(run_dir / "reward_log.csv")
    # The tables are what the run learned: mark it now, not after a plot window has waited.
    finish_run(run_dir, interrupted=interrupted, episodes=len(agent.reward_log),
               greedy_reward=total)
    show_q_value(table, env=env, title=title, path=run_dir / "q_value.png", show=show)
    if agent.reward_log:
        agent.show_reward_log(path=run_dir / "reward_history.png", show=show)
    return total
