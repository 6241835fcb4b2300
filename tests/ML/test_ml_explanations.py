from common import output_dir

import keras
import numpy as np
import pytest
import tensorflow as tf

from ML import explanation_keras, explanation_keras_batch, explanation_tf, explanation_tf_batch


@pytest.mark.parametrize(("batch", "n_in", "n_out"), [(1, 3, 2), (5, 4, 1), (7, 1, 6)])
def test_tf_linear_is_the_weighted_sum_plus_bias(batch, n_in, n_out):
    rng = np.random.default_rng(batch)
    x = rng.normal(size=(batch, n_in)).astype("float32")
    weight, bias = explanation_tf.make_parameters(rng, n_in, n_out)
    y = explanation_tf.linear(x, weight, bias).numpy()
    assert y.shape == (batch, n_out)
    np.testing.assert_allclose(y, explanation_tf.linear_by_hand(x, weight, bias), rtol=1e-5,
                               atol=1e-5)


def test_a_batch_gives_each_row_what_it_would_give_alone():
    rng = np.random.default_rng(0)
    weight, bias = explanation_tf.make_parameters(rng)
    x = tf.constant(rng.normal(size=(6, explanation_tf.IN_FEATURES)), dtype=tf.float32)
    together = explanation_tf.linear(x, weight, bias).numpy()
    alone = explanation_tf_batch.linear_one_by_one(x, weight, bias).numpy()
    np.testing.assert_allclose(together, alone, rtol=1e-6)
    # The bias is broadcast: it shifts every row by the same vector.
    shifted = explanation_tf.linear(x, weight, bias + 1.0).numpy()
    np.testing.assert_allclose(shifted - together, np.ones_like(together), rtol=1e-5)


def test_keras_dense_equals_the_manual_matmul():
    rng = np.random.default_rng(1)
    layer = keras.layers.Dense(4)
    x = rng.normal(size=(8, 5)).astype("float32")
    layer(x)  # builds the layer: kernel (5, 4), bias (4,)
    kernel = rng.normal(size=(5, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    layer.set_weights([kernel, bias])
    y = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(y, x @ kernel + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, explanation_keras.dense_by_hand(x, layer), rtol=1e-6, atol=1e-6)


def test_keras_model_takes_the_batch_first_and_matches_the_layer_weights():
    model = explanation_keras_batch.make_model()
    assert model.output_shape == (None, explanation_tf.OUT_UNITS)
    kernel, bias = model.layers[0].get_weights()
    assert np.any(bias != 0)
    x = np.random.default_rng(2).normal(size=(10, explanation_tf.IN_FEATURES)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(y, x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_explanation_tf_main(capsys):
    x, weight, bias, y = explanation_tf.main(["--seed", "3", "--no-show"])
    assert x.shape == (1, 3) and weight.shape == (3, 2) and bias.shape == (2,)
    np.testing.assert_allclose(y, x @ weight + bias, rtol=1e-5)
    assert "x.shape = (1, 3)  (batch, in)" in capsys.readouterr().out
    assert (output_dir(explanation_tf.__file__) / "explanation_tf.png").stat().st_size > 0


def test_explanation_tf_batch_main(capsys):
    x, weight, bias, y = explanation_tf_batch.main(["--batch-size", "5", "--no-show"])
    assert x.shape == (5, 3) and y.shape == (5, 2)
    np.testing.assert_allclose(y, x @ weight + bias, rtol=1e-5)
    assert "1 行ずつ入れても同じ結果か (the rows fed one at a time give the same result): True" in \
        capsys.readouterr().out
    path = output_dir(explanation_tf_batch.__file__) / "explanation_tf_batch.png"
    assert path.stat().st_size > 0


def test_explanation_keras_main():
    x, layer = explanation_keras.main(["--seed", "4", "--no-show"])
    y = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(y, explanation_keras.dense_by_hand(x, layer), rtol=1e-5)
    path = output_dir(explanation_keras.__file__) / "explanation_keras.png"
    assert path.stat().st_size > 0


def test_explanation_keras_batch_main(capsys):
    x, model = explanation_keras_batch.main(["--batch-size", "20", "--no-show"])
    assert x.shape == (20, 3)
    out = capsys.readouterr().out
    assert "y.shape = (20, 2)  (batch, units)" in out
    path = output_dir(explanation_keras_batch.__file__) / "explanation_keras_batch.png"
    assert path.stat().st_size > 0


@pytest.mark.parametrize("module", [explanation_tf_batch, explanation_keras_batch])
def test_bad_batch_size_exits_with_status_2(module):
    with pytest.raises(SystemExit) as error:
        module.main(["--batch-size", "0", "--no-show"])
    assert error.value.code == 2
