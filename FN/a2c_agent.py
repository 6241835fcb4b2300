"""Day4: Advantage Actor-Critic (A2C) — a policy (actor) and a value (critic) in one network.

The network has one body and two heads: the actor outputs a score (logit) per action, and the
critic outputs V(s), the value of the state. The actor is pushed along

    ∇ log π(a|s) · A,   A = G − V(s)

where the **advantage** A says how much better the action turned out than the critic expected.
G is an n-step return: the rewards of the next few steps, then the critic's own estimate of
the state reached, γⁿ V(s_{t+n}), unless the episode really ended there. The critic learns to
predict G. An **entropy bonus** keeps the policy from becoming certain too early.

Like every policy gradient method, A2C learns only from the current policy's experience (no
replay). To get enough of it quickly, it steps several environments at once and updates on
the batch of all of them.

Two traps the code comments on: V(s) inside the advantage must be a constant for the actor's
gradient (``tf.stop_gradient``), and the return bootstraps through a time limit (truncation) but
not through a real termination.

``python FN/a2c_agent.py`` trains ``ActorCriticAgent``, the book's convolutional network with a
policy head and a value head, on the Catcher game from its pixels, 32 games at once, each seen
through ``CatcherObserver`` (``FN/catcher_observer.py``). ``--test`` trains
``ActorCriticAgentTest`` (an MLP) on CartPole-v1.

The book says this needs a GPU and takes days on a CPU. Here it takes minutes on two CPU
cores (``benchmarks/catcher.py`` measures it): about 200,000 frames and one to two minutes of
training bring the greedy policy to a catch rate above 90%. The speed comes from 40×40 frames
(2 stacked, not the book's 80×80×4; the book's three convolutions keep ``padding="same"``, and
with it a 5×5 grid of features), from the 32 games stepped together in NumPy with one compiled
forward pass for all of them, and from one compiled update (without XLA, slower here for
convolutions) on each batch of 32 × 8 transitions. Adam's learning rate is 7e-4, and the
advantages are used as they are (``CATCHER_SETTINGS`` says why they are not standardized
here). The greedy policy is evaluated on 10 games every 20,000 steps, and the weights of the
best evaluation are kept and saved.

Changes from the book, and why:

- TensorFlow 2 / Keras 3: the update is a ``tf.function`` (XLA for the MLP) with a
  ``tf.GradientTape``; the book's ``K.backend.function``/``get_updates`` are gone. Actions are
  drawn with the same Gumbel-max trick as ``SampleLayer`` from a NumPy copy of the MLP or a
  compiled forward pass of the CNN (no ``model.predict``).
- The book ran one environment and standardized the returns. Here a NumPy-vectorized batch of
  environments (gymnasium's vector CartPole, or ``CatcherVectorEnv``) is stepped together, the
  returns bootstrap from the critic, and the advantages are standardized instead; the gradient
  norm is clipped to 0.5.
- ``batch_size`` is the number of transitions per update: each of the ``n`` environments runs
  ``batch_size // n`` steps between updates.
- ``--test`` uses tuned settings (``TEST_MODE_SETTINGS``): 16 environments, 8 steps each
  (batches of 128), Adam with a learning rate of 5e-3, entropy weight 0.01. It evaluates the
  greedy policy on 20 episodes every 5,000 steps, stops once the mean reaches 475, and keeps the
  best weights.
"""

from common import output_dir, set_seed

import keras
import numpy as np
import tensorflow as tf
from gymnasium.vector import AutoresetMode
from tqdm import tqdm

from FN.catcher_observer import (
    catch_rate_score,
    make_catcher,
    report_catch_rates,
)
from FN.fn_framework import (
    BranchedForward,
    CompiledForward,
    Experience,
    FNAgent,
    Trainer,
    batch_size_of,
    check_positive,
    finish_training,
    is_batched,
    make_parser,
    play_catcher,
    require_model_file,
    softmax,
    watch_render_mode,
)
from FN.value_function_agent import make_cartpole

