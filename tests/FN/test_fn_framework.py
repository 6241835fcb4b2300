"""The FN framework: hook order, the Observer's termination/truncation handling, the replay
buffer, the fast forward passes, evaluation, logging, and Ctrl-C."""

import subprocess
import sys
from collections import deque

from common import ROOT

import gymnasium as gym
import keras
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from FN.fast_forward import BranchedForward, DenseForward
from FN.fn_framework import (
    Experience,
    FNAgent,
    Logger,
    Observer,
    Trainer,
    evaluate,
)
from FN.replay_buffer import ReplayBuffer


class LineEnv(gym.Env):
    """A walk on a line: the state is the step count, reward 1 a step, and the episode
    terminates when the count reaches ``terminate_at`` (never when it is None)."""

    observation_space = gym.spaces.Box(0.0, 1000.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, terminate_at=None):
        self.terminate_at = terminate_at
        self.count = 0

    def _obs(self):
        return np.array([self.count, 0.0], dtype=np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.count = 0
        return self._obs(), {}

    def step(self, action):
        self.count += 1
        terminated = self.terminate_at is not None and self.count >= self.terminate_at
        return self._obs(), 1.0, terminated, False, {}


class IdentityObserver(Observer):
    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


class RecordingAgent(FNAgent):
    def __init__(self, epsilon=0.0, actions=(0, 1)):
        super().__init__(epsilon, list(actions))

    def initialize(self, experiences):
        self.initialized = True

    def estimate(self, s):
        return np.array([1.0, 0.0])


class RecordingTrainer(Trainer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def episode_begin(self, episode, agent):
        self.calls.append(("episode_begin", episode))

    def begin_train(self, episode, agent):
        self.calls.append(("begin_train", episode))
        agent.initialize(self.experiences)

    def step(self, episode, step_count, agent, experience):
        self.calls.append(("step", episode, step_count))

    def episode_end(self, episode, step_count, agent):
        self.calls.append(("episode_end", episode, step_count))


def test_hooks_are_called_in_order(tmp_path):
    env = IdentityObserver(LineEnv(terminate_at=3))
    trainer = RecordingTrainer(buffer_size=5, log_dir=tmp_path)
    agent = RecordingAgent()
    trainer.train_loop(env, agent, episode=3)
    expected = [
        ("episode_begin", 0), ("step", 0, 0), ("step", 0, 1), ("step", 0, 2),
        ("episode_end", 0, 3),
        ("episode_begin", 1), ("step", 1, 0),
        # The buffer (5 experiences) fills at the fifth step: training begins before its step.
        ("begin_train", 1), ("step", 1, 1), ("step", 1, 2),
        ("episode_end", 1, 3),
        ("episode_begin", 2), ("step", 2, 0), ("step", 2, 1), ("step", 2, 2),
        ("episode_end", 2, 3),
    ]
    assert trainer.calls == expected
    assert trainer.reward_log == [3.0, 3.0, 3.0]
    assert trainer.training_count == 2  # episodes 1 and 2 ended while training
    assert trainer.total_steps == 9


def test_initial_count_starts_training_after_that_many_episodes(tmp_path):
    trainer = RecordingTrainer(buffer_size=1000, log_dir=tmp_path)
    trainer.train_loop(IdentityObserver(LineEnv(terminate_at=2)), RecordingAgent(), episode=3,
                       initial_count=1)
    assert trainer.calls.index(("begin_train", 1)) == trainer.calls.index(("episode_end", 1, 2)) + 1


def test_max_steps_stops_in_the_middle_of_an_episode_without_recording_it(tmp_path):
    trainer = RecordingTrainer(buffer_size=1000, log_dir=tmp_path)
    trainer.train_loop(IdentityObserver(LineEnv(terminate_at=4)), RecordingAgent(), episode=10,
                       max_steps=6)
    assert trainer.total_steps == 6
    assert trainer.reward_log == [4.0]
    assert trainer.calls[-1] == ("step", 1, 1)


def test_observer_separates_truncation_from_termination():
    truncating = IdentityObserver(TimeLimit(LineEnv(terminate_at=None), max_episode_steps=2))
    truncating.reset(seed=0)
    _, _, done, info = truncating.step(0)
    assert not done and not info["terminated"] and not info["truncated"]
    _, reward, done, info = truncating.step(0)
    assert done and info["truncated"] and not info["terminated"] and reward == 1.0

    terminating = IdentityObserver(TimeLimit(LineEnv(terminate_at=2), max_episode_steps=10))
    terminating.reset()
    terminating.step(0)
    _, _, done, info = terminating.step(0)
    assert done and info["terminated"] and not info["truncated"]


@pytest.mark.parametrize("terminate_at, limit, last_d", [(None, 3, False), (3, 10, True)])
def test_trainer_stores_only_termination_as_terminal(tmp_path, terminate_at, limit, last_d):
    env = IdentityObserver(TimeLimit(LineEnv(terminate_at=terminate_at), max_episode_steps=limit))
    trainer = RecordingTrainer(buffer_size=100, log_dir=tmp_path)
    trainer.train_loop(env, RecordingAgent(), episode=1)
    stored = list(trainer.experiences)
    assert len(stored) == 3  # the episode ended after 3 steps either way
    assert [bool(e.d) for e in stored] == [False, False, last_d]
    assert np.array_equal(stored[-1].n_s, [3.0, 0.0])


def test_observer_over_a_vector_environment_gives_batches():
    env = IdentityObserver(gym.make_vec("CartPole-v1", num_envs=3,
                                        vectorization_mode="vector_entry_point"))
    assert env.is_vector and env.num_envs == 3
    states = env.reset(seed=0)
    assert states.shape == (3, 4)
    states, rewards, dones, info = env.step(np.zeros(3, dtype=np.int64))
    assert states.shape == (3, 4) and dones.shape == (3,)
    assert np.array_equal(dones, info["terminated"] | info["truncated"])


def test_stubs_raise_not_implemented_with_a_message():
    agent = FNAgent(0.1, [0, 1])
    for call in (lambda: agent.initialize([]), lambda: agent.estimate(None),
                 lambda: agent.update([], 0.9)):
        with pytest.raises(NotImplementedError, match="must implement"):
            call()
    with pytest.raises(NotImplementedError, match="transform"):
        Observer(LineEnv()).transform(None)


def test_policy_is_random_before_initialization_and_greedy_after():
    np.random.seed(0)
    agent = RecordingAgent(epsilon=0.0)
    assert set(agent.policy(None) for _ in range(50)) == {0, 1}
    agent.initialized = True
    assert {agent.policy(None) for _ in range(20)} == {0}


def test_trainer_name_is_snake_case_without_trainer(tmp_path):
    class DeepQNetworkTrainer(Trainer):
        pass

    assert DeepQNetworkTrainer(log_dir=tmp_path).trainer_name == "deep_q_network"
    assert Trainer(log_dir=tmp_path).is_event(20, 10)
    assert not Trainer(log_dir=tmp_path).is_event(0, 10)


def test_replay_buffer_behaves_like_a_bounded_deque():
    buffer = ReplayBuffer(3)
    for i in range(5):
        buffer.append(Experience(np.array([i, i], np.float32), i % 2, float(i),
                                 np.array([i + 1, i + 1], np.float32), i == 4))
    assert len(buffer) == 3
    assert [buffer[i].r for i in range(3)] == [2.0, 3.0, 4.0]
    assert buffer[-1].d == 1.0 and buffer[0].a == 0
    np.random.seed(1)
    batch = buffer.sample(4, n_batches=5)
    assert batch.s.shape == (5, 4, 2) and batch.a.shape == (5, 4)
    assert set(np.unique(batch.r)) <= {2.0, 3.0, 4.0}
    # Every sampled transition is a stored one: next state = state + 1, reward = state.
    assert np.array_equal(batch.n_s, batch.s + 1) and np.array_equal(batch.r, batch.s[..., 0])
    with pytest.raises(IndexError):
        buffer[3]


def test_numpy_forward_passes_match_keras():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    logits = keras.layers.Dense(2)(hidden)
    value = keras.layers.Dense(1, activation="relu")(hidden)
    model = keras.Model(inputs, [logits, value])
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    forward = BranchedForward([model.layers[1]], [[model.layers[2]], [model.layers[3]]])
    for mine, theirs in zip(forward(x), model(x)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-6)
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                   keras.layers.Dense(2, activation="softmax")])
    dense = DenseForward(sequential.layers)
    np.testing.assert_allclose(dense(x), sequential(x).numpy(), rtol=1e-5, atol=1e-6)
    # After training changes the weights, sync() brings the copy up to date.
    sequential.layers[0].kernel.assign(sequential.layers[0].kernel * 2.0)
    dense.sync()
    np.testing.assert_allclose(dense(x), sequential(x).numpy(), rtol=1e-5, atol=1e-6)


