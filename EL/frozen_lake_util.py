"""Day3: drawing a FrozenLake Q table, and what the FrozenLake training scripts share.

``show_q_value(Q)`` draws each cell as a 3×3 block: the four actions' values (LEFT=0,
DOWN=1, RIGHT=2, UP=3) around their mean, red low, green high. The rest serves the training
scripts: their command line, the greedy roll-out, and saving each run in its own folder.

Departure from the book: the map size comes from the environment (the book assumed 4×4).
"""

import argparse
import contextlib
import csv
from pathlib import Path
from types import SimpleNamespace

import common

import numpy as np

from envs.frozen_lake import make_frozen_lake

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
BLOCK = 3  # each state is drawn as a 3×3 block


def q_value_grid(Q, nrow, ncol):
    """The (nrow·3, ncol·3) image of ``Q``, top row first; unvisited states stay 0."""
    grid = np.zeros((nrow * BLOCK, ncol * BLOCK))
    for s in range(nrow * ncol):
        if (s not in Q) if isinstance(Q, dict) else s >= len(Q):
            continue
        values = np.asarray(Q[s], dtype=float)
        r, c = s // ncol * BLOCK + 1, s % ncol * BLOCK + 1  # the centre of the state's block
        grid[r - 1, c], grid[r + 1, c] = values[UP], values[DOWN]
        grid[r, c - 1], grid[r, c + 1] = values[LEFT], values[RIGHT]
        grid[r, c] = values.mean()
    return grid


def lake_letters(env):
    """The map of ``env`` as rows of letters (S start, F ice, H hole, G goal), or None."""
    desc = getattr(env.unwrapped, "desc", None) if env is not None else None
    return None if desc is None else [[cell.decode() for cell in row] for row in desc]


def draw_q_value(ax, Q, nrow, ncol, vmax=None, title=None, letters=None):
    """Draw ``Q`` into ``ax``; a shared ``vmax`` puts several maps on one colour scale."""
    grid = q_value_grid(Q, nrow, ncol)
    vmax = (np.abs(grid).max() if vmax is None else vmax) or 1.0
    image = ax.imshow(grid, cmap="RdYlGn", interpolation="bilinear", vmin=-vmax, vmax=vmax)
    ax.set_xticks(np.arange(-0.5, ncol * BLOCK, BLOCK), range(ncol + 1))
    ax.set_yticks(np.arange(-0.5, nrow * BLOCK, BLOCK), range(nrow + 1))
    ax.set(xlim=(-0.5, ncol * BLOCK - 0.5), ylim=(nrow * BLOCK - 0.5, -0.5), title=title or "",
           xlabel="列 (column)", ylabel="行 (row)")
    ax.grid(which="both", color="black", linewidth=0.8)
    for row, line in enumerate(letters or []):
        for col, letter in enumerate(line):
            if letter != "F":
                ax.text(col * BLOCK - 0.35, row * BLOCK - 0.3, letter, ha="left", va="top",
                        fontsize=9)
    return image


def show_q_value(Q, env=None, nrow=None, ncol=None, title=None, path=None, show=True):
    """Draw the Q table of a FrozenLake, save it as a PNG (by default under
    ``outputs/EL/frozen_lake_util/``) and show it; return the path."""
    import matplotlib.pyplot as plt  # only when drawing: importing pyplot takes a while

    if nrow is None or ncol is None:  # read from env, or the book's 4×4
        nrow, ncol = (4, 4) if env is None else (env.unwrapped.nrow, env.unwrapped.ncol)
    fig, ax = plt.subplots(figsize=(1.2 * ncol + 2.0, 1.2 * nrow + 0.8))
    image = draw_q_value(ax, Q, nrow, ncol, title=title, letters=lake_letters(env))
    fig.colorbar(image, ax=ax, shrink=0.8, label="値 (value): 上下左右 = 各行動, 中央 = 平均")
    path = common.output_dir(__file__) / "q_value.png" if path is None else path
    common.save_figure(fig, path)
    common.show_plot(show)
    return Path(path)


def run_greedy(env, table, max_steps=100):
    """Play one episode taking ``argmax table[s]``; return ``(total reward, states)``."""
    s, _ = env.reset()
    states, total = [s], 0.0
    for _ in range(max_steps):
        s, reward, terminated, truncated, _ = env.step(int(np.argmax(table[s])))
        states.append(s)
        total += reward
        if terminated or truncated:
            break
    return total, states


def save_table(path, **arrays):
    """Save learned tables as ``.npz`` (atomically) and return the path."""
    with common.atomic_path(Path(path)) as temporary:
        np.savez(temporary, **{name: np.asarray(value) for name, value in arrays.items()})
    print(f"Saved {path}")
    return Path(path)


def training_parser(description, episodes):
    """The command line every FrozenLake training script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--episodes", type=common.positive_int, default=episodes,
                        help=f"number of training episodes (default {episodes})")
    parser.add_argument("--seed", type=common.seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the plots without opening a window")
    parser.add_argument("--slippery", action="store_true",
                        help="train on the slippery FrozenLake-v1 instead of FrozenLakeEasy-v0")
    return parser


def make_training_env(seed=0, slippery=False):
    """FrozenLakeEasy-v0 (or the slippery FrozenLake-v1), seeded with ``seed``."""
    env = make_frozen_lake(slippery=slippery)
    common.set_seed(seed, env)
    return env


@contextlib.contextmanager
def keep_on_interrupt():
    """Ctrl-C stops the training but keeps what was learned; ``training.interrupted`` says so."""
    training = SimpleNamespace(interrupted=False)
    try:
        yield training
    except KeyboardInterrupt:
        print("\n中断しました。ここまでに学んだ分は残します (interrupted: keeping what has "
              "been learned so far).")
        training.interrupted = True


def report_training(agent, env, script_file, table, title, show=True, interrupted=False,
                    **extra_tables):
    """Save and show what a run learned (greedy route, tables, rewards) in a new folder
    ``outputs/EL/<script>/<time>/``; ``table`` is what the greedy policy follows."""
    run_dir = common.new_run_dir(script_file)
    total, states = run_greedy(env, table)
    # A greedy policy that circles repeats its states: show the first 20.
    route = f"{states[:20]}" + (f" … ({len(states)} 状態)" if len(states) > 20 else "")
    print(f"greedy な戦略は{'ゴールに着きます' if total > 0 else 'ゴールに着きません'} "
          f"(the greedy policy {'reaches' if total > 0 else 'does not reach'} the goal): "
          f"状態 (states) {route}")
    save_table(run_dir / "q_table.npz", Q=table, **extra_tables)
    if agent.reward_log:
        path = run_dir / "reward_log.csv"
        with common.atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
            csv.writer(file).writerows([("episode", "reward"), *enumerate(agent.reward_log)])
        print(f"Saved {path}")
    # The tables are what the run learned: mark it now, not after a plot window has waited.
    common.finish_run(run_dir, interrupted=interrupted, episodes=len(agent.reward_log),
               greedy_reward=total)
    show_q_value(table, env=env, title=title, path=run_dir / "q_value.png", show=show)
    if agent.reward_log:
        agent.show_reward_log(path=run_dir / "reward_history.png", show=show)
    return total
