"""Day4: Deep Q-Network (DQN) — a Q-function learned by a neural network, made stable.

A network Q(s, ·; θ) outputs one value per action and is trained towards the Q-learning target
r + γ max_a' Q(s', a'). Naively this diverges. DQN adds three things, all here:

- **Experience replay**: transitions go into a large buffer, and each update uses a batch drawn
  at random from it, which breaks the correlation between consecutive steps;
- **A frozen target network** (the book's "teacher"): the target uses a copy of the network
  that is refreshed only now and then, so the target does not move with every update;
- **Clipping the error**: the Huber loss is quadratic for small TD errors and linear for large
  ones, which bounds the gradient as clipping the reward to [-1, 1] does.

``python FN/dqn_agent.py`` trains ``DeepQNetworkAgent``, the book's convolutional network, on
the Catcher game from its pixels, seen through ``CatcherObserver`` (``FN/catcher_observer.py``).
``--test`` trains the small MLP of ``DeepQNetworkAgentTest`` on CartPole-v1.

The book says this needs a GPU and takes days on a CPU. Here it takes minutes on two CPU
cores (``benchmarks/catcher.py`` measures it): 20,000 to 25,000 frames of play and one to two
minutes of training bring the greedy policy to a catch rate above 90%. What made it fast, each
measured before it was kept:

- a smaller input: 40×40 frames, 2 of them stacked, instead of the book's 80×80×4. It learns
  in as few steps (about 20,000 to 90% either way) and each step costs about a quarter. The
  book's network (three convolutions with ``padding="same"``, then 256 units) still keeps a
  5×5 grid of features on it. The padding matters: without it the last convolution shrinks
  the picture to 1×1, the network loses where the fruit is, and DQN stalled at a 60-70%
  catch rate;
- ``FrameReplayBuffer``: each frame stored once as uint8, 1.6 kB a step instead of 25.6 kB;
- one compiled update (``tf.function``, without XLA, whose CPU convolution gradients were
  three times slower) every 8 frames on a batch of 64, and a compiled forward pass to act;
- the Catcher settings (``CATCHER_SETTINGS``): ε from 1.0 to 0.05 over the first 30,000 steps,
  the teacher refreshed every 1,600 steps, Adam with a learning rate of 5e-4, learning from
  step 2,000. The greedy policy is evaluated on 10 games played at once every 5,000 steps, and
  the weights of the best evaluation are kept and saved.

Changes from the book, and why:

- TensorFlow 2 / Keras 3: the update is a ``tf.function`` (compiled with XLA for the MLP) with
  a ``tf.GradientTape``; one call runs ``gradient_steps`` updates back to back. Actions come
  from a NumPy copy of the MLP (``DenseForward``) or from a compiled forward pass of the CNN,
  never from ``model.predict``.
- The replay buffer is a set of preallocated NumPy arrays (``ReplayBuffer``, or
  ``FrameReplayBuffer`` for frames).
- The loss is the Huber loss (the book used the squared error on clipped rewards).
- The book refreshes the teacher every ``teacher_update_freq`` episodes, decays ε once per
  episode and updates once per step. Those stay the defaults. ``--test`` uses settings tuned
  for CartPole-v1 (``TEST_MODE_SETTINGS``, after the RL Zoo's tuned DQN, with a smaller
  network): 128 updates of batch 64 every 256 steps, the teacher refreshed before each of those
  bursts, ε from 1.0 to 0.04 over the first 8,000 steps, learning from step 1,000, Adam with a
  learning rate of 2.3e-3. ``--test`` also evaluates the greedy policy on 20 episodes every
  1,000 steps, stops once the mean reaches 475 (CartPole-v1's threshold), and keeps the best
  weights.
"""

from common import output_dir, set_seed

import keras
import numpy as np
import tensorflow as tf

