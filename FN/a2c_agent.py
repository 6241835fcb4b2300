"""Day4: Advantage Actor-Critic (A2C): a policy (actor) and a value (critic) in one network.

The network has one body and two heads: the actor's score (logit) per action and the critic's
V(s). A2C learns only from the current policy's experience, so it plays several environments
at once. Top to bottom, the file reads as the algorithm: the rollout (``Rollout``), the n-step
returns (``n_step_returns``), the advantage A = G − V(s) and the loss
(``actor_critic_loss``), then the agent, the network and the trainer's hooks.

``python FN/a2c_agent.py`` learns Catcher from its pixels, 32 games at once; ``--test`` learns
CartPole-v1 with the MLP of ``ActorCriticAgentTest``, 16 environments at once; ``--play``
watches a saved run, greedily. Measurements and tuning history: doc/day4.md.

Changes from the book: TensorFlow 2's ``tf.function`` and ``tf.GradientTape``; returns that
bootstrap from the critic instead of standardized Monte Carlo returns; a clipped gradient norm;
on CartPole a body each for the actor and the critic, and RMSprop; the best weights are kept.
"""

from common import new_run_dir, positive_int

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from envs.catcher import GRAY_WEIGHTS, CatcherVectorEnv, area_weights
from FN.fast_forward import BranchedForward, CompiledForward, softmax
from FN.fn_framework import (
    CartPoleObserver,
    Experience,
    FNAgent,
    Observer,
    Trainer,
    catch_rate_score,
    make_cartpole,
    make_parser,
    play,
    prepare_run,
    watch_render_mode,
)

# CartPole (--test): the RL Zoo's A2C settings, with twice its environments and learning rate
# (doc/day4.md has the measurements that chose them).
TEST_MODE_SETTINGS = {"buffer_size": 256, "batch_size": 80, "gamma": 0.99, "learning_rate": 1.4e-3,
                      "optimizer": "rmsprop", "entropy_weight": 0.0,
                      "normalize_advantages": False}
TEST_MODE_ENVS = 16
TEST_MODE_MAX_STEPS = 100_000
TEST_MODE_EVALUATION = {"interval": 2_000, "episode_count": 20, "target": 475.0}

# Catcher: 32 games at once, seen as 40x40 frames, 2 stacked (as DQN sees it), and how A2C
# learns.
CATCHER_GAMES, CATCHER_SIZE, CATCHER_FRAMES = 32, 40, 2
CATCHER_SETTINGS = {
    "buffer_size": 256, "batch_size": 256, "gamma": 0.99, "learning_rate": 7e-4,  # 8 steps × 32
    # Catcher's rewards are rare: standardized advantages blow their noise up (doc/day4.md).
    "normalize_advantages": False,
}
CATCHER_MAX_STEPS = 400_000
# target None: train for all the steps, keep the best weights (no early stop at 90%).
CATCHER_EVALUATION = {"interval": 20_000, "episode_count": 10, "target": None}
OBSERVE_INTERVAL = 100
# RMSprop as A2C's authors set it: decay 0.99, and ε 1e-5 added to the root (PyTorch's);
# Keras adds ε under the root, where 1e-10 does the same.
OPTIMIZERS = {
    "adam": lambda learning_rate: keras.optimizers.Adam(learning_rate=learning_rate),
    "rmsprop": lambda learning_rate: keras.optimizers.RMSprop(learning_rate=learning_rate,
                                                              rho=0.99, epsilon=1e-10),
}


