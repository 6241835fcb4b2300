"""The Gaussian-policy actor-critic on Pendulum: squashing, saving, the script, learning."""

from common import set_seed

import gymnasium as gym
import keras
import numpy as np
import pytest

from FN import policy_gradient_continuous_agent as continuous
from FN.fn_framework import Experience
from FN.policy_gradient_continuous_agent import (
    PendulumObserver,
    PolicyGradientContinuousAgent,
    PolicyGradientContinuousTrainer,
)
from tests.learning_margins import learning_seeds


def make_env():
    return PendulumObserver(gym.make("Pendulum-v1"))


def initialized_agent(seed=0):
    set_seed(seed)
    agent = PolicyGradientContinuousAgent(0.0, np.array([-2.0]), np.array([2.0]))
    rng = np.random.default_rng(seed)
    batch = [Experience(rng.normal(size=3).astype(np.float32),
                        rng.uniform(-2, 2, size=1).astype(np.float32), -1.0,
                        rng.normal(size=3).astype(np.float32), False) for _ in range(16)]
    agent.initialize(batch, *(keras.optimizers.Adam(1e-3) for _ in range(3)))
    return agent, batch


def test_actions_stay_in_range_and_the_mean_action_is_tanh_mu():
    agent, batch = initialized_agent()
    np.random.seed(0)
    actions = np.array([agent.policy(e.s) for e in batch for _ in range(20)])
    assert actions.shape == (320, 1) and np.all(np.abs(actions) <= 2.0)
    states = np.stack([e.s for e in batch])
    mu, _ = agent.model(states)
    np.testing.assert_allclose(agent.greedy_actions(states), 2.0 * np.tanh(mu.numpy()),
                               rtol=1e-5, atol=1e-6)


def test_log_probability_includes_the_tanh_correction():
    agent, batch = initialized_agent()
    states = np.stack([e.s for e in batch])
    keras.utils.set_random_seed(5)
    actions, log_prob = agent._sample(states)
    assert np.all(np.abs(actions.numpy()) <= 2.0)
    mu, log_std = (x.numpy()[:, 0] for x in agent.model(states))
    std = np.exp(np.clip(log_std, -5, 2))
    u = np.arctanh(np.clip(actions.numpy()[:, 0] / 2.0, -0.999999, 0.999999))
    gaussian = -0.5 * ((u - mu) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    expected = gaussian - np.log(1 - np.tanh(u) ** 2 + 1e-6)
    np.testing.assert_allclose(log_prob.numpy(), expected, rtol=1e-3, atol=1e-3)


def test_sample_layer_is_a_keras_layer_that_saves_its_bounds():
    layer = continuous.SampleLayer([-2.0], [2.0], seed=3, name="sample")
    mu, log_std = keras.Input(shape=(1,)), keras.Input(shape=(1,))
    action, log_prob = layer([mu, log_std])
    assert tuple(action.shape) == (None, 1) and tuple(log_prob.shape) == (None,)
    copy = continuous.SampleLayer.from_config(layer.get_config())
    assert (copy.low, copy.high, copy.seed) == ([-2.0], [2.0], 3)


def test_updates_change_the_actor_and_report_the_losses():
    agent, batch = initialized_agent()
    states = np.stack([e.s for e in batch])
    before = agent.greedy_actions(states)
    critic_loss, actor_loss, alpha = agent.update(batch, 0.99)
    assert np.isfinite([critic_loss, actor_loss]).all() and alpha == pytest.approx(1.0, rel=0.01)
    assert not np.allclose(agent.greedy_actions(states), before)


def test_save_and_load_round_trip_predictions_exactly(tmp_path):
    agent, batch = initialized_agent()
    agent.update(batch, 0.99)
    path = agent.save(tmp_path / "actor.keras")
    loaded = PolicyGradientContinuousAgent.load(make_env(), path)
    states = np.stack([e.s for e in batch])
    for mine, theirs in zip(agent.model(states), loaded.model(states)):
        assert np.array_equal(mine.numpy(), theirs.numpy())
    assert np.array_equal(loaded.greedy_actions(states), agent.greedy_actions(states))


def test_main_trains_saves_and_plays(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as error:
        continuous.main(["--play"])
    assert error.value.code == 2
    monkeypatch.setattr(PolicyGradientContinuousTrainer.__init__, "__defaults__",
                        (100000, 128, 0.99, 10, "", 1e-3, 200, 25))
    rewards = continuous.main(["--episodes", "2", "--no-show"])
    assert len(rewards) == 2 and all(-2000 < r <= 0 for r in rewards)
    assert len(continuous.main(["--play"])) == 5


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0, 1))
def test_learns_pendulum_clearly_better_than_random(tmp_path, seed, margin):
    env = make_env()
    set_seed(seed, env.env)
    trainer = PolicyGradientContinuousTrainer(log_dir=tmp_path)
    trainer.train(env, episode_count=24)
    random_play = np.mean(trainer.reward_log[:5])  # the first 1,000 steps act at random
    assert random_play < -900
    margin("mean of the last 4 episodes", np.mean(trainer.reward_log[-4:]), above=-500)
