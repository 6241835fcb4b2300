"""Neural-network primer: a small Keras classifier reads handwritten digits.

``sklearn.datasets.load_digits`` holds 1,797 handwritten digits, 8×8 pixels, labelled 0 to 9;
it ships with scikit-learn, so nothing is downloaded (the book used MNIST, which must be
fetched). Classification differs from regression in its last layer and its loss:

- the output layer has one unit per class, and ``softmax`` turns its 10 numbers into
  probabilities that sum to 1;
- the loss is the cross-entropy, −log(probability of the right class): small when the model
  is confident and right, large when it is confident and wrong ("sparse": integer labels).

The predicted class is the most probable one. The script prints the test accuracy and draws a
grid of test digits with the predictions, the wrong ones in red with the true label.
"""

import argparse

from common import (
    exit_with_error,
    output_dir,
    positive_int,
    probability,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

IMAGE_SHAPE = (8, 8)
N_CLASSES = 10
GRID_ROWS, GRID_COLUMNS = 4, 6


def load_data(test_size=0.2, seed=0):
    """Split the digits: ``(x_train, x_test, y_train, y_test)``.

    Each image is flattened to 64 pixels, so ``x`` has shape (n_images, 64), batch first.
    Pixels are divided by 16 to lie in [0, 1]. ``stratify`` keeps the share of each digit the
    same in both sets.
    """
    images, labels = load_digits(return_X_y=True)
    x = (images / 16.0).astype("float32")
    return train_test_split(x, labels, test_size=test_size, random_state=seed, stratify=labels)


def make_model(n_features=IMAGE_SHAPE[0] * IMAGE_SHAPE[1], hidden_units=64,
               learning_rate=0.001):
    """Input(64) → Dense(relu) → Dense(10, softmax), trained with cross-entropy."""
    model = keras.Sequential([
        keras.Input(shape=(n_features,)),
        keras.layers.Dense(hidden_units, activation="relu"),
        keras.layers.Dense(N_CLASSES, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def predict_classes(model, x):
    """The most probable class of each row. ``model(x)`` has shape (batch, 10)."""
    probabilities = keras.ops.convert_to_numpy(model(x))
    return probabilities.argmax(axis=1)


def pick_examples(predicted, actual, count=GRID_ROWS * GRID_COLUMNS):
    """Indices to draw: the first mistakes (up to one row of the grid), then correct ones."""
    wrong = np.flatnonzero(predicted != actual)[:GRID_COLUMNS]
    right = np.flatnonzero(predicted == actual)[:count - len(wrong)]
    return np.concatenate([wrong, right]).astype(int)


def plot_predictions(x, predicted, actual, accuracy):
    """A grid of test digits titled with their predictions; wrong ones in red."""
    fig, axes = plt.subplots(GRID_ROWS, GRID_COLUMNS, figsize=(GRID_COLUMNS * 1.3,
                                                               GRID_ROWS * 1.5 + 0.6))
    chosen = pick_examples(predicted, actual)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, index in zip(axes.ravel(), chosen):
        ax.imshow(x[index].reshape(IMAGE_SHAPE), cmap="gray_r")
        if predicted[index] == actual[index]:
            ax.set_title(f"{predicted[index]}", fontsize=10)
        else:
            ax.set_title(f"{predicted[index]} (正解 {actual[index]})", fontsize=9, color="red")
    fig.suptitle(f"テストの数字と予測 (test digits), 正解率 (accuracy) {accuracy:.1%}\n"
                 "間違いを先に赤で表示 (mistakes first, in red)")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a small Keras classifier on scikit-learn's 8x8 digits."
    )
    parser.add_argument("--epochs", type=positive_int, default=20,
                        help="passes over the training data (default 20)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="examples per gradient step (default 32)")
    parser.add_argument("--test-size", type=probability, default=0.2,
                        help="fraction of the data held back for testing (default 0.2)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    if not 0.05 <= args.test_size <= 0.5:
        exit_with_error(f"--test-size must be between 0.05 and 0.5, got {args.test_size}")
    set_seed(args.seed)

    x_train, x_test, y_train, y_test = load_data(args.test_size, args.seed)
    print(f"学習用 (train): x {x_train.shape}, y {y_train.shape}; テスト用 (test): "
          f"x {x_test.shape}, y {y_test.shape}  (最初の次元がバッチ、1 枚の画像は 64 画素)")
    model = make_model()
    try:
        # verbose=2 prints one line per epoch: loss and accuracy on the training data.
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    except KeyboardInterrupt:
        print("中断しました。ここまで学習したモデルを評価します (interrupted).")

    predicted = predict_classes(model, x_test)
    accuracy = float(np.mean(predicted == y_test))
    print(f"テストの正解率 (test accuracy): {accuracy:.1%} "
          f"({len(y_test)} 枚中 {int(np.sum(predicted == y_test))} 枚)")

    fig = plot_predictions(x_test, predicted, y_test, accuracy)
    save_figure(fig, output_dir(__file__) / "explanation_keras_classification.png")
    show_plot(not args.no_show)
    return accuracy


if __name__ == "__main__":
    main()