def test_evaluate_counts_one_episode_per_vector_environment():
    class AlwaysLeft(RecordingAgent):
        def greedy_actions(self, states):
            return np.zeros(len(states), dtype=np.int64)

    vector = IdentityObserver(gym.make_vec("CartPole-v1", num_envs=4,
                                           vectorization_mode="vector_entry_point"))
    returns = evaluate(AlwaysLeft(), vector, episode_count=8, seed=3)
    assert returns.shape == (8,)
    # Pushing left all the time drops the pole within a few dozen steps, never instantly.
    assert np.all((returns >= 5) & (returns <= 30))
    with pytest.raises(ValueError, match="multiple"):
        evaluate(AlwaysLeft(), vector, episode_count=6)
    with pytest.raises(ValueError):  # one environment: a batch is needed
        evaluate(AlwaysLeft(), IdentityObserver(gym.make("CartPole-v1")), episode_count=2)


def test_logger_writes_scalars_images_plots_and_describes(tmp_path, capsys, read_scalars):
    logger = Logger(tmp_path, "run")
    for step in range(3):
        logger.write(step, "charts/episodic_return", step * 1.5)
    logger.write(2, "losses/td_loss", 0.25)
    logger.write_image(0, np.random.default_rng(0).random((2, 8, 8)))
    logger.flush()
    scalars = read_scalars(tmp_path / "run")
    assert scalars["charts/episodic_return"] == [(0, 0.0), (1, 1.5), (2, 3.0)]
    assert scalars["losses/td_loss"] == [(2, 0.25)]
    assert logger.describe("reward", [1, 2, 3], episode=10) == "reward is 2.0 (+/-0.816)"
    assert "At episode 10, reward is 2.0 (+/-0.816)" in capsys.readouterr().out
    path = logger.plot("Rewards", list(range(25)), interval=10, show=False)
    assert path == tmp_path / "rewards_history.png" and path.stat().st_size > 0
    csv = logger.path_of("rewards_history.csv").read_text().splitlines()
    assert csv[0] == "history,run,episode,value" and len(csv) == 26
    assert csv[-1] == "rewards,0,25,24"
    with pytest.raises(ValueError):
        logger.write_image(0, np.zeros((2, 3)))


