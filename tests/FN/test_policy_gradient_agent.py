"""REINFORCE: discounted returns, on-policy batches, saving and loading, the script, learning."""

from common import set_seed

import gymnasium as gym
import keras
import numpy as np
import pytest

from FN import policy_gradient_agent
from FN.fn_framework import Experience, Observer
from FN.policy_gradient_agent import (
    CartPoleObserver,
    PolicyGradientAgent,
    PolicyGradientTrainer,
    discounted_returns,
)
from tests.learning_margins import learning_seeds


def random_experiences(count, seed=0):
    rng = np.random.default_rng(seed)
    return [Experience(rng.normal(size=4).astype(np.float32), int(rng.integers(2)), 1.0,
                       rng.normal(size=4).astype(np.float32), False) for _ in range(count)]


def initialized_agent(seed=0):
    set_seed(seed)
    agent = PolicyGradientAgent([0, 1])
    agent.initialize(random_experiences(64), keras.optimizers.Adam(1e-2))
    return agent


def test_discounted_returns_sum_the_future():
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], 0.5),
                               [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])


def test_batch_is_the_episode_with_standardized_returns(tmp_path):
    trainer = PolicyGradientTrainer(gamma=0.9, log_dir=tmp_path)
    episode = random_experiences(7)
    states, actions, returns = trainer.make_batch(episode)
    assert states.shape == (7, 4) and list(actions) == [e.a for e in episode]
    expected = discounted_returns([1.0] * 7, 0.9)
    np.testing.assert_allclose(returns, (expected - expected.mean()) / expected.std())


def test_updates_use_only_the_episode_that_just_ended(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(PolicyGradientAgent, "update",
                        lambda self, states, actions, rewards: seen.append(len(states)) or 0.0)
    env = CartPoleObserver(gym.make("CartPole-v1"))
    set_seed(0, env.env)
    trainer = PolicyGradientTrainer(buffer_size=64, log_dir=tmp_path)
    trainer.train(env, episode_count=8)
    assert seen, "training never started"
    # One update per training episode, each exactly as long as that episode.
    assert seen == [int(r) for r in trainer.reward_log[-len(seen):]]


class LongWalk(gym.Env):
    """Episodes of exactly ``length`` steps, reward 1 each; the state tells the step."""

    observation_space = gym.spaces.Box(-1.0, 1000.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length):
        self.length = length
        self.t = 0

    def _state(self):
        return np.array([self.t, np.sin(self.t)], dtype=np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._state(), {}

    def step(self, action):
        self.t += 1
        return self._state(), 1.0, self.t >= self.length, False, {}


class WalkObserver(Observer):
    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


def test_an_episode_longer_than_the_buffer_is_learned_from_every_step(tmp_path, monkeypatch):
    """The book's get_recent(step_count) read the episode back from a 256-slot buffer: a
    500-step episode wrapped around, dropping its first steps and repeating others, out of
    line with their returns. Here every step of the episode, in order, meets its own return."""
    batches = []
    monkeypatch.setattr(PolicyGradientAgent, "update",
                        lambda self, states, actions, returns: batches.append(
                            (states, actions, returns)) or 0.0)
    trainer = PolicyGradientTrainer(buffer_size=16, gamma=0.9, log_dir=tmp_path)
    set_seed(0)
    trainer.train(WalkObserver(LongWalk(40)), episode_count=3)
    # Training starts in episode 0 (its buffer of 16 fills); episodes 1 and 2 are learned.
    assert len(batches) == 2
    expected = discounted_returns([1.0] * 40, 0.9)
    expected = (expected - expected.mean()) / expected.std()
    for states, actions, returns in batches:
        np.testing.assert_array_equal(states[:, 0], np.arange(40))
        np.testing.assert_allclose(returns, expected, rtol=1e-6)
        assert len(actions) == 40


def test_the_loss_is_the_mean_log_probability_weighted_by_returns():
    agent = initialized_agent()
    states = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    actions = np.array([0, 1, 1, 0, 0, 1])
    weights = np.array([1.0, -1.0, 0.5, 0.0, 2.0, -0.3], dtype=np.float32)
    probs = agent.probabilities(states)
    expected = -np.mean(np.log(probs[np.arange(6), actions]) * weights)
    loss = float(agent.policy_loss(states, actions, weights))
    assert loss == pytest.approx(expected, rel=1e-4)
    assert agent.update(states, actions, weights) == pytest.approx(expected, rel=1e-4)
    # After the step, the actions with positive weight became more likely.
    after = agent.probabilities(states)
    assert after[0, 0] > probs[0, 0] and after[1, 1] < probs[1, 1]


def test_save_and_load_round_trip_predictions_exactly(tmp_path):
    agent = initialized_agent()
    path = agent.save(tmp_path / "pg.keras")
    loaded = PolicyGradientAgent.load(CartPoleObserver(gym.make("CartPole-v1")), path)
    states = np.random.default_rng(2).normal(size=(10, 4)).astype(np.float32)
    assert np.array_equal(loaded.model(states).numpy(), agent.model(states).numpy())
    np.testing.assert_allclose(loaded.probabilities(states), agent.model(states).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_main_trains_saves_and_plays(capsys, tmp_path, monkeypatch, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as error:
        policy_gradient_agent.main(["--play"])
    assert error.value.code == 2 and "no trained model" in capsys.readouterr().err
    rewards = policy_gradient_agent.main(["--episodes", "30", "--no-show"])
    assert len(rewards) == 30
    (run,) = run_folders(tmp_path, "policy_gradient_agent")
    assert (run / "policy_gradient_agent.keras").is_file()
    assert len(policy_gradient_agent.main(["--play"])) == 5
    assert len(policy_gradient_agent.main(
        ["--play", "--model", str(run / "policy_gradient_agent.keras")])) == 5


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0, 1))
def test_reinforce_improves_clearly_over_random(tmp_path, seed, margin):
    env = CartPoleObserver(gym.make("CartPole-v1"))
    set_seed(seed, env.env)
    trainer = PolicyGradientTrainer(log_dir=tmp_path)
    trainer.train(env, episode_count=170)
    random_play = np.mean(trainer.reward_log[:10])  # before training starts: random actions
    assert random_play < 30
    margin("last 20 ÷ first 10 episodes", np.mean(trainer.reward_log[-20:]) / random_play,
           above=4)