TEST_MODE_SETTINGS = {
    "buffer_size": 256,
    "batch_size": 128,
    "gamma": 0.99,
    "learning_rate": 5e-3,
}
TEST_MODE_ENVS = 16
TEST_MODE_MAX_STEPS = 500_000
TEST_MODE_EVALUATION = {"interval": 5_000, "episode_count": 20, "target": 475.0}

# Catcher: what the network sees (width = height, frames stacked) and how it learns.
CATCHER_SIZE = 40
CATCHER_FRAMES = 2
CATCHER_GAMES = 32
CATCHER_SETTINGS = {
    "buffer_size": 256,
    "batch_size": 256,  # 8 steps of the 32 games between updates
    "gamma": 0.99,
    "learning_rate": 7e-4,
    # Catcher's rewards are rare: most advantages are small noise, and standardizing them
    # blows that noise up to full size. Measured with seed 0: with it, the policy became
    # deterministic within 50,000 steps and never learned; without it, 90% at 220,000 steps.
    "normalize_advantages": False,
}
CATCHER_MAX_STEPS = 400_000
# target None: train for all the steps, keep the best weights (no early stop at 90%).
CATCHER_EVALUATION = {"interval": 20_000, "episode_count": 10, "target": None}
OBSERVE_INTERVAL = 100


@keras.saving.register_keras_serializable(package="FN")
class SampleLayer(keras.layers.Layer):
    """Draws one action per row from the categorical distribution given by logits.

    The Gumbel-max trick: argmax(logits + g) with g = −log(−log u), u ~ Uniform(0, 1), picks
    action a with probability softmax(logits)[a].
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, logits):
        noise = keras.random.uniform(keras.ops.shape(logits), minval=1e-10, maxval=1.0,
                                     seed=self.seed_generator)
        return keras.ops.argmax(logits - keras.ops.log(-keras.ops.log(noise)), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def gumbel_max(logits):
    """SampleLayer's draw in NumPy: one action per row of ``logits``."""
    noise = np.random.uniform(1e-10, 1.0, size=np.shape(logits))
    return np.argmax(logits - np.log(-np.log(noise)), axis=-1)


