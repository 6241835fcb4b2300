"""Neural-network primer: a small Keras regressor learns from data (the diabetes dataset).

Learning from data in four steps that every later day repeats:

1. **Data**: ``sklearn.datasets.load_diabetes``, 442 patients, 10 measurements each, and how
   the disease progressed a year later (bundled with scikit-learn; the book's Boston housing
   data has been removed from it).
2. **Split**: a *test* set that training never sees says how well the model does on new data.
3. **Scale**: features and target are standardized, with statistics of the training set only
   (test statistics would leak information about the test set).
4. **Fit**: predict a batch, measure the loss (mean squared error), take the gradient, let
   Adam take a small step; one pass over the training set is an *epoch*.

The test error is printed in the target's units, beside the error of always predicting the
training mean, which the network must beat.
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
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def load_data(test_size=0.2, seed=0):
    """Split and scale the diabetes data: ``(x_train, x_test, y_train, y_test, y_scaler)``.

    Features and targets of both sets are scaled with statistics of the training set; the
    targets are column vectors (n, 1) like the model's output. ``y_scaler`` turns predictions
    back into the target's units.
    """
    features, target = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target.reshape(-1, 1), test_size=test_size, random_state=seed)
    x_scaler = StandardScaler().fit(x_train)
    y_scaler = StandardScaler().fit(y_train)
    return (x_scaler.transform(x_train).astype("float32"),
            x_scaler.transform(x_test).astype("float32"),
            y_scaler.transform(y_train).astype("float32"),
            y_scaler.transform(y_test).astype("float32"),
            y_scaler)


def make_model(n_features, hidden_units=32, learning_rate=0.001):
    """Input → Dense(relu) → Dense(1). The last layer has no activation: any real number."""
    model = keras.Sequential([
        keras.Input(shape=(n_features,)),
        # ReLU (max(0, z)) makes the model more than a straight line: without an activation,
        # two Dense layers would collapse into one matrix product.
        keras.layers.Dense(hidden_units, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse",
                  metrics=["mae"])
    return model


def evaluate(model, x_test, y_test, y_scaler, baseline):
    """Test errors in the target's units, and the error of always predicting ``baseline``."""
    predicted = y_scaler.inverse_transform(keras.ops.convert_to_numpy(model(x_test)))
    actual = y_scaler.inverse_transform(y_test)
    return {
        "predicted": predicted.ravel(),
        "actual": actual.ravel(),
        "mse": float(np.mean((predicted - actual) ** 2)),
        "mae": float(np.mean(np.abs(predicted - actual))),
        "baseline_mse": float(np.mean((baseline - actual) ** 2)),
    }


def plot_results(history, result):
    """Left: the loss per epoch. Right: predicted against actual on the test set."""
    fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(11, 4.5))
    for key, label in (("loss", "学習用 (training)"), ("val_loss", "検証用 (validation)")):
        if history.get(key):
            ax_loss.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    ax_loss.set(title="学習中の損失 (loss)", xlabel="エポック (epoch)",
                ylabel="平均二乗誤差 (MSE, 標準化した目的変数)")
    ax_loss.legend()
    actual, predicted = result["actual"], result["predicted"]
    ax_fit.scatter(actual, predicted, s=14, alpha=0.7)
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    ax_fit.plot([low, high], [low, high], "--", color="gray", label="完全な予測 (perfect)")
    ax_fit.set(title=f"テストデータ (test set): MSE {result['mse']:.0f}, MAE {result['mae']:.1f}",
               xlabel="実際の進行度 (actual progression)",
               ylabel="予測した進行度 (predicted)")
    ax_fit.legend()
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a small Keras regressor on scikit-learn's diabetes dataset."
    )
    parser.add_argument("--epochs", type=positive_int, default=50,
                        help="passes over the training data (default 50)")
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

    x_train, x_test, y_train, y_test, y_scaler = load_data(args.test_size, args.seed)
    print(f"学習用 (train): x {x_train.shape}, y {y_train.shape}; テスト用 (test): "
          f"x {x_test.shape}, y {y_test.shape}  (最初の次元がバッチ)")
    model = make_model(x_train.shape[1])
    # Our own History callback keeps the losses of the finished epochs even if training is
    # interrupted with Ctrl-C; the model then keeps what it has learned so far.
    history = keras.callbacks.History()
    try:
        # validation_split holds back the last 20% of the *training* rows to watch for
        # overfitting; the test set stays untouched until the end.
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                  validation_split=0.2, callbacks=[history], verbose=0)
    except KeyboardInterrupt:
        print("中断しました。ここまで学習したモデルを評価します (interrupted).")

    # The scaler remembers the training targets' mean: the baseline "model".
    result = evaluate(model, x_test, y_test, y_scaler, baseline=float(y_scaler.mean_[0]))
    print(f"学習したエポック数 (epochs trained): {len(history.history.get('loss', []))}")
    print(f"テストの平均二乗誤差 (test MSE) {result['mse']:.1f}、平均絶対誤差 (MAE) "
          f"{result['mae']:.1f} (いつも学習データの平均を答えた場合の MSE "
          f"{result['baseline_mse']:.1f})")

    fig = plot_results(history.history, result)
    save_figure(fig, output_dir(__file__) / "explanation_keras_regression.png")
    show_plot(not args.no_show)
    return result


if __name__ == "__main__":
    main()