from FN.catcher_observer import (
    catch_rate_score,
    make_catcher,
    report_catch_rates,
)
from FN.fn_framework import (
    Experience,
    FNAgent,
    FrameReplayBuffer,
    ReplayBuffer,
    Trainer,
    check_positive,
    finish_training,
    make_parser,
    play_catcher,
    require_model_file,
    stack_experiences,
    watch_render_mode,
)
from FN.value_function_agent import make_cartpole

HUBER_DELTA = 1.0
TEST_MODE_SETTINGS = {
    "buffer_size": 50_000,
    "batch_size": 64,
    "gamma": 0.99,
    "initial_epsilon": 1.0,
    "final_epsilon": 0.04,
    "learning_rate": 2.3e-3,
    "train_interval": 256,
    "gradient_steps": 128,
    "teacher_update_steps": 256,
    "epsilon_decay_steps": 8_000,
    "learning_starts": 1_000,
}
TEST_MODE_MAX_STEPS = 50_000
TEST_MODE_EVALUATION = {"interval": 1_000, "episode_count": 20, "target": 475.0}

# Catcher: what the network sees (width = height, frames stacked) and how it learns.
CATCHER_SIZE = 40
CATCHER_FRAMES = 2
CATCHER_SETTINGS = {
    "buffer_size": 50_000,
    "batch_size": 64,
    "gamma": 0.99,
    "initial_epsilon": 1.0,
    "final_epsilon": 0.05,
    "learning_rate": 5e-4,
    "train_interval": 8,
    "gradient_steps": 1,
    "teacher_update_steps": 1_600,
    "epsilon_decay_steps": 30_000,
    "learning_starts": 2_000,
}
CATCHER_MAX_STEPS = 60_000
# target None: train for all the steps, keep the best weights (no early stop at 90%).
CATCHER_EVALUATION = {"interval": 5_000, "episode_count": 10, "target": None}
OBSERVE_INTERVAL = 100


def huber(errors, delta=HUBER_DELTA):
    """The Huber loss of each error: ½e² when |e| ≤ δ, δ(|e| − ½δ) beyond."""
    absolute = tf.abs(errors)
    return tf.where(absolute <= delta, 0.5 * tf.square(errors), delta * (absolute - 0.5 * delta))