class ActorCriticAgent(FNAgent):
    """One network, two heads: ``action_evals`` (logits of the policy) and ``values`` (V(s)).

    ``self.model`` maps states to ``[actions, action_evals, values]``, where ``actions`` is a
    sample drawn by ``SampleLayer``. ``make_model`` builds the book's convolutional body for
    stacked frames (height, width, frames) and an MLP body for vector observations.
    """

    hidden_units = (64, 64)
    jit_compile = True

    def __init__(self, actions, epsilon=0.0):
        # epsilon is 0: the policy explores by sampling, helped by the entropy bonus.
        super().__init__(epsilon=epsilon, actions=actions)
        self.estimate_probs = True
        self.optimizer = None
        self._updater = None
        self._losses = None

    def initialize(self, experiences, optimizer, entropy_weight=0.01, value_weight=0.5,
                   max_grad_norm=0.5, normalize_advantages=True):
        feature_shape = np.shape(experiences[0].s)
        self.make_model(feature_shape)
        self.set_updater(optimizer, entropy_weight, value_weight, max_grad_norm,
                         normalize_advantages)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def make_cnn(self, feature_shape):
        """The book's network for frames: a shared convolutional trunk, then two heads.

        The trunk is DQN's (three convolutions with ``padding="same"``, then 256 units); the
        policy head gives the logits and the value head V(s).
        """
        # XLA compiles the gradients of these convolutions into slower CPU code than
        # TensorFlow's own kernels (measured: three times slower); compile without it.
        self.jit_compile = False
        normal = keras.initializers.GlorotNormal()
        inputs = keras.Input(shape=tuple(feature_shape))
        x = inputs
        for filters, size, strides in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = keras.layers.Conv2D(filters, kernel_size=size, strides=strides, padding="same",
                                    kernel_initializer=normal, activation="relu")(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(256, kernel_initializer=normal, activation="relu")(x)
        # Small initial logits: the first policy is close to uniform.
        action_evals = keras.layers.Dense(
            len(self.actions), kernel_initializer=keras.initializers.Orthogonal(0.01),
            name="action_evals")(x)
        values = keras.layers.Dense(1, kernel_initializer=normal, name="values")(x)
        actions = SampleLayer(name="actions")(action_evals)
        return keras.Model(inputs, [actions, action_evals, values], name="actor_critic")

    def make_mlp(self, feature_shape):
        inputs = keras.Input(shape=tuple(feature_shape))
        x = inputs
        for i, units in enumerate(self.hidden_units):
            x = keras.layers.Dense(units, activation="tanh", name=f"hidden_{i}")(x)
        # Small initial logits: the first policy is close to uniform.
        action_evals = keras.layers.Dense(
            len(self.actions), kernel_initializer=keras.initializers.Orthogonal(0.01),
            name="action_evals")(x)
        values = keras.layers.Dense(1, name="values")(x)
        actions = SampleLayer(name="actions")(action_evals)
        return keras.Model(inputs, [actions, action_evals, values], name="actor_critic")

    def refresh_forward(self):
        hidden = [layer for layer in self.model.layers if layer.name.startswith("hidden_")]
        if hidden and all(isinstance(layer, keras.layers.Dense) for layer in hidden):
            heads = [[self.model.get_layer("action_evals")], [self.model.get_layer("values")]]
            self.forward = BranchedForward(hidden, heads)
        else:
            self.forward = CompiledForward(self.model)

    def evaluate_states(self, states):
        """``(logits, values)`` for a batch of states, from the fast forward pass."""
        outputs = self.forward(states)
        if isinstance(self.forward, BranchedForward):
            logits, values = outputs
        else:
            _, logits, values = outputs
        return np.asarray(logits), np.asarray(values).reshape(-1)

    def loss_terms(self, states, actions, returns, mask):
        """``(loss, policy_loss, value_loss, entropy)`` of one batch of transitions.

        ``mask`` is 1 for a real transition and 0 for a step that only reset an environment.
        """
        _, logits, values = self.model(states, training=True)
        values = tf.squeeze(values, axis=1)
        log_probs = tf.nn.log_softmax(logits)
        taken = tf.gather(log_probs, actions, axis=1, batch_dims=1)
        count = tf.maximum(tf.reduce_sum(mask), 1.0)
        # The critic's value is a baseline here: a constant for the actor's gradient.
        advantages = returns - tf.stop_gradient(values)
        if self._normalize_advantages:
            mean = tf.reduce_sum(mask * advantages) / count
            std = tf.sqrt(tf.reduce_sum(mask * tf.square(advantages - mean)) / count)
            advantages = (advantages - mean) / (std + 1e-8)
        policy_loss = -tf.reduce_sum(mask * taken * advantages) / count
        value_loss = tf.reduce_sum(mask * tf.square(returns - values)) / count
        entropy = -tf.reduce_sum(
            mask * tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=1)) / count
        loss = (policy_loss + self._value_weight * value_loss
                - self._entropy_weight * entropy)
        return loss, policy_loss, value_loss, entropy

    def set_updater(self, optimizer, entropy_weight=0.01, value_weight=0.5, max_grad_norm=0.5,
                    normalize_advantages=True):
        self.optimizer = optimizer
        self._entropy_weight = entropy_weight
        self._value_weight = value_weight
        self._normalize_advantages = normalize_advantages
        variables = self.model.trainable_variables
        self.optimizer.build(variables)

        def updater(states, actions, returns, mask):
            with tf.GradientTape() as tape:
                terms = self.loss_terms(states, actions, returns, mask)
            gradients = tape.gradient(terms[0], variables)
            gradients, _ = tf.clip_by_global_norm(gradients, max_grad_norm)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return tf.stack(terms)

        self._updater = tf.function(updater, jit_compile=self.jit_compile)
        self._losses = tf.function(lambda *batch: tf.stack(self.loss_terms(*batch)))

    @staticmethod
    def _as_tensors(states, actions, returns, mask):
        returns = np.asarray(returns, dtype=np.float32).reshape(-1)
        mask = np.ones_like(returns) if mask is None else np.asarray(mask, np.float32)
        return (np.asarray(states, dtype=np.float32), np.asarray(actions, np.int32).reshape(-1),
                returns, mask.reshape(-1))

    def update(self, states, actions, returns, mask=None):
        """One update on a batch; returns ``(loss, policy_loss, value_loss, entropy)``."""
        result = self._updater(*self._as_tensors(states, actions, returns, mask))
        self.forward.sync()
        return tuple(float(x) for x in result.numpy())

    def compute_loss(self, states, actions, returns, mask=None):
        """What ``update`` would report, without training."""
        result = self._losses(*self._as_tensors(states, actions, returns, mask))
        return tuple(float(x) for x in result.numpy())

    def estimate(self, s):
        """The policy's action probabilities in state ``s``."""
        logits, _ = self.evaluate_states(np.asarray(s)[np.newaxis])
        return softmax(logits)[0]

    def sample_actions(self, states):
        """One action per state, drawn from the policy (random before initialization)."""
        if not self.initialized:
            return np.random.randint(len(self.actions), size=len(states))
        logits, _ = self.evaluate_states(states)
        return gumbel_max(logits)

    def policy(self, s):
        if np.random.random() < self.epsilon:
            return np.random.randint(len(self.actions))
        return int(self.sample_actions(np.asarray(s)[np.newaxis])[0])

    def greedy_actions(self, states):
        logits, _ = self.evaluate_states(states)
        return logits.argmax(axis=1)


