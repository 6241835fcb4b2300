"""Day4: the policy gradient (REINFORCE): learning the policy itself, on CartPole.

The network gives the probability of each action, π(a|s; θ), and climbs
∇J(θ) ≈ mean over the steps t of ∇ log π(a_t | s_t; θ) · G_t, where G_t is the discounted
return after step t, standardized over the episode (a baseline). The gradient needs experience
from the current policy: each update uses the episode that just ended, never older ones.
``python FN/policy_gradient_agent.py`` trains it; ``--play`` watches the newest run.

Changes from the book (doc/day4.md says why):
- each update uses every step of the episode that just ended, once (the book sampled from the
  whole buffer, and ``get_recent`` fails when an episode is longer than the buffer);
- the loss is minimized in a ``tf.function`` with ``tf.GradientTape``;
- the state scaler is a ``Normalization`` layer inside the saved ``.keras`` model;
- CartPole-v1 (up to 500 steps) replaces the retired CartPole-v0.
"""

from common import new_run_dir

import keras
import numpy as np
import tensorflow as tf
from sklearn.preprocessing import StandardScaler

# The book prints CartPoleObserver here; DQN's and A2C's --test use it too, so it is defined
# once, in FN/fn_framework.py.
from FN.fast_forward import DenseForward
from FN.fn_framework import (
    CartPoleObserver,
    FNAgent,
    Trainer,
    make_cartpole,
    make_parser,
    play,
    prepare_run,
    watch_render_mode,
)

__all__ = ["CartPoleObserver", "PolicyGradientAgent", "PolicyGradientTrainer", "main"]


class PolicyGradientAgent(FNAgent):
    """A softmax policy network. The state scaler is part of the model (a ``Normalization``
    layer fitted on the first buffer of random play), so the saved model is self-contained."""

    hidden_units = (10, 10)

    def __init__(self, actions, epsilon=0.0):
        # epsilon is 0: the policy explores by itself, by sampling from its probabilities.
        super().__init__(epsilon=epsilon, actions=actions)
        self.estimate_probs = True
        self.scaler = None
        self.optimizer = None
        self._updater = None

    def initialize(self, experiences, optimizer):
        states = np.vstack([np.reshape(e.s, (1, -1)) for e in experiences])
        self.scaler = StandardScaler().fit(states)
        self.make_model(states.shape[1:])
        self.set_updater(optimizer)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    # No save, load or scaler_path of its own: the book kept the scaler in a joblib file beside
    # the model; here it is the model's Normalization layer, so FNAgent's save and load do.

    def make_model(self, feature_shape):
        """Build ``self.model``: the fitted scaler, two hidden layers, a softmax over actions."""
        normalization = keras.layers.Normalization(
            mean=self.scaler.mean_, variance=self.scaler.var_, name="scaler")
        inputs = keras.Input(shape=tuple(feature_shape))
        x = normalization(inputs)
        for units in self.hidden_units:
            x = keras.layers.Dense(units, activation="relu")(x)
        probs = keras.layers.Dense(len(self.actions), activation="softmax", name="policy")(x)
        self.model = keras.Model(inputs, probs, name="policy_network")

    def refresh_forward(self):
        """NumPy copy of the network: the scaler's statistics, then the Dense layers."""
        normalization = self.model.get_layer("scaler")
        self._mean = np.asarray(normalization.mean, dtype=np.float32).reshape(-1)
        variance = np.asarray(normalization.variance, dtype=np.float32).reshape(-1)
        # The same guard as the Normalization layer: a standard deviation of at least ε.
        self._std = np.maximum(np.sqrt(variance), keras.config.epsilon())
        dense = [layer for layer in self.model.layers if isinstance(layer, keras.layers.Dense)]
        self.forward = DenseForward(dense)

    def probabilities(self, states):
        states = np.asarray(states, dtype=np.float32)
        return self.forward((states - self._mean) / self._std)

    def policy_loss(self, states, actions, rewards):
        """−mean(log π(a|s) · G): minimizing it follows the policy gradient."""
        probs = self.model(states, training=True)
        taken = tf.gather(probs, actions, axis=1, batch_dims=1)
        # Clipping keeps log() finite when a probability underflows to 0.
        log_probs = tf.math.log(tf.clip_by_value(taken, 1e-10, 1.0))
        return -tf.reduce_mean(log_probs * rewards)

    def set_updater(self, optimizer):
        self.optimizer = optimizer
        self.optimizer.build(self.model.trainable_variables)
        feature_size = self.model.input_shape[-1]

        @tf.function(input_signature=[tf.TensorSpec([None, feature_size], tf.float32),
                                      tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None], tf.float32)])
        def updater(states, actions, rewards):
            with tf.GradientTape() as tape:
                loss = self.policy_loss(states, actions, rewards)
            variables = self.model.trainable_variables
            gradients = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return loss

        self._updater = updater

    def estimate(self, s):
        return self.probabilities(np.asarray(s)[np.newaxis])[0]

    def policy(self, s):
        if not self.initialized or np.random.random() < self.epsilon:
            return np.random.randint(len(self.actions))
        probs = self.estimate(s)
        # Inverse-CDF sampling: np.random.choice does the same, more slowly.
        action = int(np.searchsorted(np.cumsum(probs), np.random.random() * probs.sum()))
        return min(action, len(self.actions) - 1)

    def greedy_actions(self, states):
        return self.probabilities(states).argmax(axis=1)

    def update(self, states, actions, rewards):
        loss = self._updater(np.asarray(states, dtype=np.float32),
                             np.asarray(actions, dtype=np.int32),
                             np.asarray(rewards, dtype=np.float32))
        self.forward.sync()
        return float(loss)


