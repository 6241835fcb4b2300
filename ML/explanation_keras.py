"""Neural-network primer: a Keras ``Dense`` layer is the same "x @ W + b".

``keras.layers.Dense(units)`` holds a weight matrix called the *kernel*, of shape (in, units),
and a bias of shape (units,). Calling the layer on x computes ``x @ kernel + bias`` (and then
an activation function, if one is given; there is none here, so the output is left as is).

Keras does not ask for the input size: the layer is *built* the first time it is called, and
the kernel's first dimension is read from the input's last one. Before that call the layer has
no weights at all.

Two checks below: a fresh layer (random kernel, zero bias) gives the same numbers as the
matmul written by hand, and a layer given the weights of ``explanation_tf.py`` reproduces
that script's TensorFlow computation exactly.
"""

import argparse

from common import output_dir, save_figure, seed_value, set_seed, show_plot

import keras
import numpy as np

from ML.explanation_tf import IN_FEATURES, OUT_UNITS, linear, make_parameters
from ML.matrix_figure import plot_affine


def dense_by_hand(x, layer):
    """What the layer computes, from its own weights: x @ kernel + bias, in NumPy."""
    kernel, bias = layer.get_weights()
    return np.asarray(x) @ kernel + bias


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Show that a Keras Dense layer computes weights x input + bias."
    )
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed for the weights and the input (default 0)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    # One input, as a batch of one: shape (1, in). Keras layers always expect the batch first.
    x = rng.normal(size=(1, IN_FEATURES)).astype("float32")
    layer = keras.layers.Dense(units=OUT_UNITS)
    print(f"最初に呼ぶ前、層はできているか (built): {layer.built}")
    y = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = layer.get_weights()
    print(f"呼んだ後 (after the first call): {layer.built}; kernel.shape = {kernel.shape} "
          f"(in, units), "
          f"bias.shape = {bias.shape} (units,)")
    print("新しい層の重みはランダム (Glorot uniform)、バイアスは 0 から始まります:")
    print(f"kernel =\n{kernel}\nbias = {bias}")
    print(f"layer(x)            = {y}")
    print(f"x @ kernel + bias   = {dense_by_hand(x, layer)}")

    # Give the layer chosen weights: now it must agree with the TensorFlow version.
    weight, tf_bias = make_parameters(rng)
    layer.set_weights([weight.numpy(), tf_bias.numpy()])
    y = keras.ops.convert_to_numpy(layer(x))
    print("\n重みを explanation_tf.py の W と b にそろえると (with the weights set to W, b):")
    print(f"layer(x)            = {y}")
    print(f"tf.matmul(x, W) + b = {linear(x, weight, tf_bias).numpy()}")

    fig = plot_affine(x, weight.numpy(), tf_bias.numpy(), y,
                      "keras.layers.Dense(2) も同じ計算: y = x @ kernel + bias")
    save_figure(fig, output_dir(__file__) / "explanation_keras.png")
    show_plot(not args.no_show)
    return x, layer


if __name__ == "__main__":
    main()
