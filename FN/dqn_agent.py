"""Day4: Deep Q-Network (DQN): a Q-function learned by a neural network, made stable.

A network Q(s, ·; θ) learns towards r + γ max_a' Q(s', a'), kept from diverging by experience
replay (a random batch from a large buffer), a frozen target network (the book's teacher) and
the Huber loss (``DeepQNetworkTrainer.step``, ``DeepQNetworkAgent.set_updater``).
``python FN/dqn_agent.py`` learns Catcher's pixels; ``--test`` CartPole-v1; ``--play`` watches.

Changes from the book (measurements and tuning history: doc/day4.md):
- the update is a ``tf.function`` with ``tf.GradientTape``; actions use a fast forward pass;
- Huber loss instead of the squared error; 40×40 frames, 2 stacked, instead of 80×80×4;
- the replay buffer is a ring of NumPy arrays (``FN/replay_buffer.py``);
- tuned settings per mode, in steps where the book counted episodes; the best weights kept.
"""

from collections import deque

from common import new_run_dir

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf
from gymnasium import spaces

from envs.catcher import GRAY_WEIGHTS, CatcherVectorEnv, area_weights
from FN.fast_forward import make_forward
from FN.fn_framework import (
    Experience,
    FNAgent,
    Observer,
    Trainer,
    catch_rate_score,
    make_cartpole,
    make_parser,
    play,
    prepare_run,
    stack_experiences,
    watch_render_mode,
)
from FN.replay_buffer import ReplayBuffer

# --test on CartPole-v1: the RL Zoo's tuned DQN with a smaller network (doc/day4.md).
TEST_MODE_SETTINGS = {
    "buffer_size": 50_000, "batch_size": 64, "gamma": 0.99, "initial_epsilon": 1.0,
    "final_epsilon": 0.04, "learning_rate": 2.3e-3, "train_interval": 256,
    "gradient_steps": 128, "teacher_update_steps": 256, "epsilon_decay_steps": 8_000,
    "learning_starts": 1_000,
}
TEST_MODE_MAX_STEPS = 50_000
TEST_MODE_EVALUATION = {"interval": 1_000, "episode_count": 20, "target": 475.0}
# Catcher as 40x40 frames, 2 stacked: the agent learns in as few steps as from the book's
# 80x80x4, each step costing a quarter. The evaluation's target None: all the steps are played.
CATCHER_SIZE, CATCHER_FRAMES, CATCHER_MAX_STEPS = 40, 2, 60_000
CATCHER_SETTINGS = {
    "buffer_size": 50_000, "batch_size": 64, "gamma": 0.99, "initial_epsilon": 1.0,
    "final_epsilon": 0.05, "learning_rate": 5e-4, "train_interval": 8, "gradient_steps": 1,
    "teacher_update_steps": 1_600, "epsilon_decay_steps": 30_000, "learning_starts": 2_000,
}
CATCHER_EVALUATION = {"interval": 5_000, "episode_count": 10, "target": None}


class DeepQNetworkAgent(FNAgent):
    """ε-greedy on a Q-network, trained against a frozen copy of itself (the teacher)."""

    def __init__(self, epsilon, actions):
        super().__init__(epsilon, actions)
        self._teacher_model = None
        self.optimizer = None
        self._train = None

    def initialize(self, experiences, optimizer):
        self.make_model(np.shape(experiences[0].s))
        self._teacher_model = keras.models.clone_model(self.model)
        self.update_teacher()
        self.set_updater(optimizer)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def make_model(self, feature_shape):
        """The book's network for stacked frames: three convolutions, 256 units, one value per
        action. ``padding="same"`` keeps a 5×5 grid on 40×40 frames: where the fruit is."""
        normal = keras.initializers.GlorotNormal()
        self.model = keras.Sequential([
            keras.Input(shape=tuple(feature_shape)),
            *(keras.layers.Conv2D(filters, kernel_size=size, strides=strides, padding="same",
                                  kernel_initializer=normal, activation="relu")
              for filters, size, strides in ((32, 8, 4), (64, 4, 2), (64, 3, 1))),
            keras.layers.Flatten(),
            keras.layers.Dense(256, kernel_initializer=normal, activation="relu"),
            keras.layers.Dense(len(self.actions), kernel_initializer=normal),
        ], name="q_network")
        # XLA compiles the gradients of convolutions into slower CPU code (doc/day4.md).
        self.jit_compile = False

    def set_updater(self, optimizer):
        """Compile the update: ``K`` gradient steps on ``K`` batches in one call."""
        self.optimizer = optimizer
        variables = self.model.trainable_variables
        self.optimizer.build(variables)

        def train(states, actions, rewards, next_states, terminals, gamma):
            total = tf.constant(0.0)
            for k in tf.range(tf.shape(states)[0]):
                # The TD target r + γ max_a' Q_teacher(s', a'), with no future where s' is
                # terminal. The teacher is frozen: its output is a constant, never trained.
                future = tf.reduce_max(self._teacher_model(next_states[k], training=False),
                                       axis=1)
                targets = tf.stop_gradient(rewards[k] + gamma * (1.0 - terminals[k]) * future)
                with tf.GradientTape() as tape:
                    values = self.model(states[k], training=True)
                    taken = tf.gather(values, actions[k], axis=1, batch_dims=1)
                    # Huber: ½e² for an error |e| ≤ 1, |e| − ½ beyond, so that a large error
                    # cannot blow the gradient up; the mean over the batch.
                    loss = keras.losses.huber(targets, taken)
                gradients = tape.gradient(loss, variables)
                self.optimizer.apply_gradients(zip(gradients, variables))
                total += loss
            return total / tf.cast(tf.shape(states)[0], tf.float32)

        self._train = tf.function(train, jit_compile=self.jit_compile)

    def refresh_forward(self):
        self.forward = make_forward(self.model)

    def estimate(self, state):
        return self.forward(np.asarray(state)[np.newaxis])[0]

    def update(self, experiences, gamma):
        """Learn from a batch (the book's list, or a sample); K stacked batches: K updates."""
        batch = stack_experiences(experiences)
        if np.ndim(batch.a) == 1:  # one batch: K = 1
            batch = Experience(*(np.asarray(field)[np.newaxis] for field in batch))
        loss = self._train(*batch, tf.constant(gamma, tf.float32))
        self.forward.sync()
        return float(loss)

    def update_teacher(self):
        """Copy the weights into the teacher, frozen until the next copy: steady targets."""
        for teacher, variable in zip(self._teacher_model.weights, self.model.weights):
            teacher.assign(variable)

    def greedy_actions(self, states):
        return np.asarray(self.forward(states)).argmax(axis=1)


