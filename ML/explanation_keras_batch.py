"""Neural-network primer: a Keras model takes a batch, and its output has one row per input.

A model is built from layers. ``keras.Input(shape=(in,))`` declares the shape of *one*
input; Keras adds the batch dimension in front by itself, which is why the summary prints
``(None, in)`` and ``(None, units)``: None means "any number of rows". The same weights serve
every batch size, and each row of the output is what that row of the input alone would give.

So, as with TensorFlow (``explanation_tf_batch.py``), a single input has to be passed as a
batch of one, ``x[np.newaxis]`` of shape (1, in). Training feeds batches of examples through
exactly this computation (``explanation_keras_regression.py``).
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

import keras
import numpy as np

from ML.explanation_keras import dense_by_hand
from ML.explanation_tf import IN_FEATURES, MAX_BATCH, OUT_UNITS
from ML.matrix_figure import plot_affine


def make_model(in_features=IN_FEATURES, units=OUT_UNITS):
    """The smallest model: one Dense layer without activation.

    Keras starts biases at zero; a random one here makes the check below test the addition too.
    """
    dense = keras.layers.Dense(units, bias_initializer="random_normal")
    return keras.Sequential([keras.Input(shape=(in_features,)), dense])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Feed a batch of inputs through a Keras model and check it by hand."
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

    model = make_model()
    model.summary()
    layer = model.layers[0]
    kernel, bias = layer.get_weights()
    print(f"パラメータ数 (parameters): 重み {kernel.size} (in x units) + バイアス {bias.size} "
          f"= {model.count_params()}")

    x = rng.normal(size=(args.batch_size, IN_FEATURES)).astype("float32")
    # Calling the model directly runs one forward pass. model.predict() would do the same,
    # batch by batch with extra bookkeeping: fine for a dataset, far too slow inside a loop.
    y = keras.ops.convert_to_numpy(model(x))
    print(f"x.shape = {x.shape}  (batch, in)")
    print(f"y.shape = {y.shape}  (batch, units)")
    print(f"model(x) =\n{y}")
    print(f"x @ kernel + bias =\n{dense_by_hand(x, layer)}")
    single = keras.ops.convert_to_numpy(model(x[0][np.newaxis]))
    print(f"最初の入力だけを 1 個のバッチ {x[0][np.newaxis].shape} として入れると "
          f"(the first input alone): {single}")

    fig = plot_affine(x, kernel, bias, y,
                      f"Keras のモデルに {args.batch_size} 個のバッチ: y = x @ kernel + bias")
    save_figure(fig, output_dir(__file__) / "explanation_keras_batch.png")
    show_plot(not args.no_show)
    return x, model


if __name__ == "__main__":
    main()
