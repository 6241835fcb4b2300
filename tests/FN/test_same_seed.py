"""Same seed, same result: each FN training script, run twice with one seed, learns the same.

The README promises it, and it is what makes a reader's run comparable with the book's. Each
script runs twice in-process on a small budget, into output folders of its own; the reward
histories and every trained weight must then be equal, not merely close.

Each budget goes past the random play that fills the buffer, so that the network is trained:
before that, only the seeded weight initialization and the environment would be compared.
"""

import keras
import numpy as np
import pytest

from FN import (
    a2c_agent,
    dqn_agent,
    policy_gradient_agent,
    policy_gradient_continuous_agent,
    value_function_agent,
)


def model_file(root, script, kind=""):
    """The one model a run of ``script`` saved under the output root ``root``."""
    folder = root / "FN" / script / kind
    (path,) = [p for p in folder.glob("*/*") if p.suffix in (".keras", ".skops")]
    return path


def keras_weights(path):
    return keras.saving.load_model(path, compile=False).get_weights()


def skops_weights(path):
    """The value-function agent's fitted arrays: scaler statistics and network weights."""
    import skops.io

    model = skops.io.load(path, trusted=value_function_agent.TRUSTED_TYPES)
    scaler, estimator = model.named_steps["scaler"], model.named_steps["estimator"]
    return [scaler.mean_, scaler.scale_, *estimator.coefs_, *estimator.intercepts_]


def rewards_of(result):
    """The reward history a script's ``main`` hands back: a list, or its trainer's log."""
    return list(result if isinstance(result, list) else result.reward_log)


# script, its command line without the seed, the folder its run lands in, how to read weights
SCRIPTS = {
    "value_function": (value_function_agent, ["--episodes", "60"], "", skops_weights),
    "reinforce": (policy_gradient_agent, ["--episodes", "20"], "", keras_weights),
    "pendulum": (policy_gradient_continuous_agent, ["--episodes", "6"], "", keras_weights),
    "dqn": (dqn_agent, ["--test", "--steps", "1200"], "cartpole", keras_weights),
    "a2c": (a2c_agent, ["--test", "--steps", "600", "--envs", "4"], "cartpole", keras_weights),
}


def run(script, argv, kind, read_weights, seed, root, monkeypatch):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(root))
    rewards = rewards_of(script.main([*argv, "--seed", str(seed), "--no-show"]))
    name = script.__name__.rsplit(".", 1)[-1]
    return rewards, read_weights(model_file(root, name, kind))


# The two runs of these take more than ten seconds together (mostly compiling the updates).
SLOW = {"pendulum", "a2c"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW
                                  else name for name in SCRIPTS])
def test_the_same_seed_gives_the_same_rewards_and_weights(name, tmp_path, monkeypatch):
    script, argv, kind, read_weights = SCRIPTS[name]
    rewards, weights = run(script, argv, kind, read_weights, 3, tmp_path / "first", monkeypatch)
    again, weights_again = run(script, argv, kind, read_weights, 3, tmp_path / "again",
                               monkeypatch)
    assert len(rewards) > 1 and weights
    assert again == rewards
    assert len(weights_again) == len(weights)
    for mine, theirs in zip(weights, weights_again):
        np.testing.assert_array_equal(mine, theirs)