class Rollout:
    """What A2C learns from: ``n_steps`` steps of ``n_envs`` environments with the current
    policy, as (steps, envs) arrays, for one update. ``values`` holds V(s_t); ``valid`` is False
    for a step that only reset an environment; the returns bootstrap from ``last_states``."""

    def __init__(self, n_steps, n_envs, state_shape):
        self.states = np.zeros((n_steps, n_envs, *state_shape), dtype=np.float32)
        self.actions = np.zeros((n_steps, n_envs), dtype=np.int64)
        self.rewards = np.zeros((n_steps, n_envs), dtype=np.float32)
        self.values = np.zeros((n_steps, n_envs), dtype=np.float32)
        self.terminated = np.zeros((n_steps, n_envs), dtype=np.float32)
        self.truncated = np.zeros((n_steps, n_envs), dtype=bool)
        self.valid = np.zeros((n_steps, n_envs), dtype=bool)
        self.last_states = None
        self.n_steps = n_steps


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


def actor_critic_loss(logits, values, actions, returns, mask, entropies, value_loss_weight,
                      entropy_weight, normalize_advantages):
    """``(loss, policy_loss, value_loss, entropy)`` of a batch of transitions: the advantage
    A = G − V(s) weighs ∇ log π(a|s), the critic learns to predict G, the entropy bonus keeps
    the policy uncertain. ``entropies`` holds the policy's entropy in each state
    (``ActorCriticAgent.categorical_entropy``); ``mask`` is 0 for a step that only reset an
    environment."""
    log_probs = tf.nn.log_softmax(logits)
    taken = tf.gather(log_probs, actions, axis=1, batch_dims=1)
    count = tf.maximum(tf.reduce_sum(mask), 1.0)
    # The critic's value is a baseline here: a constant for the actor's gradient.
    advantages = returns - tf.stop_gradient(values)
    if normalize_advantages:
        mean = tf.reduce_sum(mask * advantages) / count
        std = tf.sqrt(tf.reduce_sum(mask * tf.square(advantages - mean)) / count)
        advantages = (advantages - mean) / (std + 1e-8)
    policy_loss = -tf.reduce_sum(mask * taken * advantages) / count
    value_loss = tf.reduce_sum(mask * tf.square(returns - values)) / count
    entropy = tf.reduce_sum(mask * entropies) / count
    loss = policy_loss + value_loss_weight * value_loss - entropy_weight * entropy
    return loss, policy_loss, value_loss, entropy


