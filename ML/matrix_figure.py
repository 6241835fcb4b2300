"""Neural-network primer: a picture of ``x @ W + b = y`` with every number and every shape.

Shared by the four ``explanation_*`` scripts. Each matrix is drawn as a grid of coloured
cells labelled with its values, and its title gives its shape, so that a reader can see that
the inner sizes match ((batch, in) @ (in, out)) and that the bias is added to every row.
"""

import matplotlib.pyplot as plt
import numpy as np

MAX_ROWS = 12


def plot_affine(x, weight, bias, y, title, max_rows=MAX_ROWS):
    """Draw ``x @ weight + bias = y`` as four annotated matrices; return the figure.

    A batch longer than ``max_rows`` is drawn by its first rows only (the titles keep the full
    shapes).
    """
    x, weight, y = (np.atleast_2d(np.asarray(m, dtype=float)) for m in (x, weight, y))
    bias = np.asarray(bias, dtype=float)
    shown = "" if len(x) <= max_rows else f"\n(最初の {max_rows} 行)"
    panels = [("x", x[:max_rows], f"入力 (input) x\n{x.shape}{shown}"),
              ("W", weight, f"重み (weight) W\n{weight.shape}"),
              ("b", bias.reshape(1, -1), f"バイアス (bias) b\n{bias.shape}"),
              ("y", y[:max_rows], f"出力 (output) y\n{y.shape}{shown}")]
    widths = [m.shape[1] + 0.5 for _, m, _ in panels]
    height = max(m.shape[0] for _, m, _ in panels)
    fig, axes = plt.subplots(1, 4, figsize=(sum(widths) * 0.75 + 2.0, height * 0.6 + 2.0),
                             gridspec_kw={"width_ratios": widths})
    for ax, (_, matrix, label), operator in zip(axes, panels, ("@", "+", "=", "")):
        limit = np.abs(matrix).max() or 1.0
        ax.imshow(matrix, cmap="coolwarm", vmin=-limit, vmax=limit, alpha=0.6)
        for (row, column), value in np.ndenumerate(matrix):
            ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xticks(range(matrix.shape[1]))
        ax.set_yticks(range(matrix.shape[0]))
        ax.tick_params(labelsize=7)
        if operator:
            ax.text(1.08, 0.5, operator, transform=ax.transAxes, fontsize=16, ha="center",
                    va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
