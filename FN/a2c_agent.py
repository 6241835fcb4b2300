"""Day4: Advantage Actor-Critic (A2C) — a policy (actor) and a value (critic) in one network.

The network has one body and two heads: the actor gives a score (logit) per action, the critic
V(s), the value of the state. A2C learns only from the current policy's experience (no replay);
to get enough of it quickly, it steps several environments at once. The file reads in the order
of the algorithm:

1. the **rollout** (``Rollout``): every environment plays a few steps with the current policy;
2. the **n-step returns** (``n_step_returns``): G = the rewards of those steps, then the
   critic's own estimate γⁿ V(s_{t+n}) of the state reached, unless the episode really ended;
3. the **advantage** A = G − V(s): how much better the action turned out than expected;
4. the **loss** (``actor_critic_loss``): the actor follows ∇ log π(a|s) · A, the critic learns
   to predict G, and an entropy bonus keeps the policy from becoming certain too early.

Two traps the code comments on: V(s) inside the advantage is a constant for the actor's
gradient, and the return bootstraps through a time limit but not through a real termination.

``python FN/a2c_agent.py`` trains ``ActorCriticAgent`` (the book's convolutional network) on
Catcher from its pixels, 32 games at once: about 200,000 frames, one to two minutes on two CPU
cores, to a catch rate above 90% (``benchmarks/catcher.py``), where the book needed a GPU.
``--test`` trains ``ActorCriticAgentTest`` (an MLP) on CartPole-v1, 16 environments at once, to
a greedy return of 475 in about 8,000 steps and a second or two (``benchmarks/cartpole.py``
races Stable-Baselines3's A2C on the same work).

Changes from the book, and why: TensorFlow 2's ``tf.function`` and ``tf.GradientTape`` do the
update, and the agent acts through a fast forward pass, never ``model.predict``. The book ran one
environment and standardized the returns; here the returns bootstrap from the critic and the
gradient norm is clipped. The trainer can standardize the advantages instead
(``normalize_advantages``), but neither mode does: on Catcher it broke learning
(``CATCHER_SETTINGS``), on CartPole it changed nothing (median 8,000 steps to 475 either way,
seeds 0-2). On CartPole the actor and the critic get a body each (``make_mlp`` says why), and
the optimizer is RMSprop (``TEST_MODE_SETTINGS``). The greedy policy is evaluated
periodically and the best weights are kept; ``--play`` plays greedily too, and says so, as
actions drawn from the policy can score far lower. Each training run has a folder of its own
(``outputs/FN/a2c_agent/cartpole/<run>/`` with ``--test``, ``.../catcher/<run>/`` otherwise);
``--play`` plays the newest, or ``--model``.
"""

from common import new_run_dir, positive_int

import keras
import numpy as np
import tensorflow as tf
from gymnasium.vector import AutoresetMode

from FN.cartpole_observer import make_cartpole
from FN.catcher_observer import catch_rate_score, make_catcher_observer, report_catch_rates
from FN.fn_framework import Experience, FNAgent, Trainer
from FN.forward_pass import BranchedForward, CompiledForward, SampleLayer, gumbel_max, softmax
from FN.training_run import finish_training, make_parser, play, train_mode, watch_render_mode

# CartPole (--test): the RL Zoo's A2C settings for CartPole-v1 (RMSprop, no entropy bonus,
# advantages as they come), with twice the environments and twice its learning rate: one
# update per 80 steps instead of 40 halves the updates, which cost more than the steps.
# Measured, steps to a greedy 475 (evaluated every 2,000 steps) on seeds 0-5: 8 × 5 steps at
# 7e-4: median 8,000 (seeds 0-2), 16 × 5 at 1.4e-3: 4,000 to 28,000, median 8,000 (seeds 0-5);
# 16 × 5 at 1e-3 or 2e-3, 32 × 5 at 2e-3, or Adam at 1e-3: 16,000 or more, or not within
# 40,000. The evaluation costs time too: every 2,000 steps keeps the wait after reaching 475
# short, and 20 greedy episodes of a poor policy are over quickly.
TEST_MODE_SETTINGS = {"buffer_size": 256, "batch_size": 80, "gamma": 0.99, "learning_rate": 1.4e-3,
                      "optimizer": "rmsprop", "entropy_weight": 0.0,
                      "normalize_advantages": False}