class DeepQNetworkAgentTest(DeepQNetworkAgent):
    """The book's agent for a quick check on CartPole: a small MLP instead of the CNN."""

    def __init__(self, epsilon, actions):
        super().__init__(epsilon, actions)

    def make_model(self, feature_shape):
        self.model = keras.Sequential([
            keras.Input(shape=tuple(feature_shape)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(len(self.actions)),
        ], name="q_network")
        self.jit_compile = True  # XLA fuses the many small operations of an MLP's update


class CatcherObserver(Observer):
    """The book's observer for Catcher: gray, small, scaled, stacked frames, for one game or a
    batch (whose first episodes the evaluations count). A2C's form restarts games; tested equal."""

    def __init__(self, env, width, height, frame_count):
        super().__init__(env)
        self.width, self.height, self.frame_count = width, height, frame_count
        screen_height, screen_width = super().observation_space.shape[:2]
        self._rows = area_weights(screen_height, height)
        self._columns = area_weights(screen_width, width)
        self._frames = deque(maxlen=frame_count)

    @property
    def observation_space(self):
        return spaces.Box(0.0, 1.0, (self.height, self.width, self.frame_count), np.float32)

    def reset(self, seed=None):
        self._frames.clear()  # a new episode starts a new stack
        return super().reset(seed)

    def transform(self, state):
        gray = np.asarray(state, dtype=np.float32) @ GRAY_WEIGHTS
        # Each small pixel is the average of the screen pixels it covers (area resizing).
        small = np.rint(self._rows @ gray @ self._columns.T).astype(np.uint8)
        if not self._frames:
            self._frames.extend([small] * self.frame_count)  # the first frame fills the stack
        else:
            self._frames.append(small)
        feature = np.stack(self._frames, axis=-1)  # (height, width, frames), oldest first
        return feature.astype(np.float32) * np.float32(1.0 / 255.0)


def make_catcher(num_games=None, render_mode=None):
    """Catcher as the agent sees it: one game, or ``num_games`` at once."""
    game = (gym.make("Catcher-v0", render_mode=render_mode) if num_games is None
            else CatcherVectorEnv(num_games))
    return CatcherObserver(game, CATCHER_SIZE, CATCHER_SIZE, CATCHER_FRAMES)


class DeepQNetworkTrainer(Trainer):
    """DQN training: replay, a teacher refreshed now and then, a decaying ε. The keyword-only
    additions (defaults: the book's behaviour) count steps where the book counted episodes;
    ``gradient_steps`` updates every ``train_interval`` steps, after ``learning_starts``."""

    def __init__(self, buffer_size=50000, batch_size=32, gamma=0.99, initial_epsilon=0.5,
                 final_epsilon=1e-3, learning_rate=1e-3, teacher_update_freq=3,
                 report_interval=10, log_dir="", file_name="", *, train_interval=1,
                 gradient_steps=1, teacher_update_steps=0, epsilon_decay_steps=0,
                 learning_starts=0):
        super().__init__(buffer_size, batch_size, gamma, report_interval, log_dir)
        self.file_name = file_name if file_name else "dqn_agent.keras"
        self.initial_epsilon = initial_epsilon
        self.final_epsilon = final_epsilon
        self.learning_rate = learning_rate
        self.teacher_update_freq = teacher_update_freq
        self.train_interval = train_interval
        self.gradient_steps = gradient_steps
        self.teacher_update_steps = teacher_update_steps
        self.epsilon_decay_steps = epsilon_decay_steps
        self.learning_starts = learning_starts
        self.training_episodes = 0

    def make_buffer(self, env):
        return ReplayBuffer(self.buffer_size)  # the book's deque, as a ring of NumPy arrays

    def train(self, env, episode_count=1200, initial_count=200, test_mode=False, render=False,
              observe_interval=100, max_steps=None):
        agent_class = DeepQNetworkAgentTest if test_mode else DeepQNetworkAgent
        agent = agent_class(1.0, list(range(env.action_space.n)))
        observe_interval = 0 if test_mode else observe_interval  # no frames on CartPole
        self.training_episodes = episode_count
        initial_steps = self.learning_starts
        if max_steps:  # a run shorter than learning_starts (a quick try) learns from halfway
            initial_steps = min(initial_steps, max(1, max_steps // 2))
        self.train_loop(env, agent, episode_count, initial_count, render, observe_interval,
                        initial_steps=initial_steps, max_steps=max_steps)
        return agent

    def episode_begin(self, episode, agent):
        self.loss = 0.0
        self.loss_count = 0

    def begin_train(self, episode, agent):
        optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        agent.initialize(self.experiences, optimizer)
        self.logger.set_model(agent.model)
        agent.epsilon = self.initial_epsilon
        self.training_episodes -= episode

    def step(self, episode, step_count, agent, experience):
        if self.epsilon_decay_steps:
            progress = min(1.0, self.total_steps / self.epsilon_decay_steps)
            agent.epsilon = (self.initial_epsilon
                             + progress * (self.final_epsilon - self.initial_epsilon))
        if not self.training:
            return
        if self.teacher_update_steps and self.total_steps % self.teacher_update_steps == 0:
            agent.update_teacher()
        if self.total_steps % self.train_interval == 0:
            # Replay: a batch drawn at random from the buffer, not the last steps in order.
            n_batches = self.gradient_steps if self.gradient_steps > 1 else None
            batch = self.experiences.sample(self.batch_size, n_batches)
            self.loss += agent.update(batch, self.gamma)
            self.loss_count += 1

    def episode_end(self, episode, step_count, agent):
        self.report(episode)
        if not self.training:
            return
        if self.loss_count:
            self.logger.write(self.total_steps, "losses/td_loss", self.loss / self.loss_count)
        self.logger.write(self.total_steps, "charts/epsilon", agent.epsilon)
        if not self.teacher_update_steps and self.is_event(self.training_count,
                                                           self.teacher_update_freq):
            agent.update_teacher()
        if not self.epsilon_decay_steps:
            decay = (self.initial_epsilon - self.final_epsilon) / max(1, self.training_episodes)
            agent.epsilon = max(agent.epsilon - decay, self.final_epsilon)


def make_run(test_mode=False, seed=0, render=False, log_dir="", evaluation=None, **overrides):
    """``(trainer, env)`` as ``--test`` (CartPole-v1) or the default run (Catcher) trains, for
    ``trainer.train(env, test_mode=..., max_steps=...)``: the tuned settings (``overrides``
    replace entries), the environment seeded, the periodic evaluation (``evaluation``) set."""
    settings = TEST_MODE_SETTINGS if test_mode else CATCHER_SETTINGS
    evaluation = dict(TEST_MODE_EVALUATION if test_mode else CATCHER_EVALUATION,
                      **(evaluation or {}))
    trainer = DeepQNetworkTrainer(log_dir=log_dir, file_name="dqn_agent_test.keras"
                                  if test_mode else "", **dict(settings, **overrides))
    make_env = make_cartpole if test_mode else make_catcher
    env = make_env(render_mode=watch_render_mode(render))
    return prepare_run(trainer, env, seed, make_env(evaluation["episode_count"]), evaluation,
                       *(() if test_mode else (catch_rate_score, "catch_rate")))


def main(argv=None):
    parser = make_parser("Train a Deep Q-Network on Catcher from its pixels (or watch a trained "
                         "one). Use --test for CartPole-v1.", episodes=1200,
                         mode_steps=(CATCHER_MAX_STEPS, TEST_MODE_MAX_STEPS))
    args = parser.parse_args(argv)
    kind = "cartpole" if args.test else "catcher"
    if args.play:
        agent_class = DeepQNetworkAgentTest if args.test else DeepQNetworkAgent
        return play(args, __file__, agent_class, make_cartpole if args.test else make_catcher,
                    kind, gif=not args.test)
    print("テストモード (CartPole-v1) で学習します (train on test mode)" if args.test
          else "Catcher で学習します: 40x40 のグレースケール画像を 2 枚重ねて見ます "
               "(train on Catcher: 40x40 grayscale frames, 2 stacked)")
    trainer, env = make_run(args.test, args.seed, args.render,
                            log_dir=new_run_dir(__file__, kind=kind))
    max_steps = args.steps or (TEST_MODE_MAX_STEPS if args.test else CATCHER_MAX_STEPS)
    agent = trainer.train(env, args.episodes, initial_count=-1, test_mode=args.test,
                          render=args.render, max_steps=max_steps)
    env.close()
    trainer.finish(agent, trainer.file_name, show=not args.no_show)
    return trainer


if __name__ == "__main__":
    main()
