"""Day4: a policy for continuous actions — an actor-critic with a Gaussian policy, on Pendulum.

When the action is a real number (Pendulum's torque in [-2, 2]), the network outputs the mean
μ(s) and log standard deviation of a Gaussian; the action is a sample squashed by tanh into the
allowed range. A critic Q(s, a) rates actions and the actor moves towards better-rated ones.

    python FN/policy_gradient_continuous_agent.py [--episodes 220] [--seed 0] [--play]

Departures from the book (doc/day4.md says why):
- trained as Soft Actor-Critic: two critics against slow copies, the reparameterization trick,
  an entropy weight that adapts itself (the book's replayed log π · TD error did not learn);
- Pendulum's episodes end by the time limit (``truncated``), so targets always bootstrap;
- updates run in one ``tf.function``; the actor acts through a NumPy copy of its network;
- ``SampleLayer`` draws a reparameterized action during training (not inside the saved actor);
- no separate scaler file.
"""

from common import new_run_dir

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from FN.fast_forward import BranchedForward
from FN.fn_framework import (
    FNAgent,
    Observer,
    Trainer,
    make_parser,
    play,
    prepare_run,
    stack_experiences,
    watch_render_mode,
)
from FN.replay_buffer import ReplayBuffer

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
# A small number inside log(1 − tanh²) that keeps it finite at the edges of the range.
SQUASH_EPSILON = 1e-6


