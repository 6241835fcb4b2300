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

- a smaller input: 40×40 frames, 2 stacked, instead of the book's 80×80×4: as few steps to
  90% (about 20,000), a quarter of the cost a step. The book's ``padding="same"`` keeps a 5×5
  grid of features on it; without it the picture shrinks to 1×1, the network loses where the
  fruit is, and DQN stalled at a 60-70% catch rate;
- ``FrameReplayBuffer``: each frame stored once as uint8, 1.6 kB a step instead of 25.6 kB;
- one compiled update (``tf.function``, without XLA, whose CPU convolution gradients were
  three times slower) every 8 frames on a batch of 64, and a compiled forward pass to act;
- the Catcher settings (``CATCHER_SETTINGS``): ε from 1.0 to 0.05 over 30,000 steps, the
  teacher refreshed every 1,600 steps, Adam at 5e-4, learning from step 2,000. The greedy
  policy is evaluated on 10 games every 5,000 steps; the best evaluation's weights are saved.

Changes from the book, and why:

- TensorFlow 2 / Keras 3: the update is a ``tf.function`` (compiled with XLA for the MLP) with
  a ``tf.GradientTape``; one call runs ``gradient_steps`` updates back to back. Actions come
  from a NumPy copy of the MLP or from a compiled forward pass of the CNN
  (``FN/forward_pass.py``), never from ``model.predict``.
- The replay buffer is a set of preallocated NumPy arrays (``FN/replay_buffer.py``), chosen
  once from the observation space: ``FrameReplayBuffer`` for frames, else ``ReplayBuffer``.