class ActorCriticAgentTest(ActorCriticAgent):
    """The book's agent for checking the code quickly: an MLP body for CartPole."""

    def make_model(self, feature_shape):
        self.model = self.make_mlp(feature_shape)


def n_step_returns(rewards, values, terminated, truncated, valid, last_values, gamma):
    """Bootstrapped returns for a rollout of shape (steps, envs).

    ``values[t]`` is V(s_t) and ``last_values`` is V(s_T) after the last step. A step whose
    episode was truncated bootstraps from V of its final state, which under gymnasium's
    next-step autoreset is the state passed to the following step (``values[t + 1]``, or
    ``last_values``). A terminated step does not bootstrap. Invalid steps (the resets) get 0.
    """
    steps = len(rewards)
    returns = np.zeros_like(rewards, dtype=np.float32)
    following = np.asarray(last_values, dtype=np.float32)
    for t in range(steps - 1, -1, -1):
        next_value = values[t + 1] if t + 1 < steps else last_values
        bootstrap = np.where(truncated[t], next_value, following)
        returns[t] = np.where(valid[t],
                              rewards[t] + gamma * (1.0 - terminated[t]) * bootstrap, 0.0)
        following = returns[t]
    return returns


class ActorCriticTrainer(Trainer):
    """A2C training on a batch of environments (an ``Observer`` of a gymnasium vector env).

    The keyword-only arguments are additions: the entropy and value weights of the loss, the
    gradient-norm clip, and whether advantages are standardized.
    """

    def __init__(self, buffer_size=256, batch_size=32, gamma=0.99, learning_rate=1e-3,
                 report_interval=10, log_dir="", file_name="", *, entropy_weight=0.01,
                 value_weight=0.5, max_grad_norm=0.5, normalize_advantages=True):
        super().__init__(buffer_size, batch_size, gamma, report_interval, log_dir)
        self.file_name = file_name if file_name else "a2c_agent.keras"
        self.learning_rate = learning_rate
        self.entropy_weight = entropy_weight
        self.value_weight = value_weight
        self.max_grad_norm = max_grad_norm
        self.normalize_advantages = normalize_advantages
        self.losses = []

    def train(self, env, episode_count=10_000, test_mode=False, render=False, max_steps=None,
              observe_interval=0):
        actions = list(range(getattr(env.env, "single_action_space", env.action_space).n))
        agent = ActorCriticAgentTest(actions) if test_mode else ActorCriticAgent(actions)
        self.train_loop(env, agent, episode_count, render=render, max_steps=max_steps,
                        observe_interval=0 if test_mode else observe_interval)
        return agent

    def begin_train(self, episode, agent):
        optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        # The buffer holds batches (one row per environment); the agent needs single states.
        first = self.experiences[0]
        sample = [Experience(*(np.asarray(field)[0] for field in first))]
        agent.initialize(sample, optimizer, self.entropy_weight, self.value_weight,
                         self.max_grad_norm, self.normalize_advantages)

    def episode_end(self, episode, step_count, agent):
        self.report(episode)

    def make_batch(self, rollout, last_values):
        """Flatten a rollout into ``(states, actions, returns, mask)`` for one update."""
        states, actions, rewards, values, terminated, truncated, valid = rollout
        returns = n_step_returns(rewards, values, terminated, truncated, valid, last_values,
                                 self.gamma)
        return (states.reshape(-1, *states.shape[2:]), actions.reshape(-1), returns.reshape(-1),
                valid.reshape(-1).astype(np.float32))

    def train_loop(self, env, agent, episode=200, initial_count=-1, render=False,
                   observe_interval=0, initial_steps=-1, max_steps=None):
        """Step all environments together; update after every ``batch_size`` transitions.

        Each finished sub-environment episode counts as one episode for the hooks and logs.
        The first rollout only builds the network (``begin_train``); updates start with the
        second, so that every update uses the current policy's experience. With
        ``observe_interval``, the states of the environments (their newest frames) are written
        to TensorBoard every ``observe_interval`` updates.
        """
        if not is_batched(env):
            raise ValueError("ActorCriticTrainer steps several environments at once: pass an "
                             "Observer of a gymnasium vector environment")
        mode = AutoresetMode(env.env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(f"the vector environment must reset with NEXT_STEP, not {mode}")
        self.reset_state()
        n = batch_size_of(env)
        n_steps = max(1, self.batch_size // n)
        states = env.reset()
        shape = np.shape(states)[1:]
        rollout_states = np.zeros((n_steps, n, *shape), dtype=np.float32)
        rollout_actions = np.zeros((n_steps, n), dtype=np.int64)
        rewards = np.zeros((n_steps, n), dtype=np.float32)
        values = np.zeros((n_steps, n), dtype=np.float32)
        terminated = np.zeros((n_steps, n), dtype=np.float32)
        truncated = np.zeros((n_steps, n), dtype=bool)
        valid = np.zeros((n_steps, n), dtype=bool)
        previous_done = np.zeros(n, dtype=bool)
        episode_rewards = np.zeros(n)
        episode_lengths = np.zeros(n, dtype=int)
        episodes_done = 0
        for i in range(n):
            self.episode_begin(i, agent)
        next_episode = n
        bar = tqdm(total=max_steps, desc=f"{self.trainer_name} training", unit="step",
                   dynamic_ncols=True, leave=False)
        try:
            while episodes_done < episode:
                for t in range(n_steps):
                    if render:
                        env.render()
                    if agent.initialized:
                        logits, values[t] = agent.evaluate_states(states)
                        actions = np.where(np.random.random(n) < agent.epsilon,
                                           np.random.randint(len(agent.actions), size=n),
                                           gumbel_max(logits))
                    else:
                        actions = agent.sample_actions(states)
                    n_states, reward, done, info = env.step(actions)
                    # Next-step autoreset: the step after an episode's end only resets that
                    # environment (its action is ignored), so it is not a transition.
                    valid[t] = ~previous_done
                    rollout_states[t] = states
                    rollout_actions[t] = actions
                    rewards[t] = reward
                    terminated[t] = info["terminated"]
                    truncated[t] = info["truncated"]
                    experience = Experience(states, actions, reward, n_states,
                                            np.asarray(info["terminated"]))
                    self.experiences.append(experience)
                    self.total_steps += int(valid[t].sum())
                    self.step(episodes_done, t, agent, experience)
                    episode_rewards += np.where(valid[t], reward, 0.0)
                    episode_lengths += valid[t]
                    for j in np.flatnonzero(done & valid[t]):
                        self.record_episode(episodes_done, episode_lengths[j], episode_rewards[j])
                        self.episode_end(episodes_done, int(episode_lengths[j]), agent)
                        episodes_done += 1
                        self.episode_begin(next_episode, agent)
                        next_episode += 1
                        episode_rewards[j] = 0.0
                        episode_lengths[j] = 0
                    previous_done = np.asarray(done, dtype=bool)
                    states = n_states
                bar.update(int(valid.sum()))
                if not self.training:
                    self.start_training(episodes_done, agent)
                else:
                    _, last_values = agent.evaluate_states(states)
                    rollout = (rollout_states, rollout_actions, rewards, values, terminated,
                               truncated, valid)
                    losses = agent.update(*self.make_batch(rollout, last_values))
                    self.training_count += 1
                    if observe_interval > 0 and (self.training_count == 1 or self.is_event(
                            self.training_count, observe_interval)):
                        self.logger.write_image(self.training_count,
                                                [self.to_image(state) for state in states])
                    for name, value in zip(("loss", "policy_loss", "value_loss", "entropy"),
                                           losses):
                        self.logger.write(self.total_steps, f"losses/{name}", value)
                if self.reward_log:
                    recent = np.mean(self.reward_log[-self.report_interval:])
                    bar.set_postfix(reward=f"{recent:.1f}", episodes=episodes_done,
                                    refresh=False)
                self.evaluate_if_due(agent)
                if self.stop_training or (max_steps and self.total_steps >= max_steps):
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            tqdm.write(f"Training interrupted at step {self.total_steps}; "
                       "keeping what has been learned.")
        finally:
            bar.close()
            self.restore_best(agent)
            self.logger.flush()


def train_test_mode(seed=0, episode_count=10_000, max_steps=TEST_MODE_MAX_STEPS,
                    n_envs=TEST_MODE_ENVS, render=False, log_dir="", **overrides):
    """Train ``ActorCriticAgentTest`` on CartPole-v1 with the tuned settings.

    Returns ``(trainer, agent)``. ``overrides`` replace entries of ``TEST_MODE_SETTINGS`` or of
    ``TEST_MODE_EVALUATION`` (``interval``, ``episode_count``, ``target``).
    """
    evaluation = {key: overrides.pop(key) if key in overrides else value
                  for key, value in TEST_MODE_EVALUATION.items()}
    settings = dict(TEST_MODE_SETTINGS, **overrides)
    env = make_cartpole(num_envs=n_envs, render_mode=watch_render_mode() if render else None)
    set_seed(seed, env.env)
    trainer = ActorCriticTrainer(log_dir=log_dir, file_name="a2c_agent_test.keras", **settings)
    trainer.set_evaluation(make_cartpole(num_envs=evaluation["episode_count"]),
                           evaluation["interval"], evaluation["episode_count"],
                           target=evaluation["target"], seed=seed * 100_000 + 10_000)
    agent = trainer.train(env, episode_count=episode_count, test_mode=True, render=render,
                          max_steps=max_steps)
    env.close()
    return trainer, agent


def make_catcher_observer(num_games=None, render_mode=None):
    """Catcher as ``ActorCriticAgent`` sees it: 40×40 grayscale frames, 2 stacked.

    A batch resets a finished game on the next step (gymnasium's default), as the trainer
    expects.
    """
    return make_catcher(CATCHER_SIZE, CATCHER_SIZE, CATCHER_FRAMES, num_games=num_games,
                        render_mode=render_mode)


def train_catcher(seed=0, episode_count=10_000, max_steps=CATCHER_MAX_STEPS,
                  n_games=CATCHER_GAMES, observe_interval=OBSERVE_INTERVAL, log_dir="",
                  evaluation=None, **overrides):
    """Train ``ActorCriticAgent`` on ``n_games`` Catcher games at once with the tuned settings.

    Returns ``(trainer, agent)``; the agent has the weights of its best evaluation.
    ``overrides`` replace entries of ``CATCHER_SETTINGS``, and ``evaluation`` entries of
    ``CATCHER_EVALUATION`` (``interval``, ``episode_count``, ``target``).
    """
    evaluation = dict(CATCHER_EVALUATION, **(evaluation or {}))
    settings = dict(CATCHER_SETTINGS, **overrides)
    env = make_catcher_observer(num_games=n_games)
    set_seed(seed)
    env.reset(seed=seed)
    trainer = ActorCriticTrainer(log_dir=log_dir, file_name="a2c_agent.keras", **settings)
    trainer.set_evaluation(make_catcher_observer(num_games=evaluation["episode_count"]),
                           evaluation["interval"], evaluation["episode_count"],
                           target=evaluation["target"], seed=seed * 100_000 + 10_000,
                           metric=catch_rate_score, metric_name="catch_rate")
    agent = trainer.train(env, episode_count=episode_count, max_steps=max_steps,
                          observe_interval=observe_interval)
    env.close()
    return trainer, agent


def main(argv=None):
    parser = make_parser("Train an Advantage Actor-Critic on Catcher from its pixels, many games "
                         "at once (or watch a trained one). Use --test for CartPole-v1.",
                         episodes=10_000)
    parser.add_argument("--test", action="store_true",
                        help="train (or --play) the small MLP on CartPole-v1")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"at most this many environment steps (default {CATCHER_MAX_STEPS:,}"
                             f" on Catcher, {TEST_MODE_MAX_STEPS:,} with --test)")
    parser.add_argument("--envs", type=int, default=None,
                        help=f"environments stepped together (default {CATCHER_GAMES} Catcher "
                             f"games, {TEST_MODE_ENVS} CartPoles with --test)")
    parser.add_argument("--headless", action="store_true",
                        help="with --play on Catcher: write a GIF instead of opening a window")
    args = parser.parse_args(argv)
    check_positive("--episodes", args.episodes)
    if args.steps is None:
        args.steps = TEST_MODE_MAX_STEPS if args.test else CATCHER_MAX_STEPS
    if args.envs is None:
        args.envs = TEST_MODE_ENVS if args.test else CATCHER_GAMES
    check_positive("--steps", args.steps)
    check_positive("--envs", args.envs)
    if args.test:
        path = output_dir(__file__) / "a2c_agent_test.keras"
        if args.play:
            require_model_file(path, "python FN/a2c_agent.py --test")
            env = make_cartpole(render_mode=watch_render_mode())
            set_seed(args.seed, env.env)
            agent = ActorCriticAgentTest.load(env, path)
            rewards = agent.play(env, episode_count=5, render=True)
            env.close()
            return rewards
        print(f"Train on test mode (CartPole-v1, {args.envs} environments at once)")
        trainer, agent = train_test_mode(seed=args.seed, episode_count=args.episodes,
                                         max_steps=args.steps, n_envs=args.envs, render=args.render)
        finish_training(trainer, agent, path, show=not args.no_show)
        if trainer.evaluations:
            steps, best = max(trainer.evaluations, key=lambda item: item[1])
            print(f"Best evaluation: {best:.1f} over 20 episodes (at step {steps}); "
                  f"{trainer.total_steps} steps in all.")
        return trainer
    path = output_dir(__file__) / "a2c_agent.keras"
    if args.play:
        require_model_file(path, "python FN/a2c_agent.py")
        # The window shows the policy as the book plays it (actions drawn from it); the GIF
        # shows the greedy policy, the one the evaluations measure.
        return play_catcher(ActorCriticAgent, make_catcher_observer, path,
                            output_dir(__file__) / "a2c_agent_play.gif", seed=args.seed,
                            headless=args.headless, greedy=True)
    if args.render:
        print("--render is not available for the batch of Catcher games: use --play to watch.")
    print(f"Train on Catcher ({args.envs} games at once, {CATCHER_SIZE}x{CATCHER_SIZE} "
          f"grayscale frames, {CATCHER_FRAMES} stacked)")
    trainer, agent = train_catcher(seed=args.seed, episode_count=args.episodes,
                                   max_steps=args.steps, n_games=args.envs)
    finish_training(trainer, agent, path, show=not args.no_show)
    report_catch_rates(trainer)
    return trainer


if __name__ == "__main__":
    main()