class PolicyGradientContinuousAgent(FNAgent):
    """A Gaussian policy (the actor, ``self.model``) with two Q-network critics.

    ``actions`` holds the bounds ``[low, high]`` of the action space. ``policy`` samples an
    action (uniformly at random with probability ε); ``greedy_actions`` returns tanh(μ).
    """

    hidden_units = (64, 64)

    def __init__(self, epsilon, low, high):
        super().__init__(epsilon, [low, high])
        self.low = np.asarray(low, dtype=np.float32).reshape(-1)
        self.high = np.asarray(high, dtype=np.float32).reshape(-1)
        self.center = (self.high + self.low) / 2
        self.scale = (self.high - self.low) / 2
        self.action_size = len(self.low)
        self.critics = None
        self.target_critics = None
        self.log_alpha = None
        self.sample_layer = None
        self.target_entropy = -float(self.action_size)
        self._train = None

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001, *, train_command=None):
        """As ``FNAgent.load``; the actions are the bounds of the continuous action space."""
        agent = cls(epsilon, env.action_space.low, env.action_space.high)
        return agent.load_model(env, model_path, train_command)

    def initialize(self, experiences, actor_optimizer, critic_optimizer, alpha_optimizer):
        feature_size = int(np.prod(np.shape(experiences[0].s)))
        self.make_model((feature_size,))
        self.critics = [self.make_critic(feature_size, f"critic_{i}") for i in (1, 2)]
        self.target_critics = [keras.models.clone_model(critic) for critic in self.critics]
        for target, critic in zip(self.target_critics, self.critics):
            target.set_weights(critic.get_weights())
        self.log_alpha = tf.Variable(0.0, dtype=tf.float32, name="log_alpha")
        # Made here, after common.set_seed, so that its noise follows --seed.
        self.sample_layer = SampleLayer(self.low.tolist(), self.high.tolist())
        self.set_updater(actor_optimizer, critic_optimizer, alpha_optimizer)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def make_model(self, feature_shape):
        """Build ``self.model``, the actor: state → (μ, log σ) of the Gaussian over the
        unsquashed action (its updates are compiled with XLA, ``jit_compile``)."""
        inputs = keras.Input(shape=tuple(feature_shape))
        x = inputs
        for i, units in enumerate(self.hidden_units):
            x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
        mu = keras.layers.Dense(self.action_size, name="mu")(x)
        log_std = keras.layers.Dense(self.action_size, name="log_std")(x)
        self.model = keras.Model(inputs, [mu, log_std], name="actor")
        self.jit_compile = True

    def make_critic(self, feature_size, name):
        """A critic: (state, action scaled to [-1, 1]) → Q."""
        inputs = keras.Input(shape=(feature_size + self.action_size,))
        x = inputs
        for units in self.hidden_units:
            x = keras.layers.Dense(units, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(1)(x), name=name)

    def refresh_forward(self):
        trunk = [self.model.get_layer(f"hidden_{i}") for i in range(len(self.hidden_units))]
        heads = [[self.model.get_layer("mu")], [self.model.get_layer("log_std")]]
        self.forward = BranchedForward(trunk, heads)

    def _sample(self, states):
        """A reparameterized action for each state and its log-probability."""
        return self.sample_layer(self.model(states, training=True))

    def _q(self, critics, states, actions):
        unit_actions = (actions - self.center) / self.scale  # the critics see [-1, 1]
        inputs = tf.concat([states, unit_actions], axis=1)
        return [tf.squeeze(critic(inputs, training=True), axis=1) for critic in critics]

    def set_updater(self, actor_optimizer, critic_optimizer, alpha_optimizer, tau=0.005):
        actor_variables = self.model.trainable_variables
        critic_variables = [v for critic in self.critics for v in critic.trainable_variables]
        actor_optimizer.build(actor_variables)
        critic_optimizer.build(critic_variables)
        alpha_optimizer.build([self.log_alpha])

        def one_update(states, actions, rewards, next_states, terminals, gamma):
            alpha = tf.exp(self.log_alpha)
            # Critic: the target uses the target critics and a fresh action from the current
            # policy; it is a constant for the gradient.
            next_actions, next_log_prob = self._sample(next_states)
            next_q = tf.minimum(*self._q(self.target_critics, next_states, next_actions))
            targets = tf.stop_gradient(
                rewards + gamma * (1.0 - terminals) * (next_q - alpha * next_log_prob))
            with tf.GradientTape() as tape:
                q1, q2 = self._q(self.critics, states, actions)
                critic_loss = 0.5 * (tf.reduce_mean(tf.square(q1 - targets))
                                     + tf.reduce_mean(tf.square(q2 - targets)))
            critic_optimizer.apply_gradients(
                zip(tape.gradient(critic_loss, critic_variables), critic_variables))
            # Actor: through the sampled action into μ and σ (the critics are not updated).
            with tf.GradientTape() as tape:
                new_actions, log_prob = self._sample(states)
                q_new = tf.minimum(*self._q(self.critics, states, new_actions))
                actor_loss = tf.reduce_mean(alpha * log_prob - q_new)
            actor_optimizer.apply_gradients(
                zip(tape.gradient(actor_loss, actor_variables), actor_variables))
            # Temperature: raise α when the entropy is below its target, lower it otherwise.
            with tf.GradientTape() as tape:
                alpha_loss = -tf.reduce_mean(
                    self.log_alpha * tf.stop_gradient(log_prob + self.target_entropy))
            alpha_optimizer.apply_gradients(
                [(tape.gradient(alpha_loss, self.log_alpha), self.log_alpha)])
            for target, critic in zip(self.target_critics, self.critics):
                for t_var, var in zip(target.weights, critic.weights):
                    t_var.assign((1.0 - tau) * t_var + tau * var)
            return tf.stack([critic_loss, actor_loss, alpha])

        def train(states, actions, rewards, next_states, terminals, gamma):
            total = tf.zeros(3)
            count = tf.shape(states)[0]
            for k in tf.range(count):
                total += one_update(states[k], actions[k], rewards[k], next_states[k],
                                    terminals[k], gamma)
            return total / tf.cast(count, tf.float32)

        self._train = tf.function(train, jit_compile=self.jit_compile)

    def update(self, batch, gamma):
        """Train on a batch of experiences; a leading axis of K batches runs K updates in one
        call. Returns ``(critic_loss, actor_loss, alpha)`` averaged over the updates.
        """
        fields = [np.asarray(field, dtype=np.float32) for field in stack_experiences(batch)]
        if fields[2].ndim == 1:
            fields = [field[np.newaxis] for field in fields]
        states, actions, rewards, next_states, terminals = fields
        actions = actions.reshape(*rewards.shape, self.action_size)
        states = states.reshape(*rewards.shape, -1)
        next_states = next_states.reshape(*rewards.shape, -1)
        result = self._train(states, actions, rewards, next_states, terminals,
                             tf.constant(gamma, dtype=tf.float32))
        self.forward.sync()
        return tuple(float(x) for x in result.numpy())

    def estimate(self, s):
        """The mean action tanh(μ(s)), in the environment's units."""
        return self.greedy_actions(np.asarray(s)[np.newaxis])[0]

    def greedy_actions(self, states):
        mu, _ = self.forward(np.reshape(states, (len(states), -1)))
        return self.center + self.scale * np.tanh(mu)

    def policy(self, s):
        if not self.initialized or np.random.random() < self.epsilon:
            return np.random.uniform(self.low, self.high).astype(np.float32)
        mu, log_std = self.forward(np.reshape(s, (1, -1)))
        std = np.exp(np.clip(log_std[0], LOG_STD_MIN, LOG_STD_MAX))
        unsquashed = mu[0] + std * np.random.standard_normal(self.action_size)
        return (self.center + self.scale * np.tanh(unsquashed)).astype(np.float32)