class ActorCriticAgent(FNAgent):
    """One network, two heads: ``action_evals`` (logits of the policy) and ``values`` (V(s)).

    ``self.model`` maps states to ``[actions, action_evals, values]``, ``actions`` drawn by
    ``SampleLayer``; the agent acts through a fast forward pass of the two heads.
    """

    def __init__(self, actions, epsilon=0.0):
        # epsilon is 0: the policy explores by sampling, helped by the entropy bonus.
        super().__init__(epsilon=epsilon, actions=actions)
        self.estimate_probs = True

    @classmethod
    def load(cls, env, model_path, *, train_command=None):
        """The book's ``load``: the saved network, ``SampleLayer`` and all."""
        agent = cls(list(range(env.action_space.n)))
        return agent.load_model(env, model_path, train_command)

    def initialize(self, experiences, optimizer, **updater_options):
        """The book's ``initialize``; ``updater_options`` go to ``set_updater``."""
        self.make_model(np.shape(experiences[0].s))
        self.set_updater(optimizer, **updater_options)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def make_model(self, feature_shape):
        """The book's network for frames: DQN's trunk (three convolutions with
        ``padding="same"``, then 256 units), then the policy head and the value head."""
        normal = keras.initializers.GlorotNormal()
        x = inputs = keras.Input(shape=tuple(feature_shape))
        for filters, size, strides in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = keras.layers.Conv2D(filters, kernel_size=size, strides=strides, padding="same",
                                    kernel_initializer=normal, activation="relu")(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(256, kernel_initializer=normal, activation="relu")(x)
        self.model = keras.Model(inputs, self._heads(x, x, normal), name="actor_critic")

    def _heads(self, actor_features, critic_features, value_initializer="glorot_uniform"):
        # Small initial logits: the first policy is close to uniform.
        action_evals = keras.layers.Dense(
            len(self.actions), kernel_initializer=keras.initializers.Orthogonal(0.01),
            name="action_evals")(actor_features)
        values = keras.layers.Dense(1, kernel_initializer=value_initializer,
                                    name="values")(critic_features)
        actions = SampleLayer(name="actions")(action_evals)
        return [actions, action_evals, values]

    def set_updater(self, optimizer, value_loss_weight=1.0, entropy_weight=0.1, *,
                    max_grad_norm=0.5, normalize_advantages=True):
        """The book's ``set_updater(optimizer, value_loss_weight, entropy_weight)``, with its
        defaults; the keyword-only arguments are additions (gradient-norm clip, standardized
        advantages). The trainer passes its tuned weights (0.5 and 0.01)."""
        self.optimizer = optimizer
        variables = self.model.trainable_variables
        self.optimizer.build(variables)

        def updater(states, actions, returns, mask):
            with tf.GradientTape() as tape:
                _, logits, values = self.model(states, training=True)
                terms = actor_critic_loss(logits, tf.squeeze(values, axis=1), actions, returns,
                                          mask, self.categorical_entropy(logits),
                                          value_loss_weight, entropy_weight,
                                          normalize_advantages)
            gradients = tape.gradient(terms[0], variables)
            gradients, _ = tf.clip_by_global_norm(gradients, max_grad_norm)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return tf.stack(terms)

        # No XLA: for these updates it compiled for seconds and ran no faster (doc/day4.md).
        self._updater = tf.function(updater, jit_compile=False)

    def categorical_entropy(self, logits):
        """The entropy H = −Σ_a π(a|s) log π(a|s) of the policy in each row of ``logits``.
        ``log_softmax`` subtracts each row's largest logit first: exp() cannot overflow."""
        log_probs = tf.nn.log_softmax(logits)
        return -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)

    def refresh_forward(self):
        # The two heads' outputs: a NumPy copy of the MLP, or a compiled pass of the CNN.
        layers = {layer.name: layer for layer in self.model.layers}
        if "actor_hidden_0" in layers:
            self.forward = BranchedForward([], [
                [layers[name] for name in sorted(layers) if name.startswith(f"{role}_hidden_")]
                + [layers[head]] for role, head in (("actor", "action_evals"),
                                                    ("critic", "values"))])
        else:
            heads = [layers["action_evals"], layers["values"]]
            self.forward = CompiledForward(keras.Model(self.model.inputs,
                                                       [head.output for head in heads]))

    def evaluate_states(self, states):
        logits, values = self.forward(states)  # the fast forward pass of the two heads
        return np.asarray(logits), np.asarray(values).reshape(-1)

    def act(self, states):
        """An action drawn from the policy for each state, and V(s), for the rollout (random
        actions and V = 0 before the network exists)."""
        if not self.initialized:
            return (np.random.randint(len(self.actions), size=len(states)),
                    np.zeros(len(states), dtype=np.float32))
        logits, values = self.evaluate_states(states)
        return gumbel_max(logits), values

    def policy(self, s):
        """An action drawn from the policy in state ``s`` (as ``SampleLayer`` draws it)."""
        actions, _ = self.act(np.asarray(s)[np.newaxis])
        return int(actions[0])

    def estimate(self, s):
        """The policy's action probabilities in state ``s``."""
        logits, _ = self.evaluate_states(np.asarray(s)[np.newaxis])
        return softmax(logits)[0]

    def update(self, states, actions, rewards, mask=None):
        """One update on a batch; returns ``(loss, policy_loss, value_loss, entropy)``.

        ``rewards`` (the book's name) are the n-step discounted returns of the rollout."""
        returns = np.asarray(rewards, dtype=np.float32).reshape(-1)
        mask = np.ones_like(returns) if mask is None else np.asarray(mask, np.float32).reshape(-1)
        result = self._updater(np.asarray(states, np.float32), np.asarray(actions, np.int32),
                               returns, mask)
        self.forward.sync()
        return tuple(float(x) for x in result.numpy())

    def greedy_actions(self, states):
        logits, _ = self.evaluate_states(states)
        return logits.argmax(axis=1)