def test_ctrl_c_stops_the_loop_cleanly(tmp_path):
    class InterruptedTrainer(RecordingTrainer):
        def step(self, episode, step_count, agent, experience):
            super().step(episode, step_count, agent, experience)
            if self.total_steps == 4:
                raise KeyboardInterrupt

    trainer = InterruptedTrainer(buffer_size=2, log_dir=tmp_path)
    agent = RecordingAgent()
    trainer.train_loop(IdentityObserver(LineEnv(terminate_at=3)), agent, episode=5)
    assert trainer.interrupted and agent.initialized
    assert trainer.total_steps == 4 and trainer.reward_log == [3.0]


def test_observed_states_of_training_episodes_become_tensorboard_images(tmp_path, summaries):
    import tensorflow as tf

    class FramesEnv(LineEnv):
        observation_space = gym.spaces.Box(0.0, 1.0, shape=(6, 5, 2), dtype=np.float32)

        def _obs(self):
            frames = np.zeros((6, 5, 2), dtype=np.float32)
            frames[..., -1] = self.count / 10.0  # the newest frame of the stack
            return frames

    trainer = RecordingTrainer(buffer_size=4, log_dir=tmp_path)
    assert trainer.to_image(np.zeros((6, 5, 2))).shape == (6, 5)
    trainer.train_loop(IdentityObserver(FramesEnv(terminate_at=3)), RecordingAgent(), episode=4,
                       observe_interval=1)
    images = summaries(tmp_path / "recording", "images")["frames"]
    width, height, *pngs = images[0]
    assert (int(width), int(height)) == (5, 6)
    picture = tf.io.decode_png(pngs[-1]).numpy()
    assert picture.shape == (6, 5, 1) and picture.max() > 0


