from common import output_dir

import numpy as np
import pytest

from ML import explanation_keras_classification as classification
from ML import explanation_keras_regression as regression


def test_regression_data_is_scaled_with_training_statistics_only():
    x_train, x_test, y_train, y_test, y_scaler = regression.load_data(0.2, 0)
    assert x_train.shape == (353, 10) and x_test.shape == (89, 10)
    assert y_train.shape == (353, 1) and y_test.shape == (89, 1)
    np.testing.assert_allclose(x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x_train.std(axis=0), 1.0, atol=1e-4)
    assert abs(float(y_train.mean())) < 1e-5
    # The test set keeps its own offset: it was not used to fit the scaler.
    assert np.abs(x_test.mean(axis=0)).max() > 1e-3
    assert 25 <= y_scaler.inverse_transform(y_train).min() < 350


def test_regressor_beats_predicting_the_mean(capsys):
    result = regression.main(["--epochs", "15", "--seed", "0", "--no-show"])
    assert result["mse"] < 0.8 * result["baseline_mse"]
    assert result["mae"] == pytest.approx(np.mean(np.abs(result["predicted"] - result["actual"])))
    assert "テストの平均二乗誤差 (test MSE)" in capsys.readouterr().out
    path = output_dir(regression.__file__) / "explanation_keras_regression.png"
    assert path.stat().st_size > 0


def test_classifier_reaches_90_percent_on_digits(capsys):
    accuracy = classification.main(["--epochs", "10", "--seed", "0", "--no-show"])
    assert accuracy >= 0.90
    assert f"テストの正解率 (test accuracy): {accuracy:.1%}" in capsys.readouterr().out
    path = output_dir(classification.__file__) / "explanation_keras_classification.png"
    assert path.stat().st_size > 0


def test_classifier_data_is_stratified_and_in_unit_range():
    x_train, x_test, y_train, y_test = classification.load_data(0.2, 0)
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.bincount(y_test).min() >= 35


def test_pick_examples_shows_mistakes_first():
    predicted = np.array([1, 2, 3, 9, 5, 9, 7, 8, 9, 0] * 3)
    actual = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 0] * 3)
    chosen = classification.pick_examples(predicted, actual, count=10)
    assert len(chosen) == 10
    assert list(chosen[:6]) == [3, 5, 13, 15, 23, 25]
    assert all(predicted[i] == actual[i] for i in chosen[6:])


@pytest.mark.parametrize("module", [regression, classification])
@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--test-size", "0.9"]])
def test_bad_arguments_exit_with_status_2(module, argv):
    with pytest.raises(SystemExit) as error:
        module.main([*argv, "--no-show"])
    assert error.value.code == 2