class DeepQNetworkAgent(FNAgent):
    """ε-greedy on a Q-network, trained against a frozen copy of itself (the teacher).

    ``make_model`` builds the book's convolutional network for stacked frames (height, width,
    frames), and an MLP for vector observations. The rest (teacher, updates, acting) works with
    any Keras model that maps states to action values.
    """

    hidden_units = (64, 64)
    # XLA fuses the small operations of an update; a big convolutional network may not need it.
    jit_compile = True

    def __init__(self, epsilon, actions):
        super().__init__(epsilon, actions)
        self._teacher_model = None
        self.optimizer = None
        self._train = None
        self._loss = None

    def initialize(self, experiences, optimizer):
        feature_shape = np.shape(experiences[0].s)
        self.make_model(feature_shape)
        self._teacher_model = keras.models.clone_model(self.model)
        self.update_teacher()
        self.set_updater(optimizer)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def make_cnn(self, feature_shape):
        """The book's network for frames: three convolutions, 256 units, one value per action.

        ``padding="same"`` as in the book: on 40×40 frames the last convolution still sees a
        5×5 grid, so the network knows where the fruit and the paddle are.
        """
        # XLA compiles the gradients of these convolutions into slower CPU code than
        # TensorFlow's own kernels (measured: three times slower); compile without it.
        self.jit_compile = False
        normal = keras.initializers.GlorotNormal()

        def conv(filters, size, strides):
            return keras.layers.Conv2D(filters, kernel_size=size, strides=strides,
                                       padding="same", kernel_initializer=normal,
                                       activation="relu")

        return keras.Sequential([
            keras.Input(shape=tuple(feature_shape)),
            conv(32, 8, 4),
            conv(64, 4, 2),
            conv(64, 3, 1),
            keras.layers.Flatten(),
            keras.layers.Dense(256, kernel_initializer=normal, activation="relu"),
            keras.layers.Dense(len(self.actions), kernel_initializer=normal),
        ], name="q_network")

    def make_mlp(self, feature_shape):
        layers = [keras.Input(shape=tuple(feature_shape))]
        layers += [keras.layers.Dense(units, activation="relu") for units in self.hidden_units]
        layers.append(keras.layers.Dense(len(self.actions)))
        return keras.Sequential(layers, name="q_network")

    def _batch_loss(self, states, actions, rewards, next_states, terminals, gamma):
        """Mean Huber TD error of one batch. Gradients flow into ``self.model`` only."""
        # The teacher is frozen: its output is a constant target, never differentiated.
        future = tf.reduce_max(self._teacher_model(next_states, training=False), axis=1)
        targets = tf.stop_gradient(rewards + gamma * (1.0 - terminals) * future)
        values = self.model(states, training=True)
        taken = tf.gather(values, actions, axis=1, batch_dims=1)
        return tf.reduce_mean(huber(targets - taken))

    def set_updater(self, optimizer):
        self.optimizer = optimizer
        self.optimizer.build(self.model.trainable_variables)
        variables = self.model.trainable_variables

        def train(states, actions, rewards, next_states, terminals, gamma):
            total = tf.constant(0.0)
            count = tf.shape(states)[0]
            for k in tf.range(count):
                with tf.GradientTape() as tape:
                    loss = self._batch_loss(states[k], actions[k], rewards[k],
                                            next_states[k], terminals[k], gamma)
                gradients = tape.gradient(loss, variables)
                self.optimizer.apply_gradients(zip(gradients, variables))
                total += loss
            return total / tf.cast(count, tf.float32)

        self._train = tf.function(train, jit_compile=self.jit_compile)
        self._loss = tf.function(self._batch_loss)

    @staticmethod
    def _as_batches(experiences):
        """An ``Experience`` of arrays with a leading axis of batches (one batch if needed)."""
        batch = stack_experiences(experiences)
        if np.ndim(batch.a) == 1:
            batch = Experience(*(np.asarray(field)[np.newaxis] for field in batch))
        return Experience(np.asarray(batch.s, dtype=np.float32),
                          np.asarray(batch.a, dtype=np.int32),
                          np.asarray(batch.r, dtype=np.float32),
                          np.asarray(batch.n_s, dtype=np.float32),
                          np.asarray(batch.d, dtype=np.float32))

    def update(self, experiences, gamma):
        """Train on a list of experiences (the book's call), or on ``ReplayBuffer.sample``'s
        arrays; with a leading axis of K batches, K updates run in one compiled call."""
        batch = self._as_batches(experiences)
        loss = self._train(*batch, tf.constant(gamma, dtype=tf.float32))
        self.forward.sync()
        return float(loss)

    def compute_loss(self, experiences, gamma):
        """The loss ``update`` would minimize on one batch, without training."""
        batch = self._as_batches(experiences)
        batch = Experience(*(field[0] for field in batch))
        return float(self._loss(*batch, tf.constant(gamma, dtype=tf.float32)))

    def update_teacher(self):
        for teacher, variable in zip(self._teacher_model.weights, self.model.weights):
            teacher.assign(variable)

    def teacher_estimate(self, states):
        return self._teacher_model(np.asarray(states, dtype=np.float32), training=False).numpy()

    def estimate(self, state):
        return self.forward(np.asarray(state)[np.newaxis])[0]

    def greedy_actions(self, states):
        return np.asarray(self.forward(states)).argmax(axis=1)


class DeepQNetworkAgentTest(DeepQNetworkAgent):
    """The book's agent for checking the code quickly: an MLP on CartPole's four numbers."""

    def make_model(self, feature_shape):
        self.model = self.make_mlp(feature_shape)