def test_set_model_shows_the_network_in_tensorboard(tmp_path, summaries):
    """The book's Logger.set_model: the layers of the trained network, in the TEXT tab."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="hidden"),
                              keras.layers.Dense(2, name="out")], name="q_network")
    logger = Logger(tmp_path, "run")
    logger.set_model(model)
    logger.flush()
    (text,) = summaries(tmp_path / "run", "text")["model"]
    text = text.item().decode()
    assert "q_network" in text and "| hidden | Dense | 16 |" in text
    assert "| out | Dense | 10 |" in text


def test_the_buffer_is_made_for_each_run_from_the_environment(tmp_path):
    class FrameTrainer(RecordingTrainer):
        def make_buffer(self, env):
            self.shapes.append(env.observation_space.shape)
            return deque(maxlen=self.buffer_size)

    trainer = FrameTrainer(buffer_size=4, log_dir=tmp_path)
    trainer.shapes = []
    assert trainer.experiences is None  # nothing is built before the loop knows the states
    for _ in range(2):
        trainer.train_loop(IdentityObserver(LineEnv(terminate_at=2)), RecordingAgent(), episode=1)
    assert trainer.shapes == [(2,), (2,)] and len(trainer.experiences) == 2


def test_the_framework_imports_without_tensorflow():
    """The framework, its observers and the fast forms start without TensorFlow."""
    code = ("import sys, FN.fn_framework, FN.fast_forward, FN.replay_buffer; "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


def test_periodic_evaluation_keeps_the_best_weights_and_stops_at_the_target(tmp_path):
    from FN.fn_framework import PeriodicEvaluation

    class Model:
        def __init__(self):
            self.weights = 0

        def get_weights(self):
            return self.weights

        def set_weights(self, weights):
            self.weights = weights

    class Agent:
        initialized = True
        model = Model()
        refreshed = 0

        def refresh_forward(self):
            self.refreshed += 1

    scores = iter([0.2, 0.9, 0.5, 0.95])
    evaluation = PeriodicEvaluation(None, interval=100, episode_count=4, target=0.92,
                                    metric=lambda agent, env, count, seed: next(scores),
                                    metric_name="catch_rate")
    logger, agent = Logger(tmp_path, "run"), Agent()
    for steps in range(1, 360):
        agent.model.weights = steps  # training changes the weights at every step
        evaluation(agent, steps, logger=logger)
    assert evaluation.results == [(100, 0.2), (200, 0.9), (300, 0.5)]
    assert evaluation.solved_at is None
    evaluation.restore_best(agent)
    assert agent.model.weights == 200 and agent.refreshed == 1  # the best evaluation's weights
    evaluation(agent, 400, logger=logger)
    assert evaluation.solved_at == 400 and evaluation.best == 0.95
    evaluation.reset()
    assert evaluation.results == [] and evaluation.best_weights is None
    assert evaluation.solved_at is None