TEST_MODE_ENVS = 16
TEST_MODE_MAX_STEPS = 100_000
TEST_MODE_EVALUATION = {"interval": 2_000, "episode_count": 20, "target": 475.0}

# Catcher: 32 games at once, seen as make_catcher_observer shows them, and how A2C learns.
CATCHER_GAMES = 32
CATCHER_SETTINGS = {
    "buffer_size": 256, "batch_size": 256, "gamma": 0.99, "learning_rate": 7e-4,  # 8 steps × 32
    # Catcher's rewards are rare: most advantages are small noise, and standardizing them
    # blows that noise up to full size. Measured with seed 0: with it, the policy became
    # deterministic within 50,000 steps and never learned; without it, 90% at 220,000 steps.
    "normalize_advantages": False,
}
CATCHER_MAX_STEPS = 400_000
# target None: train for all the steps, keep the best weights (no early stop at 90%).
CATCHER_EVALUATION = {"interval": 20_000, "episode_count": 10, "target": None}
OBSERVE_INTERVAL = 100
# ActorCriticTrainer's optimizer. RMSprop as A2C's authors and the RL Zoo set it: a decay of
# 0.99, and ε 1e-5 added to the root (PyTorch's); Keras adds ε under the root, where 1e-10
# does the same.
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


def actor_critic_loss(logits, values, actions, returns, mask, value_loss_weight,
                      entropy_weight, normalize_advantages):
    """``(loss, policy_loss, value_loss, entropy)`` of a batch of transitions: the advantage
    A = G − V(s) weighs ∇ log π(a|s), the critic learns to predict G, the entropy bonus keeps
    the policy uncertain. ``mask`` is 0 for a step that only reset an environment."""
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
    entropy = -tf.reduce_sum(mask * tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=1)) / count
    loss = policy_loss + value_loss_weight * value_loss - entropy_weight * entropy
    return loss, policy_loss, value_loss, entropy


