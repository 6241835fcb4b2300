"""Day4 primer (the book's nn_tutorial): gradients with ``tf.GradientTape``, checked by hand.

A model learns by nudging its parameters against the gradient of its error. The smallest
model is the book's line ``f(x, a, b)`` = x·a + b, whose derivatives are easy by hand:
∂f/∂x = a, ∂f/∂a = x, ∂f/∂b = 1. ``grad(f)`` gets them from TensorFlow: the tape records
every operation and plays it backwards (backpropagation). Variables (the parameters a and b)
are watched by themselves; an input such as x must be watched explicitly.

With a target t, the squared error L = (a·x + b − t)² has ∂L/∂a = 2 (a·x + b − t) x: one
gradient-descent step a ← a − η ∂L/∂a moves downhill, and the plot draws that slope.

    python ML/gradient.py [--a 2 --b 1 --x 3 --target 4 --no-show]

Changes from the book: TensorFlow 2 runs eagerly, and ``grad`` uses a ``GradientTape``.
"""

import argparse

from common import (
    exit_with_error,
    output_dir,
    positive_float,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf


def f(x, a, b):
    """The book's function: y = x·a + b, written with TensorFlow's operations."""
    return tf.add(tf.multiply(x, a), b)


def grad(f):
    """The book's ``grad(f)``: a function of (x, a, b) giving [∂f/∂x, ∂f/∂a, ∂f/∂b].

    TensorFlow 2 has no ``tfe.gradients_function``: a ``GradientTape`` records ``f`` instead.
    """
    def gradients(x, a, b):
        a = tf.Variable(a, dtype=tf.float64)
        b = tf.Variable(b, dtype=tf.float64)
        x = tf.constant(x, dtype=tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(x)  # x is an input, not a Variable: ask the tape to follow it too
            y = f(x, a, b)
        return tape.gradient(y, [x, a, b])

    return gradients


def gradients_by_tape(a, b, x):
    """∂y/∂a, ∂y/∂b and ∂y/∂x of y = a·x + b, computed by TensorFlow (``grad(f)``)."""
    dy_dx, dy_da, dy_db = grad(f)(x, a, b)
    return {"dy/da": float(dy_da), "dy/db": float(dy_db), "dy/dx": float(dy_dx)}


def gradients_by_hand(a, b, x):
    """The same derivatives, worked out on paper."""
    return {"dy/da": float(x), "dy/db": 1.0, "dy/dx": float(a)}


def squared_error(a, b, x, target):
    return (a * x + b - target) ** 2


def loss_gradient_by_tape(a, b, x, target):
    """The loss L = (a·x + b − t)² and its gradient with respect to a, by TensorFlow."""
    a = tf.Variable(a, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = squared_error(a, b, x, target)
    return float(loss), float(tape.gradient(loss, a))


def loss_gradient_by_hand(a, b, x, target):
    """∂L/∂a = 2 (a·x + b − t) · x, by the chain rule."""
    return 2 * (a * x + b - target) * x


def plot_gradient_step(a, b, x, target, learning_rate):
    """The loss as a function of a, its tangent at a (slope = the gradient) and one step."""
    loss, slope = loss_gradient_by_tape(a, b, x, target)
    new_a = a - learning_rate * slope
    span = max(abs(new_a - a), 1.0) * 1.5
    grid = np.linspace(min(a, new_a) - span, max(a, new_a) + span, 200)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(grid, squared_error(grid, b, x, target), label="損失 (loss) L(a) = (a·x + b − t)²")
    near = np.linspace(a - span / 2, a + span / 2, 2)
    ax.plot(near, loss + slope * (near - a), "--",
            label=f"a = {a:g} での接線 (tangent): 傾き ∂L/∂a = {slope:g}")
    ax.plot([a], [loss], "o", color="C3", label="いまの a (current a)")
    new_loss = squared_error(new_a, b, x, target)
    ax.annotate("", xy=(new_a, new_loss), xytext=(a, loss),
                arrowprops={"arrowstyle": "->", "color": "C2"})
    ax.plot([new_a], [new_loss], "o", color="C2",
            label=f"1 ステップ後 (one step): a ← a − {learning_rate:g}·∂L/∂a = {new_a:g}")
    ax.set(title=f"a についての勾配降下法 (gradient descent): x = {x:g}, b = {b:g}, "
                 f"目標 t = {target:g}", xlabel="a", ylabel="損失 (loss) L")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Differentiate y = a*x + b with tf.GradientTape and check it by hand."
    )
    parser.add_argument("--a", type=float, default=2.0, help="slope a (default 2)")
    parser.add_argument("--b", type=float, default=1.0, help="intercept b (default 1)")
    parser.add_argument("--x", type=float, default=3.0, help="input x (default 3)")
    parser.add_argument("--target", type=float, default=4.0,
                        help="target t for the squared error (default 4)")
    parser.add_argument("--learning-rate", type=positive_float, default=0.05,
                        help="step size η of the gradient-descent step (default 0.05)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="accepted for uniformity; this computation is deterministic")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    if not all(np.isfinite((args.a, args.b, args.x, args.target))):
        exit_with_error("--a, --b, --x and --target must be finite numbers")
    set_seed(args.seed)

    y = args.a * args.x + args.b
    print(f"y = a*x + b = {args.a:g}*{args.x:g} + {args.b:g} = {y:g}")
    by_tape = gradients_by_tape(args.a, args.b, args.x)
    by_hand = gradients_by_hand(args.a, args.b, args.x)
    for name in by_tape:
        print(f"{name}: GradientTape {by_tape[name]:g}, 手計算 (by hand) {by_hand[name]:g}")

    loss, slope = loss_gradient_by_tape(args.a, args.b, args.x, args.target)
    print(f"\n損失 (loss) L = (y - t)^2 = {loss:g}; dL/da: GradientTape {slope:g}, "
          f"手計算 (by hand) {loss_gradient_by_hand(args.a, args.b, args.x, args.target):g}")
    new_a = args.a - args.learning_rate * slope
    print(f"勾配降下法で 1 ステップ (one gradient-descent step): a = {args.a:g} -> {new_a:g}、"
          f"損失 (loss) {loss:g} -> "
          f"{squared_error(new_a, args.b, args.x, args.target):g}")

    fig = plot_gradient_step(args.a, args.b, args.x, args.target, args.learning_rate)
    save_figure(fig, output_dir(__file__) / "gradient.png")
    show_plot(not args.no_show)
    return by_tape, by_hand


if __name__ == "__main__":
    main()
