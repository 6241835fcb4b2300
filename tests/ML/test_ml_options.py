"""Every Day1 script checks its options first: a bad value gets one sentence and status 2."""

import importlib
import pkgutil

import pytest

import ML
from ML import (
    discounted_return,
    explanation_keras_batch,
    explanation_keras_classification,
    explanation_keras_regression,
    explanation_tf_batch,
    gradient,
    mdp,
)
from tests.option_checks import BAD_SEEDS, assert_refused


def day1_scripts():
    """Every module of ML/ that has a ``main``: new scripts are checked without a new line."""
    modules = (importlib.import_module(f"ML.{info.name}") for info in pkgutil.iter_modules(
        ML.__path__))
    return [module for module in modules if hasattr(module, "main")]


SCRIPTS = day1_scripts()


def test_every_script_is_checked():
    assert len(SCRIPTS) == 9 and gradient in SCRIPTS and mdp in SCRIPTS


@pytest.mark.parametrize("seed", BAD_SEEDS)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_a_bad_seed_gets_one_sentence_and_status_2(script, seed, capsys):
    assert_refused(script.main, ["--seed", seed, "--no-show"], capsys, "argument --seed:")


TRAINING = [explanation_keras_regression, explanation_keras_classification]
BATCHES = [explanation_tf_batch, explanation_keras_batch]


@pytest.mark.parametrize("script, argv, mentions", [
    (mdp, ["--gamma", "nan"], "argument --gamma:"),
    (mdp, ["--gamma", "1.01"], "argument --gamma:"),
    (mdp, ["--episodes", "0"], "argument --episodes:"),
    (gradient, ["--learning-rate", "0"], "argument --learning-rate:"),
    (gradient, ["--learning-rate", "nan"], "argument --learning-rate:"),
    (gradient, ["--learning-rate", "-inf"], "argument --learning-rate:"),
    (gradient, ["--x", "inf"], "--x"),
    (discounted_return, ["--gammas", "0.5,nan"], "--gammas"),
    *[(script, ["--batch-size", value], "--batch-size")
      for script in BATCHES for value in ("0", "1001", "two")],
    *[(script, argv, argv[0]) for script in TRAINING for argv in (
        ["--epochs", "0"], ["--batch-size", "-1"], ["--test-size", "nan"],
        ["--test-size", "0.9"], ["--test-size", "-1"])],
], ids=str)
def test_a_value_out_of_range_gets_one_sentence_and_status_2(script, argv, mentions, capsys):
    assert_refused(script.main, [*argv, "--no-show"], capsys, mentions)