class SampleLayer(keras.layers.Layer):
    """Draws an action from the Gaussian policy so that gradients flow through the draw.

    The reparameterization trick: u = μ + σ·ε with ε ~ N(0, 1) drawn apart from μ and σ, so u
    is a differentiable function of the network's outputs. tanh(u) squashes it into [-1, 1],
    then it is scaled into [low, high]. It returns the action and the log-probability of
    tanh(u), which needs the correction −log(1 − tanh²u) for the squashing.
    """

    def __init__(self, low, high, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high, self.seed = low, high, seed
        self.center = (np.asarray(high, np.float32) + np.asarray(low, np.float32)) / 2
        self.scale = (np.asarray(high, np.float32) - np.asarray(low, np.float32)) / 2
        # Inside an XLA-compiled step tf.random ignores the global seed; a SeedGenerator keeps
        # two runs with the same --seed equal.
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x):
        mu, log_std = x
        log_std = keras.ops.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)
        noise = keras.random.normal(keras.ops.shape(mu), seed=self.seed_generator)
        squashed = keras.ops.tanh(mu + keras.ops.exp(log_std) * noise)
        log_prob = keras.ops.sum(
            -0.5 * keras.ops.square(noise) - log_std - 0.5 * np.log(2.0 * np.pi)
            - keras.ops.log(1.0 - keras.ops.square(squashed) + SQUASH_EPSILON), axis=-1)
        return self.center + self.scale * squashed, log_prob

    def compute_output_shape(self, input_shape):
        mu_shape, _ = input_shape
        return mu_shape, mu_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high, "seed": self.seed}


class PendulumObserver(Observer):
    """Pendulum's observation (cos θ, sin θ, angular velocity) is already a good state."""

    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


class PolicyGradientContinuousTrainer(Trainer):
    """Soft actor-critic training on a replay buffer (see the module docstring).

    ``learning_starts`` steps of random actions come first; then every ``train_interval``
    steps, ``train_interval`` updates run in one compiled call (one update per step on
    average).
    """

    def __init__(self, buffer_size=100000, batch_size=128, gamma=0.99, report_interval=10,
                 log_dir="", learning_rate=1e-3, learning_starts=1000, train_interval=25):
        super().__init__(buffer_size, batch_size, gamma, report_interval, log_dir)
        self.learning_rate = learning_rate
        self.learning_starts = learning_starts
        self.train_interval = train_interval
        self.losses = []

    def make_buffer(self, env):
        return ReplayBuffer(self.buffer_size)

    def train(self, env, episode_count=220, epsilon=0.0, initial_count=-1, render=False,
              max_steps=None):
        agent = PolicyGradientContinuousAgent(epsilon, env.action_space.low,
                                              env.action_space.high)
        self.train_loop(env, agent, episode_count, initial_count, render,
                        initial_steps=self.learning_starts, max_steps=max_steps)
        return agent

    def begin_train(self, episode, agent):
        agent.initialize(self.experiences,
                         keras.optimizers.Adam(learning_rate=self.learning_rate),
                         keras.optimizers.Adam(learning_rate=self.learning_rate),
                         keras.optimizers.Adam(learning_rate=self.learning_rate))

    def episode_begin(self, episode, agent):
        self.losses = []

    def step(self, episode, step_count, agent, experience):
        if self.training and self.total_steps % self.train_interval == 0:
            batch = self.experiences.sample(self.batch_size, self.train_interval)
            self.losses.append(agent.update(batch, self.gamma))

    def episode_end(self, episode, step_count, agent):
        self.report(episode)
        if self.losses:
            critic_loss, actor_loss, alpha = np.mean(self.losses, axis=0)
            self.logger.write(self.total_steps, "losses/critic_loss", critic_loss)
            self.logger.write(self.total_steps, "losses/actor_loss", actor_loss)
            self.logger.write(self.total_steps, "charts/alpha", alpha)


def make_pendulum(render_mode=None):
    """Pendulum-v1 behind ``PendulumObserver``."""
    return PendulumObserver(gym.make("Pendulum-v1", render_mode=render_mode))


def main(argv=None):
    parser = make_parser("Train a Gaussian-policy actor-critic on Pendulum-v1 "
                         "(or watch a trained one).", episodes=220)
    args = parser.parse_args(argv)
    if args.play:
        return play(args, __file__, PolicyGradientContinuousAgent, make_pendulum)
    trainer, env = prepare_run(PolicyGradientContinuousTrainer(log_dir=new_run_dir(__file__)),
                               make_pendulum(render_mode=watch_render_mode(args.render)),
                               args.seed)
    agent = trainer.train(env, args.episodes, render=args.render)
    env.close()
    trainer.finish(agent, "policy_gradient_continuous_agent.keras", show=not args.no_show)
    return trainer.reward_log


if __name__ == "__main__":
    main()
