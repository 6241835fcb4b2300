"""A2C: n-step returns, the loss against a hand computation, SampleLayer, saving, the script."""

from common import set_seed

import keras
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from FN import a2c_agent
from FN.a2c_agent import (
    ActorCriticAgent,
    ActorCriticAgentTest,
    ActorCriticTrainer,
    SampleLayer,
    actor_critic_loss,
    gumbel_max,
    n_step_returns,
)
from FN.fast_forward import softmax
from FN.fn_framework import CartPoleObserver, Experience, evaluate, make_cartpole
from tests.learning_margins import learning_seeds


def initialized_agent(normalize_advantages=True, seed=0):
    set_seed(seed)
    agent = ActorCriticAgentTest([0, 1])
    sample = [Experience(np.zeros(4, np.float32), 0, 1.0, np.zeros(4, np.float32), False)]
    agent.initialize(sample, keras.optimizers.Adam(1e-3), value_loss_weight=0.5,
                     entropy_weight=0.01, normalize_advantages=normalize_advantages)
    return agent


def loss_terms(agent, states, actions, returns, mask, value_loss_weight=0.5,
               entropy_weight=0.01, normalize_advantages=True):
    """``actor_critic_loss`` of the agent's network on a batch, as its update computes it."""
    _, logits, values = agent.model(tf.constant(states), training=True)
    return actor_critic_loss(logits, tf.squeeze(values, axis=1), tf.constant(actions, tf.int32),
                             tf.constant(returns), tf.constant(mask),
                             agent.categorical_entropy(logits), value_loss_weight,
                             entropy_weight, normalize_advantages)


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
    computed = [float(term) for term in loss_terms(agent, states, actions, returns, mask,
                                                   normalize_advantages=normalize)]
    np.testing.assert_allclose(computed, [loss, policy_loss, value_loss, entropy],
                               rtol=1e-4, atol=1e-6)
    assert agent.update(states, actions, returns, mask)[0] == pytest.approx(loss, rel=1e-4)


def test_advantage_does_not_train_the_critic_through_the_actor_loss():
    """With only the policy term, the value head's weights must get no gradient."""
    agent = initialized_agent(normalize_advantages=False)
    states = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = loss_terms(agent, states, np.array([0, 1, 0, 1, 0, 1], np.int32),
                          np.ones(6, np.float32), np.ones(6, np.float32), value_loss_weight=0.0,
                          entropy_weight=0.0, normalize_advantages=False)[0]
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
    with pytest.raises(ValueError):
        agent.make_model((80, 80))
    with pytest.raises(ValueError, match="vector"):
        ActorCriticTrainer(log_dir=tmp_path).train(make_cartpole(), episode_count=1)


def test_book_defaults_give_four_steps_per_environment_between_updates(tmp_path, read_scalars):
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
    # CartPole pays 1 a step: each recorded return is its episode's length, and the finished
    # episodes hold at most the steps played (a reset step counted as a transition, or an
    # episode recorded twice, would break one of these).
    scalars = read_scalars(tmp_path / "actor_critic")
    returns = [value for _, value in scalars["charts/episodic_return"]]
    lengths = [value for _, value in scalars["charts/episodic_length"]]
    assert returns == lengths == trainer.reward_log and len(returns) >= 10
    assert trainer.total_steps - 8 * 500 < sum(returns) <= trainer.total_steps