- The loss is the Huber loss (the book used the squared error on clipped rewards).
- The book refreshes the teacher every ``teacher_update_freq`` episodes, decays ε once per
  episode and updates once per step. Those stay the defaults. ``--test`` uses settings tuned
  for CartPole-v1 (``TEST_MODE_SETTINGS``, after the RL Zoo's tuned DQN, with a smaller
  network): 128 updates of batch 64 every 256 steps, the teacher refreshed before each of those
  bursts, ε from 1.0 to 0.04 over the first 8,000 steps, learning from step 1,000, Adam with a
  learning rate of 2.3e-3. ``--test`` also evaluates the greedy policy on 20 episodes every
  1,000 steps, stops once the mean reaches 475 (CartPole-v1's threshold), and keeps the best
  weights.
- Each training run has a folder of its own (``outputs/FN/dqn_agent/cartpole/<run>/`` with
  ``--test``, ``.../catcher/<run>/`` otherwise) for the model, reward history and TensorBoard
  events. ``--play`` plays the newest finished run of the mode, or ``--model PATH``.
"""

from common import new_run_dir

import keras
import numpy as np
import tensorflow as tf

from FN.cartpole_observer import make_cartpole
from FN.catcher_observer import catch_rate_score, make_catcher_observer, report_catch_rates
from FN.fn_framework import Experience, FNAgent, Trainer
from FN.replay_buffer import FrameReplayBuffer, ReplayBuffer, stack_experiences
from FN.training_run import finish_training, make_parser, play, train_mode, watch_render_mode

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

# Catcher, seen as make_catcher_observer shows it (40x40 frames, 2 stacked): how DQN learns.
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

    ``make_model`` (``FNAgent``'s) builds the book's convolutional network for stacked frames
    (height, width, frames), and an MLP for vector observations. The rest (teacher, updates,
    acting) works with any Keras model that maps states to action values.
    """

    hidden_units = (64, 64)

    def __init__(self, epsilon, actions):
        super().__init__(epsilon, actions)
        self._teacher_model = None
        self.optimizer = None
        self._train = None

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

    def update_teacher(self):
        """Copy the network's weights into the teacher, which then stays frozen until the next
        copy: the targets do not move with every update."""
        for teacher, variable in zip(self._teacher_model.weights, self.model.weights):
            teacher.assign(variable)

    def td_loss(self, states, actions, rewards, next_states, terminals, gamma):
        """Mean Huber TD error of one batch. Gradients flow into ``self.model`` only."""
        # The TD target r + γ max_a' Q_teacher(s', a'), without the future where s' is
        # terminal. The teacher is frozen: its output is a constant, never differentiated.
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
                    loss = self.td_loss(states[k], actions[k], rewards[k], next_states[k],
                                        terminals[k], gamma)
                gradients = tape.gradient(loss, variables)
                self.optimizer.apply_gradients(zip(gradients, variables))
                total += loss
            return total / tf.cast(count, tf.float32)

        # jit_compile was chosen with the network (FNAgent.make_model).
        self._train = tf.function(train, jit_compile=self.jit_compile)

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
        """Train on a list of experiences (the book's call), or on a replay buffer's sample;
        with a leading axis of K batches, K updates run in one compiled call."""
        batch = self._as_batches(experiences)
        loss = self._train(*batch, tf.constant(gamma, dtype=tf.float32))
        self.forward.sync()
        return float(loss)

    def estimate(self, state):
        return self.forward(np.asarray(state)[np.newaxis])[0]

    def greedy_actions(self, states):
        return np.asarray(self.forward(states)).argmax(axis=1)


class DeepQNetworkAgentTest(DeepQNetworkAgent):
    """The book's agent for a quick check on CartPole: ``make_model`` gives it the MLP."""


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

    def make_buffer(self, env):
        """Experience replay. Stacks of frames (Catcher) go to a buffer that stores each frame
        once, as uint8; vectors (CartPole) to a plain ring of arrays."""
        shape = env.observation_space.shape
        if len(shape) == 3:
            return FrameReplayBuffer(self.buffer_size, shape)
        return ReplayBuffer(self.buffer_size)

    def train(self, env, episode_count=1200, initial_count=200, test_mode=False, render=False,
              observe_interval=100, max_steps=None):
        actions = list(range(env.action_space.n))
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
            diff = self.initial_epsilon - self.final_epsilon
            decay = diff / max(1, self.training_episodes)
            agent.epsilon = max(agent.epsilon - decay, self.final_epsilon)


def train_test_mode(seed=0, episode_count=1200, max_steps=TEST_MODE_MAX_STEPS, render=False,
                    log_dir="", evaluation=None, **overrides):
    """Train ``DeepQNetworkAgentTest`` on CartPole-v1 with the tuned settings; return
    ``(trainer, agent)``. ``overrides`` replace entries of ``TEST_MODE_SETTINGS``, and
    ``evaluation`` entries of ``TEST_MODE_EVALUATION``."""
    trainer = DeepQNetworkTrainer(log_dir=log_dir, file_name="dqn_agent_test.keras",
                                  **dict(TEST_MODE_SETTINGS, **overrides))
    evaluation = dict(TEST_MODE_EVALUATION, **(evaluation or {}))
    env = make_cartpole(render_mode=watch_render_mode() if render else None)
    return train_mode(trainer, env, seed, make_cartpole(num_envs=evaluation["episode_count"]),
                      evaluation, episode_count=episode_count, initial_count=-1,
                      test_mode=True, render=render, max_steps=max_steps)


def train_catcher(seed=0, episode_count=1200, max_steps=CATCHER_MAX_STEPS, render=False,
                  observe_interval=OBSERVE_INTERVAL, log_dir="", evaluation=None,
                  **overrides):
    """Train ``DeepQNetworkAgent`` on Catcher with the tuned settings; return
    ``(trainer, agent)``, the agent with the weights of its best evaluation. ``overrides``
    replace entries of ``CATCHER_SETTINGS``, and ``evaluation`` entries of
    ``CATCHER_EVALUATION``. A run shorter than ``learning_starts`` (a smoke test) starts
    learning halfway instead."""
    settings = dict(CATCHER_SETTINGS, **overrides)
    settings["learning_starts"] = max(1, min(settings["learning_starts"], max_steps // 2))
    trainer = DeepQNetworkTrainer(log_dir=log_dir, file_name="dqn_agent.keras", **settings)
    evaluation = dict(CATCHER_EVALUATION, **(evaluation or {}))
    env = make_catcher_observer(render_mode=watch_render_mode() if render else None)
    trainer, agent = train_mode(
        trainer, env, seed, make_catcher_observer(num_games=evaluation["episode_count"]),
        evaluation, catch_rate_score, "catch_rate", episode_count=episode_count,
        initial_count=-1, render=render, observe_interval=observe_interval, max_steps=max_steps)
    report_catch_rates(trainer)
    return trainer, agent


def main(argv=None):
    parser = make_parser("Train a Deep Q-Network on Catcher from its pixels (or watch a trained "
                         "one). Use --test for CartPole-v1.", episodes=1200,
                         mode_steps=(CATCHER_MAX_STEPS, TEST_MODE_MAX_STEPS))
    args = parser.parse_args(argv)
    kind = "cartpole" if args.test else "catcher"
    if args.play:
        agent_class = DeepQNetworkAgentTest if args.test else DeepQNetworkAgent
        return play(args, __file__, agent_class, make_cartpole, kind)
    run_dir = new_run_dir(__file__, kind=kind)
    if args.test:
        print("Train on test mode (CartPole-v1)")
        trainer, agent = train_test_mode(seed=args.seed, episode_count=args.episodes,
                                         max_steps=args.steps or TEST_MODE_MAX_STEPS,
                                         render=args.render, log_dir=run_dir)
    else:
        print("Train on Catcher (40x40 grayscale frames, 2 stacked)")
        trainer, agent = train_catcher(seed=args.seed, episode_count=args.episodes,
                                       max_steps=args.steps or CATCHER_MAX_STEPS,
                                       render=args.render, log_dir=run_dir)
    finish_training(trainer, agent, trainer.file_name, show=not args.no_show)
    return trainer


if __name__ == "__main__":
    main()
