"""Neural-network primer: one layer is "weights × input + bias", written with TensorFlow.

A neuron multiplies each input feature by a weight, adds them up and adds a bias. A layer of
several neurons does this once per neuron, which is one matrix product:

    y_j = Σ_i x_i W_ij + b_j        that is        y = x @ W + b

x has ``in`` features, W has shape (in, out), b has shape (out,). Textbooks often write
y = W x + b with x as a column; code puts the input in a *row* (1, in), so that rows can be
stacked into a batch (``explanation_tf_batch.py``), as Keras does (``explanation_keras.py``).

Departure from the book: TensorFlow 2 runs each operation at once (eager execution) instead of
building a TensorFlow 1 graph and running it in a session, so values print directly.
"""

import argparse

from common import output_dir, save_figure, seed_value, set_seed, show_plot

import numpy as np
import tensorflow as tf

from ML.matrix_figure import plot_affine

IN_FEATURES = 3
OUT_UNITS = 2
# The batch scripts print every row of their batch: more than this would only flood the screen.
MAX_BATCH = 1000


def linear(x, weight, bias):
    """One layer without activation: x @ weight + bias, for x of shape (batch, in)."""
    return tf.matmul(x, weight) + bias


def linear_by_hand(x, weight, bias):
    """The same product with explicit loops, to see what matmul adds up."""
    x, weight, bias = (np.asarray(m, dtype=float) for m in (x, weight, bias))
    y = np.zeros((x.shape[0], weight.shape[1]))
    for n in range(x.shape[0]):  # each input (row)
        for j in range(weight.shape[1]):  # each neuron (column of W)
            y[n, j] = sum(x[n, i] * weight[i, j] for i in range(weight.shape[0])) + bias[j]
    return y


def make_parameters(rng, in_features=IN_FEATURES, out_units=OUT_UNITS):
    """Random weights and bias as TensorFlow tensors (a trained network would have learned them)."""
    weight = tf.constant(rng.normal(size=(in_features, out_units)), dtype=tf.float32)
    bias = tf.constant(rng.normal(size=(out_units,)), dtype=tf.float32)
    return weight, bias


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compute weights x input + bias for one input with TensorFlow tensors."
    )
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed for the weights and the input (default 0)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    weight, bias = make_parameters(rng)
    features = rng.normal(size=IN_FEATURES)
    # One input is a vector of shape (in,). matmul needs a matrix, so it becomes one row:
    # shape (1, in). The leading 1 is the batch dimension, holding a batch of one input.
    x = tf.constant(features[np.newaxis, :], dtype=tf.float32)
    y = linear(x, weight, bias)

    print(f"x.shape = {tuple(x.shape)}  (batch, in)")
    print(f"W.shape = {tuple(weight.shape)}  (in, out)")
    print(f"b.shape = {tuple(bias.shape)}  (out,)")
    print(f"y.shape = {tuple(y.shape)}  (batch, out)")
    print(f"x = {x.numpy()}")
    print(f"W =\n{weight.numpy()}")
    print(f"b = {bias.numpy()}")
    print(f"y = x @ W + b = {y.numpy()}")
    by_hand = linear_by_hand(x, weight, bias)
    print(f"手計算 (by hand), y_j = sum_i x_i W_ij + b_j = {by_hand}")
    # The column-vector form of the textbook gives the same numbers: W^T (out, in) times x.
    column = tf.matmul(tf.transpose(weight), tf.reshape(x, (IN_FEATURES, 1))) + bias[:, None]
    print(f"教科書の形 W^T x + b (縦ベクトル, textbook form) = {column.numpy().ravel()}")

    fig = plot_affine(x, weight, bias, y, "1 つの入力が 1 層を通る (one input): y = x @ W + b")
    save_figure(fig, output_dir(__file__) / "explanation_tf.png")
    show_plot(not args.no_show)
    return x.numpy(), weight.numpy(), bias.numpy(), y.numpy()


if __name__ == "__main__":
    main()
