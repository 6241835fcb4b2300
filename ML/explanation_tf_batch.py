"""Neural-network primer: the same layer applied to a batch of inputs at once (TensorFlow).

A network is trained on many examples, and feeding them one by one wastes time. Instead the
inputs are stacked as the rows of one matrix, the *batch*, of shape (batch, in). Then

    (batch, in) @ (in, out) → (batch, out)

multiplies every row by the same W in one matmul: row n of the result is exactly what input n
alone would have given. The bias b of shape (out,) is *broadcast*: added to every row.

Why does the batch dimension come first? Because then the weights never depend on the batch
size: W stays (in, out) whether we feed 1 input or 10,000. Each example is one contiguous row,
so datasets, Keras layers and model summaries all follow the convention (Keras prints the
batch size as ``None``: "any number of rows"). A single input must therefore still be given as
a batch of one, shape (1, in).
"""

import argparse

from common import (
    exit_with_error,
    output_dir,
    positive_int,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np
import tensorflow as tf

from ML.explanation_tf import IN_FEATURES, MAX_BATCH, linear, make_parameters
from ML.matrix_figure import plot_affine


def linear_one_by_one(x, weight, bias):
    """Feed the rows one at a time (each as a batch of one) and stack the answers."""
    return tf.concat([linear(x[n:n + 1], weight, bias) for n in range(x.shape[0])], axis=0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compute weights x input + bias for a batch of inputs with TensorFlow."
    )
    parser.add_argument("--batch-size", type=positive_int, default=4,
                        help="how many inputs to stack (default 4)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed for the weights and the inputs (default 0)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    if args.batch_size > MAX_BATCH:
        exit_with_error(f"--batch-size must be at most {MAX_BATCH}, got {args.batch_size}")
    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    weight, bias = make_parameters(rng)
    x = tf.constant(rng.normal(size=(args.batch_size, IN_FEATURES)), dtype=tf.float32)
    y = linear(x, weight, bias)

    print(f"x.shape = {tuple(x.shape)}  (batch, in): 1 行に 1 つ、{args.batch_size} 個の入力")
    print(f"W.shape = {tuple(weight.shape)}  (in, out): どの行にも同じ重み")
    print(f"b.shape = {tuple(bias.shape)}  (out,): ブロードキャストで、どの行にも足す")
    print(f"y.shape = {tuple(y.shape)}  (batch, out): 入力 1 行に出力 1 行")
    print(f"y = x @ W + b =\n{y.numpy()}")
    one_by_one = linear_one_by_one(x, weight, bias)
    print(f"1 行ずつ入れても同じ結果か (the rows fed one at a time give the same result): "
          f"{np.allclose(y.numpy(), one_by_one.numpy())}")

    fig = plot_affine(x, weight, bias, y,
                      f"{args.batch_size} 個の入力のバッチが 1 層を通る (a batch): "
                      "y = x @ W + b")
    save_figure(fig, output_dir(__file__) / "explanation_tf_batch.png")
    show_plot(not args.no_show)
    return x.numpy(), weight.numpy(), bias.numpy(), y.numpy()


if __name__ == "__main__":
    main()