class DeepQNetworkTrainer(Trainer):
    """DQN training: replay, a periodically refreshed teacher and a decaying ε.

    The book's arguments keep their meaning and defaults. The keyword-only ones are additions
    (0 keeps the book's behaviour): ``train_interval`` and ``gradient_steps`` (every that many
    steps, that many updates), ``teacher_update_steps`` (refresh the teacher every that many
    steps instead of every ``teacher_update_freq`` episodes), ``epsilon_decay_steps`` (decay ε
    linearly over that many steps instead of over the training episodes) and
    ``learning_starts`` (start training after that many steps).
    """

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
        self.loss = 0.0
        self.loss_count = 0
        self.training_episodes = 0

    def make_buffer(self):
        # Stacks of frames (Catcher) go to a buffer that stores each frame once, as uint8.
        if getattr(self, "stacked_frames", False):
            return FrameReplayBuffer(self.buffer_size)
        return ReplayBuffer(self.buffer_size)

    def train(self, env, episode_count=1200, initial_count=200, test_mode=False, render=False,
              observe_interval=100, max_steps=None):
        actions = list(range(env.action_space.n))
        self.stacked_frames = len(env.observation_space.shape) == 3
        if not test_mode:
            agent = DeepQNetworkAgent(1.0, actions)
        else:
            agent = DeepQNetworkAgentTest(1.0, actions)
            observe_interval = 0
        self.training_episodes = episode_count
        self.train_loop(env, agent, episode_count, initial_count, render, observe_interval,
                        initial_steps=self.learning_starts, max_steps=max_steps)
        return agent

    def episode_begin(self, episode, agent):
        self.loss = 0.0
        self.loss_count = 0

    def begin_train(self, episode, agent):
        optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        agent.initialize(self.experiences, optimizer)
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
            diff = self.initial_epsilon - self.final_epsilon
            decay = diff / max(1, self.training_episodes)
            agent.epsilon = max(agent.epsilon - decay, self.final_epsilon)


def train_test_mode(seed=0, episode_count=1200, max_steps=TEST_MODE_MAX_STEPS, render=False,
                    log_dir="", **overrides):
    """Train ``DeepQNetworkAgentTest`` on CartPole-v1 with the tuned settings.

    Returns ``(trainer, agent)``. ``overrides`` replace entries of ``TEST_MODE_SETTINGS`` or of
    ``TEST_MODE_EVALUATION`` (``interval``, ``episode_count``, ``target``).
    """
    evaluation = {key: overrides.pop(key) if key in overrides else value
                  for key, value in TEST_MODE_EVALUATION.items()}
    settings = dict(TEST_MODE_SETTINGS, **overrides)
    env = make_cartpole(render_mode=watch_render_mode() if render else None)
    set_seed(seed, env.env)
    trainer = DeepQNetworkTrainer(log_dir=log_dir, file_name="dqn_agent_test.keras", **settings)
    trainer.set_evaluation(make_cartpole(num_envs=evaluation["episode_count"]),
                           evaluation["interval"], evaluation["episode_count"],
                           target=evaluation["target"], seed=seed * 100_000 + 10_000)
    agent = trainer.train(env, episode_count=episode_count, initial_count=-1, test_mode=True,
                          render=render, max_steps=max_steps)
    env.close()
    return trainer, agent


def make_catcher_observer(num_games=None, render_mode=None):
    """Catcher as ``DeepQNetworkAgent`` sees it: 40×40 grayscale frames, 2 stacked."""
    return make_catcher(CATCHER_SIZE, CATCHER_SIZE, CATCHER_FRAMES, num_games=num_games,
                        render_mode=render_mode)


