"""A2C: n-step returns, the loss against a hand computation, SampleLayer, saving, the script."""

from common import set_seed

import keras
import numpy as np
import pytest

from FN import a2c_agent
from FN.a2c_agent import (
    ActorCriticAgent,
    ActorCriticAgentTest,
    ActorCriticTrainer,
    SampleLayer,
    gumbel_max,
    make_cartpole,
    n_step_returns,
)
from FN.fn_framework import Experience, softmax


def initialized_agent(normalize_advantages=True, seed=0):
    set_seed(seed)
    agent = ActorCriticAgentTest([0, 1])
    sample = [Experience(np.zeros(4, np.float32), 0, 1.0, np.zeros(4, np.float32), False)]
    agent.initialize(sample, keras.optimizers.Adam(1e-3), entropy_weight=0.01,
                     value_weight=0.5, normalize_advantages=normalize_advantages)
    return agent


def test_n_step_returns_bootstrap_only_where_they_should():
    gamma = 0.9
    rewards = np.array([[1.0, 1.0, 2.0], [1.0, 3.0, 0.0], [1.0, 0.0, 4.0]], dtype=np.float32)
    values = np.array([[0.5, 0.5, 0.5], [0.6, 0.6, 7.0], [0.7, 0.7, 0.7]], dtype=np.float32)
    terminated = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
    truncated = np.array([[0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=bool)
    valid = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1]], dtype=bool)
    last_values = np.array([10.0, 20.0, 30.0], dtype=np.float32)
    returns = n_step_returns(rewards, values, terminated, truncated, valid, last_values, gamma)
    # Environment 0 never ends: three rewards, then the critic's value of the last state.
    g2 = 1.0 + gamma * 10.0
    g1 = 1.0 + gamma * g2
    np.testing.assert_allclose(returns[:, 0], [1.0 + gamma * g1, g1, g2], rtol=1e-6)
    # Environment 1 terminates at step 1: no bootstrap; step 2 only resets it.
    np.testing.assert_allclose(returns[:, 1], [1.0 + gamma * 3.0, 3.0, 0.0], rtol=1e-6)
    # Environment 2 is truncated at step 0: it bootstraps from its final state's value
    # (values[1], the state handed to the reset step), not from the next episode.
    np.testing.assert_allclose(returns[:, 2], [2.0 + gamma * 7.0, 0.0, 4.0 + gamma * 30.0],
                               rtol=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
def test_loss_equals_a_hand_computation(normalize):
    agent = initialized_agent(normalize_advantages=normalize)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(5, 4)).astype(np.float32)
    actions = np.array([0, 1, 1, 0, 1])
    returns = np.array([1.0, -0.5, 2.0, 0.3, 5.0], dtype=np.float32)
    mask = np.array([1, 1, 0, 1, 1], dtype=np.float32)
    _, logits, values = agent.model(states)
    logits = logits.numpy().astype(np.float64)
    values = values.numpy()[:, 0].astype(np.float64)
    log_probs = np.log(softmax(logits))
    keep = mask.astype(bool)
    advantages = returns[keep] - values[keep]
    if normalize:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = -np.mean(log_probs[keep, actions[keep]] * advantages)
    value_loss = np.mean((returns[keep] - values[keep]) ** 2)
    entropy = -np.mean(np.sum(np.exp(log_probs[keep]) * log_probs[keep], axis=1))
    loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
    computed = agent.compute_loss(states, actions, returns, mask)
    np.testing.assert_allclose(computed, [loss, policy_loss, value_loss, entropy],
                               rtol=1e-4, atol=1e-6)
    assert agent.update(states, actions, returns, mask)[0] == pytest.approx(loss, rel=1e-4)