def discounted_returns(rewards, gamma):
    """G_t = r_t + γ r_{t+1} + γ² r_{t+2} + … for every step of one episode (backwards sum)."""
    returns = np.zeros(len(rewards), dtype=np.float64)
    future = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        future = rewards[t] + gamma * future
        returns[t] = future
    return returns


class PolicyGradientTrainer(Trainer):
    """REINFORCE: after each episode, one update on every step of that episode, with its
    standardized returns.

    Training starts once the buffer of ``buffer_size`` steps of random play is full (the
    scaler is fitted on it). From then on the trainer keeps each episode's steps itself, as many
    as the episode has. ``batch_size`` is kept for the book's signature.
    """

    def __init__(self, buffer_size=256, batch_size=32, gamma=0.9, report_interval=10,
                 log_dir="", learning_rate=1e-2):
        super().__init__(buffer_size, batch_size, gamma, report_interval, log_dir)
        self.learning_rate = learning_rate
        self.episode = None

    def train(self, env, episode_count=220, initial_count=-1, render=False):
        actions = list(range(env.action_space.n))
        agent = PolicyGradientAgent(actions)
        self.train_loop(env, agent, episode_count, initial_count, render)
        return agent

    def begin_train(self, episode, agent):
        optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        agent.initialize(self.experiences, optimizer)
        self.logger.set_model(agent.model)

    def episode_begin(self, episode, agent):
        # The policy gradient needs experience from the current policy: only an episode played
        # by it from its first step is learned from (not the one during which training began).
        self.episode = [] if self.training else None

    def step(self, episode, step_count, agent, experience):
        if self.episode is not None:
            self.episode.append(experience)

    def make_batch(self, policy_experiences):
        """States, actions and standardized discounted returns of one episode."""
        states = np.vstack([np.reshape(e.s, (1, -1)) for e in policy_experiences])
        actions = np.array([e.a for e in policy_experiences])
        rewards = np.array([e.r for e in policy_experiences], dtype=np.float64)
        returns = discounted_returns(rewards, self.gamma)
        std = returns.std()
        returns = (returns - returns.mean()) / (std if std > 0 else 1.0)
        return states, actions, returns

    def episode_end(self, episode, step_count, agent):
        self.report(episode)
        if self.episode:
            loss = agent.update(*self.make_batch(self.episode))
            self.logger.write(self.total_steps, "losses/policy_loss", loss)


def main(argv=None):
    parser = make_parser("Train a policy by the policy gradient (REINFORCE) on CartPole-v1 "
                         "(or watch a trained one).", episodes=220)
    args = parser.parse_args(argv)
    if args.play:
        return play(args, __file__, PolicyGradientAgent, make_cartpole)
    trainer, env = prepare_run(PolicyGradientTrainer(log_dir=new_run_dir(__file__)),
                               make_cartpole(render_mode=watch_render_mode(args.render)), args.seed)
    agent = trainer.train(env, args.episodes, render=args.render)
    env.close()
    trainer.finish(agent, "policy_gradient_agent.keras", show=not args.no_show)
    return trainer.reward_log


if __name__ == "__main__":
    main()