def train_catcher(seed=0, episode_count=1200, max_steps=CATCHER_MAX_STEPS, render=False,
                  observe_interval=OBSERVE_INTERVAL, log_dir="", evaluation=None,
                  **overrides):
    """Train ``DeepQNetworkAgent`` on Catcher with the tuned settings.

    Returns ``(trainer, agent)``; the agent has the weights of its best evaluation.
    ``overrides`` replace entries of ``CATCHER_SETTINGS``, and ``evaluation`` entries of
    ``CATCHER_EVALUATION`` (``interval``, ``episode_count``, ``target``). A run
    shorter than ``learning_starts`` (a smoke test) starts learning halfway instead.
    """
    evaluation = dict(CATCHER_EVALUATION, **(evaluation or {}))
    settings = dict(CATCHER_SETTINGS, **overrides)
    settings["learning_starts"] = max(1, min(settings["learning_starts"], max_steps // 2))
    env = make_catcher_observer(render_mode=watch_render_mode() if render else None)
    set_seed(seed, env.env)
    trainer = DeepQNetworkTrainer(log_dir=log_dir, file_name="dqn_agent.keras", **settings)
    trainer.set_evaluation(make_catcher_observer(num_games=evaluation["episode_count"]),
                           evaluation["interval"], evaluation["episode_count"],
                           target=evaluation["target"], seed=seed * 100_000 + 10_000,
                           metric=catch_rate_score, metric_name="catch_rate")
    agent = trainer.train(env, episode_count=episode_count, initial_count=-1, render=render,
                          observe_interval=observe_interval, max_steps=max_steps)
    env.close()
    return trainer, agent


def main(argv=None):
    parser = make_parser("Train a Deep Q-Network on Catcher from its pixels (or watch a trained "
                         "one). Use --test for CartPole-v1.", episodes=1200)
    parser.add_argument("--test", action="store_true",
                        help="train (or --play) the small MLP on CartPole-v1")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"at most this many environment steps (default {CATCHER_MAX_STEPS:,}"
                             f" on Catcher, {TEST_MODE_MAX_STEPS:,} with --test)")
    parser.add_argument("--headless", action="store_true",
                        help="with --play on Catcher: write a GIF instead of opening a window")
    args = parser.parse_args(argv)
    check_positive("--episodes", args.episodes)
    if args.steps is None:
        args.steps = TEST_MODE_MAX_STEPS if args.test else CATCHER_MAX_STEPS
    check_positive("--steps", args.steps)
    if args.test:
        path = output_dir(__file__) / "dqn_agent_test.keras"
        if args.play:
            require_model_file(path, "python FN/dqn_agent.py --test")
            env = make_cartpole(render_mode=watch_render_mode())
            set_seed(args.seed, env.env)
            agent = DeepQNetworkAgentTest.load(env, path)
            rewards = agent.play(env, episode_count=5, render=True)
            env.close()
            return rewards
        print("Train on test mode (CartPole-v1)")
        trainer, agent = train_test_mode(seed=args.seed, episode_count=args.episodes,
                                         max_steps=args.steps, render=args.render)
        finish_training(trainer, agent, path, show=not args.no_show)
        if trainer.evaluations:
            steps, best = max(trainer.evaluations, key=lambda item: item[1])
            print(f"Best evaluation: {best:.1f} over 20 episodes (at step {steps}); "
                  f"{trainer.total_steps} steps in all.")
        return trainer
    path = output_dir(__file__) / "dqn_agent.keras"
    if args.play:
        require_model_file(path, "python FN/dqn_agent.py")
        return play_catcher(DeepQNetworkAgent, make_catcher_observer, path,
                            output_dir(__file__) / "dqn_agent_play.gif", seed=args.seed,
                            headless=args.headless)
    print(f"Train on Catcher ({CATCHER_SIZE}x{CATCHER_SIZE} grayscale frames, "
          f"{CATCHER_FRAMES} stacked)")
    trainer, agent = train_catcher(seed=args.seed, episode_count=args.episodes,
                                   max_steps=args.steps, render=args.render)
    finish_training(trainer, agent, path, show=not args.no_show)
    report_catch_rates(trainer)
    return trainer


if __name__ == "__main__":
    main()
