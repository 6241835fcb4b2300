"""Day2: a picture of a plan — every cell coloured by its value, with the greedy arrows.

The planners of ``DP/planner.py`` print their values as text; this module draws them, for the
notebook and the README's study guide. Each cell of the maze shows:

- an ordinary cell: its value V(s), and an arrow for every action the plan chooses there
  (several arrows when actions tie, as in the web simulator);
- the treasure (宝) and the danger (危険): their reward on arrival. Their V is 0, since
  nothing follows the end of an episode, so the reward is what colours them;
- a block (壁): grey, no value (the agent can never stand there).

Colours run from red (low) through yellow to green (high), on one scale shared by all the
panels of a figure, so that a value can be compared across sweeps.
"""

import matplotlib.pyplot as plt
import numpy as np

from DP.environment import ACTIONS, MOVES, TREASURE

COLOR_MAP = "RdYlGn"
BLOCK_COLOR = "0.55"
# Where an arrow starts, measured from the centre of its cell, and how long it is: outside
# the number in the middle, so that neither hides the other.
ARROW_START, ARROW_LENGTH = 0.24, 0.2


def value_limit(mdp, values):
    """The largest |value| among ``values`` (flat arrays) and the end rewards: the colour scale."""
    ends = np.abs(mdp.reward[mdp.terminal]) if mdp.terminal.any() else np.zeros(1)
    return float(max(np.abs(np.asarray(values, dtype=float)).max(), ends.max(), 1e-9))


def draw_plan(ax, mdp, V, arrows=None, title=None, vmax=None):
    """Draw the value grid ``V`` (flat, or rows × columns) of a ``GridMDP`` into ``ax``.

    ``arrows`` is a boolean (S, 4) array in the order of ``ACTIONS`` (UP, DOWN, LEFT, RIGHT),
    True for every action the plan takes in a cell, as ``Planner.actions_log()`` gives it; None
    draws the values alone. Returns the image, for a colour bar.
    """
    V = np.asarray(V, dtype=float).ravel()
    shown = np.where(mdp.terminal, mdp.reward, V)
    vmax = value_limit(mdp, V) if vmax is None else vmax
    image = ax.imshow(np.ma.masked_array(shown, mdp.blocked).reshape(mdp.n_rows, mdp.n_columns),
                      cmap=COLOR_MAP, vmin=-vmax, vmax=vmax)
    ax.set_facecolor(BLOCK_COLOR)  # the masked cells, the blocks, show the background
    for s in range(mdp.n_states):
        row, column = divmod(s, mdp.n_columns)
        if mdp.blocked[s]:
            ax.text(column, row, "壁", ha="center", va="center", fontsize=9, color="white")
            continue
        # White on the darkest colours, black elsewhere, so that every number can be read.
        color = "white" if abs(shown[s]) > 0.75 * vmax else "black"
        if mdp.terminal[s]:
            name = "宝" if mdp.grid[row, column] == TREASURE else "危険"
            ax.text(column, row, f"{name}\n{mdp.reward[s]:+.2f}", ha="center", va="center",
                    fontsize=9, color=color)
            continue
        ax.text(column, row, f"{V[s]:.2f}", ha="center", va="center", fontsize=9, color=color)
        for action, chosen in zip(ACTIONS, arrows[s] if arrows is not None else []):
            if chosen:
                d_row, d_column = MOVES[action]
                ax.arrow(column + ARROW_START * d_column, row + ARROW_START * d_row,
                         ARROW_LENGTH * d_column, ARROW_LENGTH * d_row, width=0.02,
                         head_width=0.1, head_length=0.08, length_includes_head=True,
                         color="black")
    ax.set_xticks(np.arange(mdp.n_columns))
    ax.set_yticks(np.arange(mdp.n_rows))
    ax.set_xticks(np.arange(-0.5, mdp.n_columns), minor=True)
    ax.set_yticks(np.arange(-0.5, mdp.n_rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("列 (column)")
    ax.set_ylabel("行 (row)")
    if title:
        ax.set_title(title)
    return image


def plot_plans(mdp, values, arrows, titles, suptitle=None, columns=3):
    """Several moments of a plan side by side, on one colour scale; return the figure.

    ``values``, ``arrows`` and ``titles`` hold one entry per panel: for example the value
    grids of some of Value Iteration's sweeps (``planner.log``) with their arrows
    (``planner.actions_log()``).
    """
    values = [np.asarray(V, dtype=float).ravel() for V in values]
    columns = min(columns, len(values))
    rows = -(-len(values) // columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                             figsize=((mdp.n_columns + 0.8) * columns + 1.0,
                                      (mdp.n_rows + 1.2) * rows))
    vmax = value_limit(mdp, values)
    for ax, V, arrow, title in zip(axes.ravel(), values, arrows, titles):
        image = draw_plan(ax, mdp, V, arrow, title, vmax=vmax)
    for ax in axes.ravel()[len(values):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="価値 (value) V(s)")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