def test_advantage_does_not_train_the_critic_through_the_actor_loss():
    """With only the policy term, the value head's weights must get no gradient."""
    import tensorflow as tf

    agent = initialized_agent(normalize_advantages=False)
    agent._value_weight = 0.0
    agent._entropy_weight = 0.0
    states = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = agent.loss_terms(states, np.array([0, 1, 0, 1, 0, 1], np.int32),
                                np.ones(6, np.float32), np.ones(6, np.float32))[0]
    value_head = agent.model.get_layer("values").trainable_variables
    gradients = tape.gradient(loss, value_head)
    assert all(g is None or np.allclose(g.numpy(), 0.0) for g in gradients)


def test_sample_layer_draws_actions_with_softmax_probabilities():
    logits = np.array([[2.0, 0.0, -1.0]] * 20000, dtype=np.float32)
    expected = softmax(logits[:1])[0]
    drawn = np.asarray(SampleLayer(seed=3)(logits))
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(drawn), expected,
                               atol=0.015)
    np.random.seed(0)
    drawn = gumbel_max(logits)
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(drawn), expected,
                               atol=0.015)


def test_save_and_load_round_trip_predictions_exactly(tmp_path):
    agent = initialized_agent()
    states = np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32)
    agent.update(states, np.zeros(8), np.ones(8))
    path = agent.save(tmp_path / "a2c.keras")
    loaded = ActorCriticAgentTest.load(make_cartpole(), path)
    _, logits, values = agent.model(states)
    actions, loaded_logits, loaded_values = loaded.model(states)
    assert np.array_equal(loaded_logits.numpy(), logits.numpy())
    assert np.array_equal(loaded_values.numpy(), values.numpy())
    assert set(np.asarray(actions).tolist()) <= {0, 1}
    assert np.array_equal(loaded.greedy_actions(states), agent.greedy_actions(states))


def test_frames_get_a_convolutional_model_and_a_vector_env_is_required(tmp_path):
    agent = ActorCriticAgent([0, 1, 2])
    agent.make_model((80, 80, 4))
    assert any(isinstance(layer, keras.layers.Conv2D) for layer in agent.model.layers)
    with pytest.raises(ValueError, match="stacked frames"):
        agent.make_model((80, 80))
    with pytest.raises(ValueError, match="vector"):
        ActorCriticTrainer(log_dir=tmp_path).train(make_cartpole(), episode_count=1)


def test_book_defaults_give_four_steps_per_environment_between_updates(tmp_path):
    trainer = ActorCriticTrainer(log_dir=tmp_path)
    assert (trainer.buffer_size, trainer.batch_size, trainer.gamma) == (256, 32, 0.99)
    assert trainer.learning_rate == 1e-3
    env = make_cartpole(num_envs=8)
    set_seed(0, env.env)
    agent = trainer.train(env, episode_count=1000, test_mode=True, max_steps=640)
    # Batches of 8 environments × 4 steps; the first batch only builds the network. Steps
    # that only reset an environment are not transitions, so a few more batches are needed.
    assert agent.initialized and 640 // 32 - 1 <= trainer.training_count <= 640 // 32 + 3
    assert 640 <= trainer.total_steps < 640 + 32
    assert len(trainer.reward_log) > 0 and all(r >= 8 for r in trainer.reward_log)


def test_main_trains_saves_and_plays(capsys):
    trainer = a2c_agent.main(["--test", "--steps", "2000", "--envs", "4", "--no-show"])
    assert trainer.training and trainer.total_steps >= 2000
    assert "a2c_agent_test.keras" in capsys.readouterr().out
    rewards = a2c_agent.main(["--test", "--play"])
    assert len(rewards) == 5


def test_main_reports_a_missing_model_and_bad_arguments(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for argv in (["--test", "--play"], ["--test", "--envs", "0"], ["--envs", "-1"]):
        with pytest.raises(SystemExit) as error:
            a2c_agent.main(argv)
        assert error.value.code == 2
    err = capsys.readouterr().err
    assert "no trained model at" in err and "python FN/a2c_agent.py --test" in err