@keras.saving.register_keras_serializable(package="FN")
class SampleLayer(keras.layers.Layer):
    """Draws one action per row from the categorical distribution given by logits.

    The Gumbel-max trick: argmax(logits + g) with g = −log(−log u), u ~ Uniform(0, 1), picks
    action a with probability softmax(logits)[a]. (No ``build``: Keras 3 builds a layer
    without weights by itself.)
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x):
        # x: the policy's logits. Adding Gumbel noise and taking the argmax samples from the
        # softmax of the logits.
        noise = keras.random.uniform(keras.ops.shape(x), minval=1e-10, maxval=1.0,
                                     seed=self.seed_generator)
        return keras.ops.argmax(x - keras.ops.log(-keras.ops.log(noise)), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def gumbel_max(logits):
    """SampleLayer's draw in NumPy, for acting on the fast forward pass's logits."""
    noise = np.random.uniform(1e-10, 1.0, size=np.shape(logits))
    return np.argmax(logits - np.log(-np.log(noise)), axis=-1)


class ActorCriticAgentTest(ActorCriticAgent):
    """The book's agent for a quick check on CartPole: an MLP instead of the CNN."""

    hidden_units = (64, 64)

    def make_model(self, feature_shape):
        """The actor and the critic each get a body of their own (the book shares one): on
        CartPole the critic's large squared errors swamped the policy gradient in a shared
        body (doc/day4.md). Orthogonal initial weights, as in OpenAI Baselines."""
        inputs = keras.Input(shape=tuple(feature_shape))
        bodies = []
        for role in ("actor", "critic"):
            x = inputs
            for i, units in enumerate(self.hidden_units):
                x = keras.layers.Dense(units, activation="tanh", name=f"{role}_hidden_{i}",
                                       kernel_initializer=keras.initializers.Orthogonal(2**0.5)
                                       )(x)
            bodies.append(x)
        self.model = keras.Model(inputs, self._heads(*bodies, keras.initializers.Orthogonal(1.0)),
                                 name="actor_critic")


class CatcherObserver(Observer):
    """The book's observer for Catcher, for a batch of games that restart (A2C plays 32 at
    once): the states of ``FN/dqn_agent.py``'s listing (a test keeps the two equal), made for
    the whole batch in two matrix products and kept as uint8 stacks. Under gymnasium's
    next-step autoreset, the step after a game's end restarts it: that starts a new stack."""

    def __init__(self, env, width, height, frame_count):
        super().__init__(env)
        self.width, self.height, self.frame_count = width, height, frame_count
        screen_height, screen_width = super().observation_space.shape[:2]
        self._rows = area_weights(screen_height, height)
        self._columns = np.ascontiguousarray(area_weights(screen_width, width).T)
        self.frames = np.zeros((self.num_envs, height, width, frame_count), dtype=np.uint8)
        self.fresh = np.ones(self.num_envs, dtype=bool)  # the stacks the next frame fills

    @property
    def observation_space(self):
        return spaces.Box(0.0, 1.0, (self.height, self.width, self.frame_count), np.float32)

    def reset(self, seed=None):
        self.fresh[:] = True
        return super().reset(seed)

    def step(self, action):
        state, reward, done, info = super().step(action)
        if self.is_vector:  # the games that ended restart on the next step, in a new stack
            self.fresh = np.array(done, dtype=bool)
        return state, reward, done, info

    def preprocess(self, frames):
        """(…, H, W, 3) RGB frames → (…, height, width) uint8 gray, area-averaged."""
        gray = np.asarray(frames, dtype=np.float32) @ GRAY_WEIGHTS
        return np.rint(self._rows @ gray @ self._columns).astype(np.uint8)

    def transform(self, state):
        """Push raw frames (one per game) onto the stacks; return the states."""
        small = self.preprocess(np.reshape(state, (self.num_envs, *np.shape(state)[-3:])))
        self.frames[..., :-1] = self.frames[..., 1:]
        self.frames[..., -1] = small
        self.frames[self.fresh] = small[self.fresh][..., np.newaxis]
        self.fresh[:] = False
        states = self.frames.astype(np.float32) * np.float32(1.0 / 255.0)
        return states if self.is_vector else states[0]