class ActorCriticAgent(FNAgent):
    """One network, two heads: ``action_evals`` (logits of the policy) and ``values`` (V(s)).

    ``self.model`` maps states to ``[actions, action_evals, values]`` (``actions`` drawn by the
    book's ``SampleLayer``). ``make_model`` builds a convolutional body for stacked frames and
    an MLP body for vectors."""

    hidden_units = (64, 64)

    def __init__(self, actions, epsilon=0.0):
        # epsilon is 0: the policy explores by sampling, helped by the entropy bonus.
        super().__init__(epsilon=epsilon, actions=actions)
        self.estimate_probs = True

    def make_model(self, feature_shape):
        """``FNAgent.make_model``, but the update is never compiled with XLA: for this MLP's
        update XLA took 12 to 14 s to compile and then ran no faster (1.9 ms a call against
        1.4-1.6 ms without it, batches of 80, measured on two busy cores)."""
        super().make_model(feature_shape)
        self.jit_compile = False

    def initialize(self, experiences, optimizer, **updater_options):
        """The book's ``initialize``; ``updater_options`` go to ``set_updater``."""
        self.make_model(np.shape(experiences[0].s))
        self.set_updater(optimizer, **updater_options)
        self.refresh_forward()
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def _heads(self, actor_features, critic_features, value_initializer="glorot_uniform"):
        # Small initial logits: the first policy is close to uniform.
        action_evals = keras.layers.Dense(
            len(self.actions), kernel_initializer=keras.initializers.Orthogonal(0.01),
            name="action_evals")(actor_features)
        values = keras.layers.Dense(1, kernel_initializer=value_initializer,
                                    name="values")(critic_features)
        actions = SampleLayer(name="actions")(action_evals)
        return [actions, action_evals, values]

    def make_cnn(self, feature_shape):
        """The book's network for frames: DQN's trunk (three convolutions with
        ``padding="same"``, then 256 units), then the policy head and the value head."""
        normal = keras.initializers.GlorotNormal()
        x = inputs = keras.Input(shape=tuple(feature_shape))
        for filters, size, strides in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = keras.layers.Conv2D(filters, kernel_size=size, strides=strides, padding="same",
                                    kernel_initializer=normal, activation="relu")(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(256, kernel_initializer=normal, activation="relu")(x)
        return keras.Model(inputs, self._heads(x, x, normal), name="actor_critic")

    def make_mlp(self, feature_shape):
        """Vectors (CartPole): the actor and the critic each get a body of their own.

        The book's test network shares one body between the heads, as the CNN does. On
        CartPole that learned slowly, probably because the critic's squared error on returns
        of up to ~100 dwarfs the policy gradient in a shared body. With the RL Zoo's settings
        (8 environments, 5 steps, RMSprop 7e-4), the shared body reached 475 on one seed of
        0, 1, 2 within 60,000 steps; two bodies reached it on all three, at a median of
        10,000 steps. The heads, their names and the model's outputs stay the book's.
        Orthogonal initial weights (gain √2 for tanh layers) as in OpenAI Baselines.
        """
        inputs = keras.Input(shape=tuple(feature_shape))
        bodies = []
        for role in ("actor", "critic"):
            x = inputs
            for i, units in enumerate(self.hidden_units):
                x = keras.layers.Dense(units, activation="tanh", name=f"{role}_hidden_{i}",
                                       kernel_initializer=keras.initializers.Orthogonal(2**0.5)
                                       )(x)
            bodies.append(x)
        return keras.Model(inputs, self._heads(*bodies, keras.initializers.Orthogonal(1.0)),
                           name="actor_critic")

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

    def loss_terms(self, states, actions, returns, mask):
        """``(loss, policy_loss, value_loss, entropy)`` of one batch (``actor_critic_loss``)."""
        _, logits, values = self.model(states, training=True)
        return actor_critic_loss(logits, tf.squeeze(values, axis=1), actions, returns, mask,
                                 self._value_loss_weight, self._entropy_weight,
                                 self._normalize_advantages)

    def set_updater(self, optimizer, value_loss_weight=1.0, entropy_weight=0.1, *,
                    max_grad_norm=0.5, normalize_advantages=True):
        """The book's ``set_updater(optimizer, value_loss_weight, entropy_weight)``, with its
        defaults; the keyword-only arguments are additions (gradient-norm clip, standardized
        advantages). The trainer passes its tuned weights (0.5 and 0.01)."""
        self.optimizer = optimizer
        self._value_loss_weight = value_loss_weight
        self._entropy_weight = entropy_weight
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

        # jit_compile was chosen with the network (make_model).
        self._updater = tf.function(updater, jit_compile=self.jit_compile)

    def update(self, states, actions, returns, mask=None):
        """One update on a batch; returns ``(loss, policy_loss, value_loss, entropy)``."""
        returns = np.asarray(returns, dtype=np.float32).reshape(-1)
        mask = np.ones_like(returns) if mask is None else np.asarray(mask, np.float32).reshape(-1)
        result = self._updater(np.asarray(states, np.float32), np.asarray(actions, np.int32),
                               returns, mask)
        self.forward.sync()
        return tuple(float(x) for x in result.numpy())

    def estimate(self, s):
        """The policy's action probabilities in state ``s``."""
        logits, _ = self.evaluate_states(np.asarray(s)[np.newaxis])
        return softmax(logits)[0]

    def greedy_actions(self, states):
        logits, _ = self.evaluate_states(states)
        return logits.argmax(axis=1)


class ActorCriticAgentTest(ActorCriticAgent):
    """The book's agent for a quick check on CartPole: ``make_model`` gives it the MLP body."""


class ActorCriticTrainer(Trainer):
    """A2C training on a batch of environments (an ``Observer`` of a gymnasium vector env).

    ``batch_size`` is the number of transitions per update: each of the ``n`` environments
    plays ``batch_size // n`` steps between updates. ``buffer_size`` only keeps the book's
    signature (the book built the network after that many random steps; here the first
    rollout does). The keyword-only arguments are additions; ``optimizer`` names one of
    ``OPTIMIZERS`` (the book's Adam by default)."""

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

    def make_buffer(self, env):
        """The rollout: ``batch_size // n`` steps of each of the ``n`` environments."""
        n_steps = max(1, self.batch_size // env.num_envs)
        return Rollout(n_steps, env.num_envs, env.observation_space.shape)

    def train(self, env, episode_count=10_000, test_mode=False, render=False, max_steps=None,
              observe_interval=0):
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

    def train_loop(self, env, agent, episode=10_000, render=False, observe_interval=0,
                   max_steps=None):
        """Play a rollout of all environments together, update on it, and again.

        Each finished sub-environment episode counts as one episode. The first rollout
        (random actions) only builds the network, so that every update learns from the current
        policy's experience. Every ``observe_interval`` updates, the environments' newest
        frames go to TensorBoard."""
        if not env.is_vector or AutoresetMode(env.env.metadata.get(
                "autoreset_mode", AutoresetMode.NEXT_STEP)) != AutoresetMode.NEXT_STEP:
            raise ValueError("ActorCriticTrainer steps several environments at once: pass an "
                             "Observer of a vector environment that resets with NEXT_STEP")
        self.reset_state(env)
        rollout = self.experiences
        n = env.num_envs
        states = env.reset()
        previous_done = np.zeros(n, dtype=bool)
        episode_rewards = np.zeros(n)
        episode_lengths = np.zeros(n, dtype=int)
        with self.session(agent, total=max_steps, unit="step") as bar:
            while len(self.reward_log) < episode:
                for t in range(rollout.n_steps):
                    if render:
                        env.render()
                    actions, rollout.values[t] = agent.act(states)
                    n_states, rewards, dones, info = env.step(actions)
                    # Next-step autoreset: the step after an episode's end only resets that
                    # environment (its action is ignored), so it is not a transition.
                    valid = ~previous_done
                    rollout.states[t], rollout.actions[t], rollout.rewards[t] = (
                        states, actions, rewards)
                    rollout.terminated[t] = info["terminated"]
                    rollout.truncated[t] = info["truncated"]
                    rollout.valid[t] = valid
                    self.total_steps += int(valid.sum())
                    episode_rewards += np.where(valid, rewards, 0.0)
                    episode_lengths += valid
                    for j in np.flatnonzero(dones & valid):
                        self.record_episode(len(self.reward_log), episode_lengths[j],
                                            episode_rewards[j])
                        self.report(len(self.reward_log) - 1)
                        episode_rewards[j], episode_lengths[j] = 0.0, 0
                    previous_done = np.asarray(dones, dtype=bool)
                    states = n_states
                rollout.last_states = states
                bar.update(int(rollout.valid.sum()))
                if not self.training:
                    self.start_training(len(self.reward_log), agent)
                else:
                    losses = agent.update(*self.make_batch(agent))
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
                    bar.set_postfix(reward=f"{recent:.1f}", episodes=len(self.reward_log),
                                    refresh=False)
                self.evaluate_if_due(agent)
                if self.should_stop(max_steps):
                    break


def train_test_mode(seed=0, episode_count=10_000, max_steps=TEST_MODE_MAX_STEPS,
                    n_envs=TEST_MODE_ENVS, render=False, log_dir="", evaluation=None,
                    **overrides):
    """Train ``ActorCriticAgentTest`` on CartPole-v1; ``overrides`` and ``evaluation`` replace
    entries of ``TEST_MODE_SETTINGS`` and ``TEST_MODE_EVALUATION``. Returns (trainer, agent)."""
    trainer = ActorCriticTrainer(log_dir=log_dir, file_name="a2c_agent_test.keras",
                                 **dict(TEST_MODE_SETTINGS, **overrides))
    evaluation = dict(TEST_MODE_EVALUATION, **(evaluation or {}))
    env = make_cartpole(num_envs=n_envs, render_mode=watch_render_mode() if render else None)
    return train_mode(trainer, env, seed, make_cartpole(num_envs=evaluation["episode_count"]),
                      evaluation, episode_count=episode_count, test_mode=True,
                      render=render, max_steps=max_steps)


def train_catcher(seed=0, episode_count=10_000, max_steps=CATCHER_MAX_STEPS,
                  n_games=CATCHER_GAMES, observe_interval=OBSERVE_INTERVAL, log_dir="",
                  evaluation=None, **overrides):
    """Train ``ActorCriticAgent`` on ``n_games`` Catcher games at once, as ``train_test_mode``
    with ``CATCHER_SETTINGS`` and ``CATCHER_EVALUATION``; the agent keeps its best weights."""
    trainer = ActorCriticTrainer(log_dir=log_dir, file_name="a2c_agent.keras",
                                 **dict(CATCHER_SETTINGS, **overrides))
    evaluation = dict(CATCHER_EVALUATION, **(evaluation or {}))
    trainer, agent = train_mode(
        trainer, make_catcher_observer(num_games=n_games), seed,
        make_catcher_observer(num_games=evaluation["episode_count"]), evaluation,
        catch_rate_score, "catch_rate", episode_count=episode_count, max_steps=max_steps,
        observe_interval=observe_interval)
    report_catch_rates(trainer)
    return trainer, agent


def main(argv=None):
    parser = make_parser("Train an Advantage Actor-Critic on Catcher from its pixels, many games "
                         "at once (or watch a trained one). Use --test for CartPole-v1.",
                         episodes=10_000, mode_steps=(CATCHER_MAX_STEPS, TEST_MODE_MAX_STEPS))
    parser.add_argument("--envs", type=positive_int, default=None,
                        help=f"environments stepped together (default {CATCHER_GAMES} Catcher "
                             f"games, {TEST_MODE_ENVS} CartPoles with --test)")
    args = parser.parse_args(argv)
    kind = "cartpole" if args.test else "catcher"
    if args.play:  # greedy, as the evaluations measure the agent (see the module docstring)
        agent_class = ActorCriticAgentTest if args.test else ActorCriticAgent
        return play(args, __file__, agent_class, make_cartpole, kind, greedy=True)
    run_dir = new_run_dir(__file__, kind=kind)
    if args.test:
        envs = args.envs or TEST_MODE_ENVS
        print(f"Train on test mode (CartPole-v1, {envs} environments at once)")
        trainer, agent = train_test_mode(seed=args.seed, episode_count=args.episodes,
                                         max_steps=args.steps or TEST_MODE_MAX_STEPS,
                                         n_envs=envs, render=args.render, log_dir=run_dir)
    else:
        if args.render:
            print("--render draws nothing for a batch of Catcher games: use --play to watch.")
        envs = args.envs or CATCHER_GAMES
        print(f"Train on Catcher ({envs} games at once, 40x40 grayscale frames, 2 stacked)")
        trainer, agent = train_catcher(seed=args.seed, episode_count=args.episodes,
                                       max_steps=args.steps or CATCHER_MAX_STEPS, n_games=envs,
                                       log_dir=run_dir)
    finish_training(trainer, agent, trainer.file_name, show=not args.no_show)
    return trainer


if __name__ == "__main__":
    main()