def test_the_framework_hooks_run_with_batches(tmp_path):
    """A2C honours the framework: ``step`` gets each step of all environments as one batch,
    ``episode_end`` each finished episode, and ``episode_begin`` the next one."""

    class Recording(ActorCriticTrainer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.calls = []

        def episode_begin(self, episode, agent):
            self.calls.append(("begin", episode))

        def step(self, episode, step_count, agent, experience):
            self.calls.append(("step", step_count, np.shape(experience.s), np.shape(experience.a)))
            super().step(episode, step_count, agent, experience)

        def episode_end(self, episode, step_count, agent):
            self.calls.append(("end", episode, step_count))
            super().episode_end(episode, step_count, agent)

    trainer = Recording(log_dir=tmp_path)
    env = make_cartpole(num_envs=4)
    set_seed(0, env.env)
    trainer.train(env, episode_count=1000, test_mode=True, max_steps=400)
    steps = [call for call in trainer.calls if call[0] == "step"]
    assert [call[1] for call in steps] == list(range(len(steps)))
    assert all(call[2] == (4, 4) and call[3] == (4,) for call in steps)
    ends = [call for call in trainer.calls if call[0] == "end"]
    begins = [call for call in trainer.calls if call[0] == "begin"]
    assert [call[1] for call in ends] == list(range(len(trainer.reward_log)))
    assert [call[2] for call in ends] == trainer.reward_log  # CartPole pays 1 a step
    assert [call[1] for call in begins] == list(range(len(ends) + 1))
    assert trainer.calls[0] == ("begin", 0) and trainer.training_count > 0


def test_set_updater_keeps_the_books_arguments_and_defaults():
    import inspect

    parameters = inspect.signature(ActorCriticAgent.set_updater).parameters
    assert list(parameters)[1:4] == ["optimizer", "value_loss_weight", "entropy_weight"]
    assert (parameters["value_loss_weight"].default, parameters["entropy_weight"].default) == (
        1.0, 0.1)
    assert list(inspect.signature(ActorCriticTrainer.make_batch).parameters) == ["self", "agent"]


def test_make_batch_bootstraps_the_rollout_from_the_critic(tmp_path):
    """The book's make_batch(agent): the rollout in the buffer, with n-step returns whose tail
    is the agent's own V of the states the rollout ended in."""
    agent = initialized_agent()
    trainer = ActorCriticTrainer(batch_size=6, gamma=0.5, log_dir=tmp_path)
    rollout = trainer.make_buffer(make_cartpole(num_envs=2))
    assert rollout.states.shape == (3, 2, 4)
    rollout.states[:] = np.random.default_rng(0).normal(size=(3, 2, 4))
    rollout.rewards[:] = 1.0
    rollout.valid[:] = True
    rollout.terminated[2, 1] = 1.0  # environment 1 really ends at the last step
    rollout.last_states = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    trainer.experiences = rollout
    states, actions, returns, mask = trainer.make_batch(agent)
    _, last_values = agent.evaluate_states(rollout.last_states)
    tail = np.array([last_values[0], 0.0])
    expected = np.stack([1 + 0.5 + 0.25 + 0.125 * tail, 1 + 0.5 + 0.25 * tail, 1 + 0.5 * tail])
    np.testing.assert_allclose(returns.reshape(3, 2), expected, rtol=1e-5)
    assert states.shape == (6, 4) and mask.tolist() == [1.0] * 6


def test_main_trains_saves_and_plays_greedily(capsys, tmp_path, monkeypatch, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    trainer = a2c_agent.main(["--test", "--steps", "2000", "--envs", "4", "--no-show"])
    assert trainer.training and trainer.total_steps >= 2000
    (run,) = run_folders(tmp_path, "a2c_agent", "cartpole")
    assert str(run / "a2c_agent_test.keras") in capsys.readouterr().out

    # --play acts as the evaluations do: the greedy action, never one drawn from the policy.
    def no_sampling(logits):
        raise AssertionError("--play drew an action from the policy")

    monkeypatch.setattr(a2c_agent, "gumbel_max", no_sampling)
    monkeypatch.setattr(np.random, "choice", no_sampling)
    rewards = a2c_agent.main(["--test", "--play"])
    assert len(rewards) == 5 and "(greedy)" in capsys.readouterr().out


def test_main_reports_a_missing_model_and_bad_arguments(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for argv in (["--test", "--play"], ["--test", "--envs", "0"], ["--envs", "-1"],
                 ["--steps", "nan"], ["--seed", "4294967296"]):
        with pytest.raises(SystemExit) as error:
            a2c_agent.main(argv)
        assert error.value.code == 2
    err = capsys.readouterr().err
    assert "no trained model under" in err and "python FN/a2c_agent.py --test" in err
    assert "argument --envs: must be 1 or more, got 0" in err
    assert "argument --steps: must be a whole number, got 'nan'" in err


class TruncatingEnvs(VectorEnv):
    """Two environments whose episodes never end for real: a time limit cuts them after 3
    and 5 steps. Reward 1 a step; the state is the step count. Resets come on the next step,
    as gymnasium's vector environments do."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self):
        self.num_envs = 2
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, 2)
        self.action_space = batch_space(self.single_action_space, 2)
        self.limits = np.array([3, 5])
        self.counts = np.zeros(2, dtype=int)
        self.resetting = np.zeros(2, dtype=bool)

    def states(self):
        return np.repeat(self.counts[:, None], 4, axis=1).astype(np.float32)

    def reset(self, seed=None, options=None):
        self.counts[:] = 0
        self.resetting[:] = False
        return self.states(), {}

    def step(self, actions):
        rewards = np.where(self.resetting, 0.0, 1.0)
        self.counts = np.where(self.resetting, 0, self.counts + 1)
        truncated = ~self.resetting & (self.counts >= self.limits)
        self.resetting = truncated
        return self.states(), rewards, np.zeros(2, dtype=bool), truncated, {}


def test_a_time_limit_is_not_the_end_of_the_episode(tmp_path, monkeypatch):
    """The rollout keeps truncation apart from termination: with a critic that says V = 10
    everywhere and episodes that are only ever truncated, every return bootstraps from V, so
    none is below 1 + γ·10. Treating the time limit as termination would make the return of
    each truncated step its reward alone (1)."""
    def evaluate_states(self, states):
        return np.zeros((len(states), 2), np.float32), np.full(len(states), 10.0, np.float32)

    monkeypatch.setattr(ActorCriticAgent, "evaluate_states", evaluate_states)
    batches = []
    original = ActorCriticTrainer.make_batch

    def make_batch(self, agent):
        batches.append(original(self, agent))
        return batches[-1]

    monkeypatch.setattr(ActorCriticTrainer, "make_batch", make_batch)
    set_seed(0)
    trainer = ActorCriticTrainer(batch_size=8, gamma=0.9, log_dir=tmp_path)
    trainer.train(CartPoleObserver(TruncatingEnvs()), test_mode=True, max_steps=60)
    assert len(trainer.reward_log) >= 10 and set(trainer.reward_log) == {3.0, 5.0}
    returns = np.concatenate([batch[2][batch[3] > 0] for batch in batches])
    assert len(returns) > 40 and returns.min() >= 1 + 0.9 * 10 - 1e-5


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2, 3, 4))
def test_test_mode_learns_cartpole(tmp_path, seed, margin):
    # Every seed of 0-4 (about a second each): each reaches 480 or more.
    trainer, env = a2c_agent.make_run(test_mode=True, seed=seed, log_dir=str(tmp_path))
    agent = trainer.train(env, test_mode=True, max_steps=a2c_agent.TEST_MODE_MAX_STEPS)
    margin("best evaluation", trainer.evaluation.best, above=450)
    # A fresh, independent evaluation of the kept weights on other episodes.
    returns = evaluate(agent, make_cartpole(num_envs=20), episode_count=20, seed=123)
    margin("fresh mean return", returns.mean(), above=450)