def make_catcher(num_games=None, render_mode=None, **game_kwargs):
    """Catcher as the agent sees it: ``num_games`` at once, or one game (``--play``);
    ``game_kwargs`` go to the game (``init_lives``, ...)."""
    game = (gym.make("Catcher-v0", render_mode=render_mode, **game_kwargs) if num_games is None
            else CatcherVectorEnv(num_games, render_mode=render_mode, **game_kwargs))
    return CatcherObserver(game, CATCHER_SIZE, CATCHER_SIZE, CATCHER_FRAMES)


class ActorCriticTrainer(Trainer):
    """A2C training on a batch of environments (an ``Observer`` of a gymnasium vector env).

    ``batch_size`` is the number of transitions per update: each of the ``n`` environments
    plays ``batch_size // n`` steps between updates. ``buffer_size`` only keeps the book's
    signature. The keyword-only arguments are additions; ``optimizer`` names one of
    ``OPTIMIZERS`` (the book's Adam by default).
    """

    def __init__(self, buffer_size=256, batch_size=32, gamma=0.99, learning_rate=1e-3,
                 report_interval=10, log_dir="", file_name="", *, entropy_weight=0.01,
                 value_loss_weight=0.5, max_grad_norm=0.5, normalize_advantages=True,
                 optimizer="adam"):
        super().__init__(buffer_size, batch_size, gamma, report_interval, log_dir)
        self.optimizer = optimizer
        self.file_name = file_name if file_name else "a2c_agent.keras"
        self.learning_rate = learning_rate
        self.entropy_weight = entropy_weight
        self.value_loss_weight = value_loss_weight
        self.max_grad_norm = max_grad_norm
        self.normalize_advantages = normalize_advantages
        self.observe_interval = 0
        # What the loop knows of the current step beyond its Experience: V(s), the time-limit
        # ends, and which environments really stepped (see train_loop).
        self.values = self.truncated = self.valid = None

    def make_buffer(self, env):
        """The rollout: ``batch_size // n`` steps of each of the ``n`` environments."""
        n_steps = max(1, self.batch_size // env.num_envs)
        return Rollout(n_steps, env.num_envs, env.observation_space.shape)

    def train(self, env, episode_count=10_000, test_mode=False, render=False, max_steps=None,
              observe_interval=OBSERVE_INTERVAL):
        actions = list(range(env.action_space.n))
        agent = ActorCriticAgentTest(actions) if test_mode else ActorCriticAgent(actions)
        self.train_loop(env, agent, episode_count, render=render, max_steps=max_steps,
                        observe_interval=0 if test_mode else observe_interval)
        return agent

    def begin_train(self, episode, agent):
        optimizer = OPTIMIZERS[self.optimizer](self.learning_rate)
        state = self.experiences.states[0, 0]  # the network needs the shape of one state
        agent.initialize([Experience(state, 0, 0.0, state, False)], optimizer,
                         value_loss_weight=self.value_loss_weight,
                         entropy_weight=self.entropy_weight, max_grad_norm=self.max_grad_norm,
                         normalize_advantages=self.normalize_advantages)
        self.logger.set_model(agent.model)

    def step(self, episode, step_count, agent, experience):
        """One step of all environments (``experience`` holds batches): store it in the
        rollout; once the rollout is full, learn from it (the first one builds the network)."""
        rollout = self.experiences
        t = step_count % rollout.n_steps
        rollout.states[t], rollout.actions[t], rollout.rewards[t] = (
            experience.s, experience.a, experience.r)
        rollout.terminated[t] = experience.d
        rollout.values[t], rollout.truncated[t], rollout.valid[t] = (
            self.values, self.truncated, self.valid)
        if t < rollout.n_steps - 1:
            return
        rollout.last_states = experience.n_s
        if not self.training:
            self.start_training(episode, agent)
            return
        losses = agent.update(*self.make_batch(agent))
        self.training_count += 1
        if self.observe_interval > 0 and (self.training_count == 1 or self.is_event(
                self.training_count, self.observe_interval)):
            self.logger.write_image(self.training_count,
                                    [self.to_image(state) for state in experience.n_s])
        for name, value in zip(("loss", "policy_loss", "value_loss", "entropy"), losses):
            self.logger.write(self.total_steps, f"losses/{name}", value)

    def make_batch(self, agent):
        """The book's ``make_batch(agent)``: the rollout as one batch ``(states, actions,
        returns, mask)``, the returns bootstrapped from the critic (``agent``) at its end."""
        rollout = self.experiences
        _, last_values = agent.evaluate_states(rollout.last_states)
        returns = n_step_returns(rollout.rewards, rollout.values, rollout.terminated,
                                 rollout.truncated, rollout.valid, last_values, self.gamma)
        states = rollout.states
        return (states.reshape(-1, *states.shape[2:]), rollout.actions.reshape(-1),
                returns.reshape(-1), rollout.valid.reshape(-1).astype(np.float32))

    def episode_end(self, episode, step_count, agent):
        """One environment's episode ended (its reward is in ``reward_log``)."""
        self.report(episode)

    def train_loop(self, env, agent, episode=10_000, render=False, observe_interval=0,
                   max_steps=None):
        """The framework's loop for a batch of environments: every step of all of them goes to
        ``step`` as one batch, and every environment's episode that ends to ``episode_end``
        (then ``episode_begin``). Stops after a whole rollout, as the framework's loop does
        after a whole episode."""
        if not env.is_vector or AutoresetMode(env.env.metadata.get(
                "autoreset_mode", AutoresetMode.NEXT_STEP)) != AutoresetMode.NEXT_STEP:
            raise ValueError("ActorCriticTrainer steps several environments at once: pass an "
                             "Observer of a vector environment that resets with NEXT_STEP")
        self.reset_state(env)
        self.observe_interval = observe_interval
        n_steps = self.experiences.n_steps
        states = env.reset()
        previous_done = np.zeros(env.num_envs, dtype=bool)
        episode_rewards = np.zeros(env.num_envs)
        episode_lengths = np.zeros(env.num_envs, dtype=int)
        step_count = 0
        with self.session(agent, total=max_steps, unit="step") as bar:
            self.episode_begin(0, agent)
            while True:
                if render:
                    env.render()
                actions, self.values = agent.act(states)
                n_states, rewards, dones, info = env.step(actions)
                # Next-step autoreset: the step after an episode's end only resets that
                # environment (its action is ignored), so it is not a transition.
                self.valid, self.truncated = ~previous_done, info["truncated"]
                self.total_steps += int(self.valid.sum())
                bar.update(int(self.valid.sum()))
                episode_rewards += np.where(self.valid, rewards, 0.0)
                episode_lengths += self.valid
                for j in np.flatnonzero(dones & self.valid):
                    self.record_episode(len(self.reward_log), episode_lengths[j],
                                        episode_rewards[j])
                    self.episode_end(len(self.reward_log) - 1, episode_lengths[j], agent)
                    self.episode_begin(len(self.reward_log), agent)
                    episode_rewards[j], episode_lengths[j] = 0.0, 0
                previous_done = np.asarray(dones, dtype=bool)
                experience = Experience(states, actions, rewards, n_states, info["terminated"])
                self.step(len(self.reward_log), step_count, agent, experience)
                states = n_states
                step_count += 1
                if step_count % n_steps:
                    continue  # the rollout goes on
                if self.reward_log:
                    recent = np.mean(self.reward_log[-self.report_interval:])
                    bar.set_postfix(reward=f"{recent:.1f}", episodes=len(self.reward_log),
                                    refresh=False)
                self.evaluate_if_due(agent)
                if self.should_stop(max_steps) or len(self.reward_log) >= episode:
                    break


def make_cartpoles(n_envs, render=False):
    """``n_envs`` CartPole-v1s stepped together; with ``render``, the first draws in a window."""
    if not watch_render_mode(render):
        return make_cartpole(n_envs)
    makers = [lambda i=i: gym.make("CartPole-v1", render_mode="human" if i == 0 else None)
              for i in range(n_envs)]
    return CartPoleObserver(gym.vector.SyncVectorEnv(makers))


def make_run(test_mode=False, seed=0, n_envs=None, render=False, log_dir="", evaluation=None,
             **overrides):
    """``(trainer, env)`` as ``--test`` (``n_envs`` CartPole-v1s) or the default run (``n_envs``
    Catcher games) trains: the tuned settings, the environments seeded, the periodic
    evaluation set; ``overrides`` and ``evaluation`` replace their entries. Then
    ``trainer.train(env, test_mode=..., max_steps=...)`` trains the agent."""
    settings = TEST_MODE_SETTINGS if test_mode else CATCHER_SETTINGS
    evaluation = dict(TEST_MODE_EVALUATION if test_mode else CATCHER_EVALUATION,
                      **(evaluation or {}))
    trainer = ActorCriticTrainer(log_dir=log_dir, file_name="a2c_agent_test.keras"
                                 if test_mode else "", **dict(settings, **overrides))
    if test_mode:
        env = make_cartpoles(n_envs or TEST_MODE_ENVS, render)
        return prepare_run(trainer, env, seed, make_cartpole(evaluation["episode_count"]),
                           evaluation)
    return prepare_run(trainer, make_catcher(n_envs or CATCHER_GAMES), seed,
                       make_catcher(evaluation["episode_count"]), evaluation, catch_rate_score,
                       "catch_rate")


def main(argv=None):
    parser = make_parser("Train an Advantage Actor-Critic on Catcher from its pixels, many games "
                         "at once (or watch a trained one). Use --test for CartPole-v1.",
                         episodes=10_000, mode_steps=(CATCHER_MAX_STEPS, TEST_MODE_MAX_STEPS))
    parser.add_argument("--envs", type=positive_int, default=None,
                        help=f"environments stepped together (default {CATCHER_GAMES} Catcher "
                             f"games, {TEST_MODE_ENVS} CartPoles with --test)")
    args = parser.parse_args(argv)
    kind = "cartpole" if args.test else "catcher"
    if args.play:  # greedy: actions drawn from the policy can score far lower (doc/day4.md)
        agent_class = ActorCriticAgentTest if args.test else ActorCriticAgent
        return play(args, __file__, agent_class, make_cartpole if args.test else make_catcher,
                    kind, greedy=True, gif=not args.test)
    envs = args.envs or (TEST_MODE_ENVS if args.test else CATCHER_GAMES)
    if args.test:
        print(f"テストモード (CartPole-v1) で、{envs} 個の環境を同時に進めて学習します "
              "(train on test mode)")
    else:
        if args.render:
            print("--render は Catcher のゲームの束を描けません。見るには --play を使います "
                  "(--render draws nothing for a batch: use --play).")
        print(f"Catcher で {envs} ゲームを同時に進めて学習します。40x40 のグレースケール画像を "
              "2 枚重ねて見ます (train on Catcher)")
    render = args.render and args.test
    trainer, env = make_run(args.test, args.seed, envs, render,
                            log_dir=new_run_dir(__file__, kind=kind))
    max_steps = args.steps or (TEST_MODE_MAX_STEPS if args.test else CATCHER_MAX_STEPS)
    agent = trainer.train(env, args.episodes, test_mode=args.test, render=render,
                          max_steps=max_steps)
    env.close()
    trainer.finish(agent, trainer.file_name, show=not args.no_show)
    return trainer


if __name__ == "__main__":
    main()
