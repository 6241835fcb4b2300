"""Day5: the framework that every function-approximation agent of the book is built on.

One long deep-RL run must never be wasted (Day5), so the code is split into parts and logs
everything. As in the book: ``Experience`` (one transition), ``FNAgent`` (``initialize``,
``estimate``, ``update``, ``policy``, ``play``, ``save``/``load``), ``Trainer`` (the loop and
its hooks ``episode_begin``, ``begin_train``, ``step``, ``episode_end``), ``Observer`` (the
adapter between an environment and an agent) and ``Logger`` (prints, TensorBoard, plots).
Below them: the fast forward passes, the periodic greedy evaluation, and the command line
that all FN scripts share. TensorFlow is imported only where a model needs it.

Changes from the book (doc/day5.md says more):
- gymnasium's ``terminated``/``truncated``: ``Experience.d`` is ``terminated`` only;
- agents act through NumPy or compiled forward passes, never ``model.predict``;
- the loop logs to TensorBoard, evaluates the greedy policy, keeps the best weights, bounds a
  run with ``max_steps``, and stops cleanly on Ctrl-C.
"""

import argparse
import contextlib
import inspect
import re
import time
from collections import deque, namedtuple
from pathlib import Path

from common import (
    atomic_path,
    display_available,
    exit_with_error,
    find_model,
    finish_training,
    load_keras_model,
    new_run_dir,
    output_dir,
    plot_reward_history,
    positive_int,
    reward_groups,
    seed_value,
    set_seed,
)

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv
from tqdm import tqdm

Experience = namedtuple("Experience", ["s", "a", "r", "n_s", "d"])


def stack_experiences(experiences):
    """A list of ``Experience`` as one ``Experience`` of arrays (floats as float32); a batch
    that ``sample`` returned passes as it is."""
    if isinstance(experiences, Experience):
        return experiences
    states = np.array([e.s for e in experiences], dtype=np.float32)
    actions = np.array([e.a for e in experiences])
    rewards = np.array([e.r for e in experiences], dtype=np.float32)
    next_states = np.array([e.n_s for e in experiences], dtype=np.float32)
    terminals = np.array([e.d for e in experiences], dtype=np.float32)
    return Experience(states, actions, rewards, next_states, terminals)


class FNAgent:
    """An agent whose value or policy is a function (a network) instead of a table.

    ``policy`` is ε-greedy on top of ``estimate``: with probability ε (or before the model is
    initialized) a random action, otherwise the best action, or an action drawn from the
    estimated probabilities when ``estimate_probs`` is True.
    """

    def __init__(self, epsilon, actions):
        self.epsilon = epsilon
        self.actions = actions
        self.model = None
        self.estimate_probs = False
        self.initialized = False
        self.forward = None
        self.jit_compile = False  # make_model says whether XLA compiles the updates

    def save(self, model_path):
        """Save the model as ``.keras``, atomically: an interrupted save leaves no broken file."""
        model_path = Path(model_path)
        if model_path.suffix != ".keras":
            raise ValueError(f"Keras models are saved as .keras files, got {model_path.name}")
        with atomic_path(model_path) as temporary:
            self.model.save(temporary)
        return model_path

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001, *, train_command=None):
        """The book's ``load``: an agent for ``env`` that acts with the saved model. A file that
        is missing, damaged or not a model, or a model made for states of another shape, ends
        the script with one sentence (exit status 2) that suggests ``train_command``."""
        agent = cls(epsilon=epsilon, actions=list(range(env.action_space.n)))
        return agent.load_model(env, model_path, train_command)

    def load_model(self, env, model_path, train_command=None):
        """Read ``self.model`` from ``model_path`` and check it fits ``env``; return ``self``."""
        train_command = train_command or f"python {type(self).__module__.replace('.', '/')}.py"
        self.model = load_keras_model(model_path, train_command, compile=False)
        expected = tuple(env.observation_space.shape)
        given = tuple(self.model.input_shape[1:])
        if given != expected:
            exit_with_error(f"{model_path} was trained on states of shape {given}, but this "
                            f"environment's states have shape {expected}; train a model for "
                            f"it with `{train_command}`")
        self.initialized = True
        self.refresh_forward()
        return self

    def refresh_forward(self):
        """(Re)build the fast forward pass from ``self.model``; call after replacing weights."""
        self.forward = make_forward(self.model)

    def initialize(self, experiences):
        raise NotImplementedError("FNAgent subclasses must implement initialize(experiences), "
                                  "which builds the model from the first experiences")

    def estimate(self, s):
        raise NotImplementedError("FNAgent subclasses must implement estimate(s), which returns "
                                  "the action values (or probabilities) for the state s")

    def update(self, experiences, gamma):
        raise NotImplementedError("FNAgent subclasses must implement update(experiences, gamma), "
                                  "which trains the model on a batch of experiences")

    def policy(self, s):
        if np.random.random() < self.epsilon or not self.initialized:
            return np.random.randint(len(self.actions))
        estimates = self.estimate(s)
        if self.estimate_probs:
            return int(np.random.choice(len(self.actions), p=estimates))
        return int(np.argmax(estimates))

    def greedy_actions(self, states):
        """The best action for each state of a batch (no exploration): what evaluations play."""
        return np.array([int(np.argmax(self.estimate(s))) for s in states])

    def play(self, env, episode_count=5, render=True, *, greedy=False):
        """Play ``episode_count`` episodes and return their rewards. The agent acts with its
        ``policy``, as in the book, or, with ``greedy``, takes the action it rates best (what
        the evaluations measure)."""
        rewards = []
        for _ in range(episode_count):
            s = env.reset()
            done = False
            episode_reward = 0.0
            while not done:
                if render:
                    env.render()
                a = self.greedy_actions(np.asarray(s)[None])[0] if greedy else self.policy(s)
                n_state, reward, done, _ = env.step(a)
                episode_reward += float(reward)
                s = n_state
            print(f"Get reward {episode_reward:.4g}.")
            rewards.append(episode_reward)
        return rewards


class Trainer:
    """Runs episodes, stores experiences and calls the hooks that each algorithm fills in.

    The order of the calls, for each episode ``i``::

        episode_begin(i, agent)
        for each step: (begin_train(i, agent) once, when training starts), step(i, n, agent, e)
        episode_end(i, step_count, agent)

    Training starts when the buffer is first full, after ``initial_count`` episodes, or after
    ``initial_steps`` steps, whichever comes first; ``self.training`` tells the hooks. Without
    ``log_dir``, the logs go to a new run folder of the trainer's script.
    """

    def __init__(self, buffer_size=1024, batch_size=32, gamma=0.9, report_interval=10,
                 log_dir=""):
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.gamma = gamma
        self.report_interval = report_interval
        self.logger = Logger(log_dir or new_run_dir(inspect.getfile(type(self))),
                             self.trainer_name)
        self.experiences = None  # made by train_loop, for the environment's states
        self.evaluation = None
        self.reset_state()

    @property
    def trainer_name(self):
        """The class name in snake case, without "_trainer": ``deep_q_network`` for DQN's."""
        snaked = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", type(self).__name__)
        snaked = re.sub("([a-z0-9])([A-Z])", r"\1_\2", snaked).lower()
        return snaked.replace("_trainer", "")

    def make_buffer(self, env):
        """The experience buffer for ``env``'s states: the book's deque. DQN chooses a NumPy
        replay buffer from the observation space instead."""
        return deque(maxlen=self.buffer_size)

    def reset_state(self, env=None):
        """Forget the last run (and, given ``env``, make a fresh buffer for its states)."""
        if env is not None:
            self.experiences = self.make_buffer(env)
        self.training = False
        self.training_count = 0
        self.total_steps = 0
        self.reward_log = []
        self.interrupted = False
        self.started_at = time.perf_counter()
        if self.evaluation is not None:
            self.evaluation.reset()

    def set_evaluation(self, env, interval, episode_count=20, target=None, keep_best=True,
                       seed=10_000, metric=None, metric_name="return"):
        """Evaluate the greedy policy on ``env`` every ``interval`` environment steps; stop at
        ``target``; with ``keep_best``, end with the weights of the best evaluation (Day5: a
        run that later degrades loses nothing). See ``PeriodicEvaluation``."""
        self.evaluation = PeriodicEvaluation(env, interval, episode_count, target, keep_best,
                                             seed, metric, metric_name)

    def evaluate_if_due(self, agent):
        if self.evaluation is not None:
            self.evaluation(agent, self.total_steps, self.training_seconds, self.logger)

    @property
    def training_seconds(self):
        """Seconds since the training loop started, without the time spent in evaluations."""
        spent = 0.0 if self.evaluation is None else self.evaluation.seconds
        return time.perf_counter() - self.started_at - spent

    def should_stop(self, max_steps):
        """True once the evaluation reached its target or ``max_steps`` steps were played."""
        reached = self.evaluation is not None and self.evaluation.reached
        return reached or bool(max_steps and self.total_steps >= max_steps)

    def start_training(self, episode, agent):
        self.begin_train(episode, agent)
        self.training = True

    def record_episode(self, episode, step_count, reward):
        self.reward_log.append(float(reward))
        self.logger.write(self.total_steps, "charts/episodic_return", float(reward))
        self.logger.write(self.total_steps, "charts/episodic_length", step_count)

    @contextlib.contextmanager
    def session(self, agent, total, unit):
        """What every training loop does around itself: a progress bar, and at the end
        (finished, target reached or Ctrl-C) the best weights kept and the logs flushed. Ctrl-C
        stops the loop without an error: ``interrupted`` is set, and the agent keeps what it
        has learned, so that the caller can save it."""
        self.started_at = time.perf_counter()
        bar = tqdm(total=total, desc=f"{self.trainer_name} training", unit=unit,
                   dynamic_ncols=True, leave=False)
        try:
            yield bar
        except KeyboardInterrupt:
            self.interrupted = True
            tqdm.write(f"Training interrupted at step {self.total_steps}; "
                       "keeping what has been learned.")
        finally:
            bar.close()
            if self.evaluation is not None:
                self.evaluation.restore_best(agent)
            self.logger.flush()

    def train_loop(self, env, agent, episode=200, initial_count=-1, render=False,
                   observe_interval=0, initial_steps=-1, max_steps=None):
        """Run up to ``episode`` episodes (and at most ``max_steps`` steps) with ``agent``.

        ``observe_interval`` collects the states seen during every ``observe_interval``-th
        training episode and writes them to TensorBoard as images (for pixel observations).
        """
        self.reset_state(env)
        frames = []
        with self.session(agent, total=episode, unit="episode") as bar:
            for i in range(episode):
                s = env.reset()
                done = False
                step_count = 0
                episode_reward = 0.0
                self.episode_begin(i, agent)
                while not done:
                    if render:
                        env.render()
                    if self.training and observe_interval > 0 and (
                            self.training_count == 1
                            or self.training_count % observe_interval == 0):
                        frames.append(s)
                    a = agent.policy(s)
                    n_state, reward, done, info = env.step(a)
                    # done (terminated or truncated) ends the episode, but only a real
                    # termination makes n_state terminal: a time limit must keep bootstrapping.
                    e = Experience(s, a, reward, n_state, info["terminated"])
                    self.experiences.append(e)
                    self.total_steps += 1
                    episode_reward += float(reward)
                    if not self.training and (len(self.experiences) == self.buffer_size
                                              or 0 < initial_steps <= self.total_steps):
                        self.start_training(i, agent)
                    self.step(i, step_count, agent, e)
                    s = n_state
                    step_count += 1
                    self.evaluate_if_due(agent)
                    if self.should_stop(max_steps):
                        break
                if not done:
                    break  # stopped in the middle of an episode: it is not recorded
                self.record_episode(i, step_count, episode_reward)
                self.episode_end(i, step_count, agent)
                bar.set_postfix(reward=f"{np.mean(self.reward_log[-self.report_interval:]):.1f}",
                                steps=self.total_steps, refresh=False)
                bar.update(1)
                if not self.training and 0 < initial_count <= i:
                    self.start_training(i, agent)
                if self.training:
                    if frames:
                        self.logger.write_image(self.training_count,
                                                [self.to_image(frame) for frame in frames])
                        frames = []
                    self.training_count += 1
                if self.should_stop(max_steps):
                    break

    def to_image(self, state):
        """The picture of a state for ``observe_interval``: a stack of frames (height, width,
        frames) shows its newest frame, as the book did; a single picture stays as it is."""
        state = np.asarray(state)
        return state[..., -1] if state.ndim == 3 else state

    def episode_begin(self, episode, agent):
        """Hook: an episode starts."""

    def begin_train(self, episode, agent):
        """Hook: training starts (typically: build the agent's model from the buffer)."""

    def step(self, episode, step_count, agent, experience):
        """Hook: one step was played and stored (typically: update the agent)."""

    def episode_end(self, episode, step_count, agent):
        """Hook: an episode ended (its reward is already in ``reward_log``)."""

    def is_event(self, count, interval):
        return count != 0 and interval > 0 and count % interval == 0

    def get_recent(self, count):
        """The last ``count`` experiences of the buffer, oldest first."""
        recent = range(max(0, len(self.experiences) - count), len(self.experiences))
        return [self.experiences[i] for i in recent]

    def report(self, episode):
        """The book's periodic line, every ``report_interval`` episodes."""
        if self.is_event(episode, self.report_interval):
            recent_rewards = self.reward_log[-self.report_interval:]
            self.logger.describe("reward", recent_rewards, episode=episode)

    def finish(self, agent, file_name, show=True):
        """The end of a run, also after Ctrl-C: save the agent in the run folder, plot the
        rewards, mark the run (``common.finish_training``, which exits with status 130 after
        Ctrl-C). Returns the model's path (``None`` when no model was built yet)."""
        path = None
        if agent.initialized:
            path = agent.save(self.logger.path_of(file_name))
            print(f"Saved {path}")
        else:
            print("Training stopped before the model was built: nothing to save.")
        if self.reward_log:
            self.logger.plot("Rewards", self.reward_log, self.report_interval,
                             show=show and not self.interrupted)
        print(f"TensorBoard logs: {self.logger.tensorboard_dir}")
        best = None
        if self.evaluation is not None and self.evaluation.results:
            steps, best = max(self.evaluation.results, key=lambda item: item[1])
            print(f"Best evaluation: {best:.4g} over {self.evaluation.episode_count} episodes "
                  f"(at step {steps}); {self.total_steps} steps in all.")
        finish_training(self.logger.log_dir, self.interrupted,
                        model=file_name if path else None, steps=self.total_steps,
                        episodes=len(self.reward_log), best_evaluation=best)
        return path


class Observer:
    """Sits between a gymnasium environment and an agent, and shapes what the agent sees.

    gymnasium's ``reset`` gives ``(obs, info)`` and ``step`` five values; the observer gives back
    the book's ``state`` and ``(state, reward, done, info)``, with both flags kept in ``info``.
    A vector environment works too: everything then comes as batches. Subclasses implement
    ``transform(state)``, which turns an observation into the agent's state.
    """

    def __init__(self, env):
        self._env = env

    @property
    def env(self):
        return self._env

    @property
    def is_vector(self):
        """True when the environment steps a batch of environments at once."""
        return isinstance(self._env, VectorEnv)

    @property
    def num_envs(self):
        return self._env.num_envs if self.is_vector else 1

    @property
    def action_space(self):
        return self._env.single_action_space if self.is_vector else self._env.action_space

    @property
    def observation_space(self):
        if self.is_vector:
            return self._env.single_observation_space
        return self._env.observation_space

    def reset(self, seed=None):
        state, _ = self._env.reset(seed=seed)
        return self.transform(state)

    def render(self):
        # With render_mode="human", gymnasium draws every step by itself; without a render
        # mode there is nothing to draw.
        if getattr(self._env, "render_mode", None) in (None, "human"):
            return None
        return self._env.render()

    def step(self, action):
        n_state, reward, terminated, truncated, info = self._env.step(action)
        # The classic trap: done ends the episode either way, but only `terminated` means
        # that n_state has no future. A truncated episode (time limit) must still bootstrap.
        if self.is_vector:
            done = np.logical_or(terminated, truncated)
        else:
            done = bool(terminated or truncated)
        info = dict(info, terminated=terminated, truncated=truncated)
        return self.transform(n_state), reward, done, info

    def transform(self, state):
        raise NotImplementedError("Observer subclasses must implement transform(state), which "
                                  "turns an observation into the agent's state")

    def close(self):
        self._env.close()


class CartPoleObserver(Observer):
    """CartPole's observation is the state: position, velocity, angle, angular velocity."""

    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


def make_cartpole(num_envs=None, render_mode=None):
    """CartPole-v1 behind ``CartPoleObserver``; ``num_envs`` gives a batch (NumPy-vectorized,
    or, to open a window, ordinary environments of which the first draws itself)."""
    if num_envs is None:
        return CartPoleObserver(gym.make("CartPole-v1", render_mode=render_mode))
    if render_mode == "human":
        makers = [lambda i=i: gym.make("CartPole-v1", render_mode="human" if i == 0 else None)
                  for i in range(num_envs)]
        return CartPoleObserver(gym.vector.SyncVectorEnv(makers))
    return CartPoleObserver(gym.make_vec("CartPole-v1", num_envs=num_envs,
                                         vectorization_mode="vector_entry_point"))


class Logger:
    """Where a trainer writes: printed summaries, TensorBoard events, plots and histories.

    ``log_dir`` defaults to ``outputs/FN/fn_framework/``; trainers pass their run folder.
    TensorBoard events go to ``log_dir/dir_name``, the other files (``path_of``) to
    ``log_dir``. Run ``tensorboard --logdir outputs/FN`` to see the runs side by side.
    """

    # Scalars are queued and written in batches (FN/tensorboard_writer.py says why).
    FLUSH_SIZE = 256
    FLUSH_SECONDS = 10.0

    def __init__(self, log_dir="", dir_name=""):
        self.log_dir = Path(log_dir) if log_dir else output_dir(__file__)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tensorboard_dir = self.log_dir / dir_name if dir_name else self.log_dir
        self._writer = None
        self._pending = []
        self._last_flush = time.monotonic()

    @property
    def writer(self):
        """The TensorBoard writer, created on first use (no empty event files otherwise)."""
        if self._writer is None:
            self._writer = EventWriter(self.tensorboard_dir)
        return self._writer

    def set_model(self, model):
        """The book's ``set_model``: the network's layers go to TensorBoard's TEXT tab (Keras'
        graph callback works only inside ``model.fit``, which no agent calls)."""
        rows = [f"| {layer.name} | {type(layer).__name__} | {layer.count_params():,} |"
                for layer in model.layers]
        table = "\n".join(["| layer | type | weights |", "| --- | --- | --- |", *rows])
        self.writer.text("model", f"**{model.name}**\n\n{table}", step=0)

    def path_of(self, file_name):
        return self.log_dir / file_name

    def describe(self, name, values, episode=-1, step=-1):
        mean = np.round(np.mean(values), 3)
        std = np.round(np.std(values), 3)
        desc = f"{name} is {mean} (+/-{std})"
        if episode > 0:
            tqdm.write(f"At episode {episode}, {desc}")
        elif step > 0:
            tqdm.write(f"At step {step}, {desc}")
        return desc

    def plot(self, name, values, interval=10, show=True):
        """The book's plot: the mean (± std) of every ``interval`` values, saved as
        ``<name>_history.png`` (returned) beside the values in ``<name>_history.csv``."""
        stem = re.sub(r"\W+", "_", name.lower())
        csv_path = self.path_of(f"{stem}_history.csv")
        with atomic_path(csv_path) as temporary:
            lines = ["episode,value"] + [f"{i},{v}" for i, v in enumerate(values)]
            temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Saved {csv_path}")
        x, groups = reward_groups(values, interval)
        return plot_reward_history(groups, self.path_of(f"{stem}_history.png"), x=x,
                                   label=f"{interval} エピソードごとの平均 (mean of every "
                                         f"{interval} episodes)", show=show)

    def write(self, index, name, value):
        """A TensorBoard scalar ``name`` (e.g. ``losses/td_loss``) at step ``index``, queued
        until ``FLUSH_SIZE`` scalars, ``FLUSH_SECONDS`` seconds or ``flush()``."""
        self._pending.append((str(name), int(index), float(value)))
        if (len(self._pending) >= self.FLUSH_SIZE
                or time.monotonic() - self._last_flush > self.FLUSH_SECONDS):
            self.flush()

    def write_image(self, index, frames, name="frames", max_outputs=16):
        """TensorBoard images of ``frames``: (N, H, W) or (N, H, W, C), in [0, 1] or uint8."""
        self.writer.images(name, np.asarray(frames)[:max_outputs], step=index)

    def flush(self):
        """Write the queued scalars and flush the event file."""
        self._last_flush = time.monotonic()
        if self._pending:
            self.writer.scalars(*zip(*self._pending))
            self._pending = []
        if self._writer is not None:
            self._writer.flush()


NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softmax": lambda x: softmax(x),
}


def softmax(logits):
    """Row-wise softmax in NumPy, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class DenseForward:
    """A NumPy copy of a chain of Keras ``Dense`` layers. Call ``sync`` after every update."""

    def __init__(self, layers):
        self.layers = list(layers)
        for layer in self.layers:
            name = layer.activation.__name__
            if not hasattr(layer, "kernel") or name not in NUMPY_ACTIVATIONS:
                raise ValueError(f"DenseForward cannot copy layer {layer.name} ({name})")
        self.params = []
        self.sync()

    @classmethod
    def supports(cls, model):
        """True when ``model`` is a plain chain of Dense layers that this class can copy."""
        return all(type(layer).__name__ == "Dense"
                   and layer.activation.__name__ in NUMPY_ACTIVATIONS for layer in model.layers)

    def sync(self):
        self.params = [(layer.kernel.numpy(), layer.bias.numpy(),
                        NUMPY_ACTIVATIONS[layer.activation.__name__]) for layer in self.layers]

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        for kernel, bias, activation in self.params:
            x = activation(x @ kernel + bias)
        return x


class BranchedForward:
    """A NumPy copy of a shared trunk of Dense layers followed by several heads.

    Calling it returns one array per head. Call ``sync`` after every update.
    """

    def __init__(self, trunk, heads):
        self.trunk = DenseForward(trunk) if trunk else None
        self.heads = [DenseForward(head) for head in heads]

    def sync(self):
        if self.trunk is not None:
            self.trunk.sync()
        for head in self.heads:
            head.sync()

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        features = self.trunk(x) if self.trunk is not None else x
        return [head(features) for head in self.heads]


class CompiledForward:
    """The forward pass of any Keras model as a ``tf.function`` (convolutions, for instance)."""

    def __init__(self, model):
        import tensorflow as tf  # here, not above: the Observer must not need TensorFlow

        self.model = model
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def sync(self):
        """Nothing to copy: the compiled function reads the model's variables directly."""

    def __call__(self, x):
        import tensorflow as tf

        outputs = self._call(tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))
        if isinstance(outputs, (list, tuple)):
            return [output.numpy() for output in outputs]
        return outputs.numpy()


def make_forward(model):
    """The fastest forward pass for ``model``: ``DenseForward`` when possible, else compiled."""
    if DenseForward.supports(model):
        return DenseForward(model.layers)
    return CompiledForward(model)


def _metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    return metadata


class EventWriter:
    """One TensorBoard run: an event file under ``directory``, created on the first event."""

    def __init__(self, directory):
        import tensorflow as tf

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(directory))
        serialized = _metadata("scalars").SerializeToString()
        writer = self.writer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                      tf.TensorSpec([None], tf.int64),
                                      tf.TensorSpec([None], tf.float32)])
        def write_scalars(tags, steps, values):
            with writer.as_default():
                for i in tf.range(tf.shape(tags)[0]):
                    tf.summary.write(tags[i], values[i], step=steps[i], metadata=serialized)
            return tf.constant(0)

        self._write_scalars = write_scalars

    def scalars(self, tags, steps, values):
        """Write the scalars ``values[i]`` named ``tags[i]`` at ``steps[i]``, in one call."""
        import tensorflow as tf

        self._write_scalars(tf.constant(tags), tf.constant(steps, dtype=tf.int64),
                            tf.constant(values, dtype=tf.float32))

    def _write(self, name, tensor, step, plugin):
        import tensorflow as tf

        with self.writer.as_default():
            tf.summary.write(name, tensor, step=int(step), metadata=_metadata(plugin))

    def images(self, name, frames, step):
        """Images of ``frames``: (N, H, W) or (N, H, W, C), in [0, 1] or uint8."""
        import tensorflow as tf

        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[..., np.newaxis]
        if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
            raise ValueError(f"frames must be (N, H, W) or (N, H, W, C), got {frames.shape}")
        if frames.dtype != np.uint8:
            frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        encoded = [tf.io.encode_png(frame) for frame in frames]
        height, width = frames.shape[1:3]
        self._write(name, tf.stack([tf.constant(str(width)), tf.constant(str(height)),
                                    *encoded]), step, "images")

    def text(self, name, markdown, step):
        """A text (Markdown) shown in TensorBoard's TEXT tab."""
        import tensorflow as tf

        self._write(name, tf.constant(markdown), step, "text")

    def flush(self):
        self.writer.flush()


def evaluate(agent, env, episode_count=20, seed=None):
    """Returns of ``episode_count`` episodes played greedily (no exploration, no learning).

    ``env`` is an ``Observer``. Over a vector environment all sub-environments play at once and
    only each one's first episode counts (gymnasium resets a finished sub-environment on the next
    step); ``episode_count`` must then be a multiple of the number of sub-environments.
    """
    if env.is_vector:
        n = env.num_envs
        if episode_count % n:
            raise ValueError(f"episode_count {episode_count} is not a multiple of {n} envs")
        returns = []
        for round_index in range(episode_count // n):
            states = env.reset(seed=None if seed is None else seed + round_index)
            total = np.zeros(n)
            alive = np.ones(n, dtype=bool)
            while alive.any():
                states, rewards, dones, _ = env.step(agent.greedy_actions(states))
                total += np.where(alive, rewards, 0.0)
                alive &= ~np.asarray(dones, dtype=bool)
            returns.extend(total.tolist())
        return np.array(returns)
    returns = []
    for episode in range(episode_count):
        s = env.reset(seed=None if seed is None else seed + episode)
        done = False
        total = 0.0
        while not done:
            action = agent.greedy_actions(np.asarray(s)[np.newaxis])[0]
            s, reward, done, _ = env.step(action)
            total += float(reward)
        returns.append(total)
    return np.array(returns)


class PeriodicEvaluation:
    """Evaluate the greedy policy on ``env`` every ``interval`` environment steps.

    With ``target``, ``reached`` turns True once a score reaches it. With ``keep_best``, the
    weights of the best evaluation are kept, and ``restore_best`` puts them back into the model.
    ``metric(agent, env, episode_count, seed)`` replaces the mean return by another score
    (Catcher's catch rate), written to TensorBoard as ``charts/eval_<metric_name>``.

    ``results`` lists ``(steps, score)``; ``times`` the training seconds at each; ``seconds``
    adds up the time the evaluations took, which the trainer leaves out of its training time.
    """

    def __init__(self, env, interval, episode_count=20, target=None, keep_best=True,
                 seed=10_000, metric=None, metric_name="return"):
        self.env = env
        self.interval = int(interval)
        self.episode_count = episode_count
        self.target = target
        self.keep_best = keep_best
        self.seed = seed
        self.metric = metric
        self.metric_name = metric_name
        self.reset()

    def reset(self):
        """Forget the scores and weights of an earlier run."""
        self.next_at = self.interval
        self.best = -np.inf
        self.best_weights = None
        self.solved_at = None
        self.results = []
        self.times = []
        self.seconds = 0.0

    @property
    def reached(self):
        return self.solved_at is not None

    def __call__(self, agent, steps, training_seconds, logger):
        """Evaluate when ``steps`` has passed the next due point; return the score or None."""
        if steps < self.next_at or not agent.initialized:
            return None
        while self.next_at <= steps:
            self.next_at += self.interval
        seed = self.seed + len(self.results) * self.episode_count
        started = time.perf_counter()
        if self.metric is None:
            score = float(np.mean(evaluate(agent, self.env, self.episode_count, seed=seed)))
        else:
            score = float(self.metric(agent, self.env, self.episode_count, seed))
        self.seconds += time.perf_counter() - started
        self.results.append((steps, score))
        self.times.append(training_seconds)
        logger.write(steps, f"charts/eval_{self.metric_name}", score)
        if score > self.best:
            self.best = score
            if self.keep_best:
                self.best_weights = agent.model.get_weights()
        if self.target is not None and score >= self.target and not self.reached:
            self.solved_at = steps
            tqdm.write(f"At step {steps}, the evaluation reached {score:.4g} "
                       f"(target {self.target}): training stops.")
        return score

    def restore_best(self, agent):
        """Give the model back the weights of its best evaluation (if any were kept)."""
        if self.best_weights is None:
            return
        agent.model.set_weights(self.best_weights)
        agent.refresh_forward()
        tqdm.write(f"Kept the weights of the best evaluation ({self.best:.4g}).")


def make_parser(description, episodes, mode_steps=None):
    """The command line that every FN script shares. ``mode_steps``, the default number of
    steps on Catcher and with ``--test``, adds the options of the two-mode scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--play", action="store_true",
                        help="load the newest trained model (or --model) and watch it play")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help="with --play: the model file to play instead of the newest run's")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed, from 0 to 2**32 - 1 (default 0)")
    parser.add_argument("--episodes", type=positive_int, default=episodes,
                        help=f"training episodes (default {episodes})")
    parser.add_argument("--render", action="store_true",
                        help="open a window and draw the environment while training")
    parser.add_argument("--no-show", action="store_true",
                        help="save the reward plot without opening a window")
    if mode_steps is not None:
        parser.add_argument("--test", action="store_true",
                            help="train (or --play) the small MLP on CartPole-v1")
        parser.add_argument("--steps", type=positive_int, default=None,
                            help=f"at most this many environment steps (default "
                                 f"{mode_steps[0]:,} on Catcher, {mode_steps[1]:,} with --test)")
        parser.add_argument("--headless", action="store_true",
                            help="with --play on Catcher: write a GIF instead of a window")
    return parser


def run_mode(script_file, kind="", suffix=".keras"):
    """``(model file name, training command)`` of a script's mode: ``kind`` is ``""`` for a
    script with one mode, ``"cartpole"`` for ``--test`` and ``"catcher"`` for DQN's and A2C's
    Catcher. Each kind has its run folders, so that ``--play`` of one mode never picks the
    other's model."""
    stem = Path(script_file).stem
    if kind == "cartpole":
        return f"{stem}_test{suffix}", f"python FN/{stem}.py --test"
    return f"{stem}{suffix}", f"python FN/{stem}.py"


def watch_render_mode():
    """``"human"`` (a window) for --play and --render when one can open, else ``None``.

    Without a display (a server, or ``SDL_VIDEODRIVER=dummy`` in the tests) nothing could be
    seen, and gymnasium would still pace the frames at the game's speed: play without drawing.
    """
    return "human" if display_available() else None


def play(args, script_file, agent_class, make_env, kind="", suffix=".keras", greedy=False,
         episode_count=5, play_catcher=None):
    """``--play``: the newest finished run's agent of this script and mode plays (or the
    model at ``--model PATH``), on ``make_env(render_mode=...)``, or, for Catcher, through
    ``play_catcher`` (a window, or a GIF). Returns the rewards (or the GIF's path).

    ``greedy`` plays the action the agent rates best in every state, as the evaluations
    measure it, instead of drawing actions from the policy; the script says so on screen.
    """
    file_name, command = run_mode(script_file, kind, suffix)
    path = find_model(script_file, file_name, model=args.model, kind=kind,
                      train_command=command)
    print(f"Playing {path}" + (" greedily (the most probable action in each state, as the "
                               "evaluations measure it)" if greedy else ""))
    if play_catcher is not None:
        gif = output_dir(script_file) / f"{Path(script_file).stem}_play.gif"
        return play_catcher(agent_class, path, gif, seed=args.seed, headless=args.headless,
                            episode_count=episode_count, greedy=greedy, train_command=command)
    env = make_env(render_mode=watch_render_mode())
    set_seed(args.seed, env.env)
    agent = agent_class.load(env, path, train_command=command)
    rewards = agent.play(env, episode_count=episode_count, render=True, greedy=greedy)
    env.close()
    return rewards


def prepare_run(trainer, env, seed=0, evaluation_env=None, evaluation=None, metric=None,
                metric_name="return"):
    """Seed ``env`` and, with ``evaluation`` (``interval``, ``episode_count``, ``target``),
    have ``trainer`` evaluate the greedy policy on ``evaluation_env`` on seeds that training
    never uses. Returns ``(trainer, env)``, ready for ``trainer.train(env, ...)``."""
    set_seed(seed, env.env)
    if evaluation is not None:
        trainer.set_evaluation(evaluation_env, evaluation["interval"],
                               evaluation["episode_count"], target=evaluation["target"],
                               seed=seed * 100_000 + 10_000, metric=metric,
                               metric_name=metric_name)
    return trainer, env


def train_mode(trainer, env, seed=0, evaluation_env=None, evaluation=None, metric=None,
               metric_name="return", **train_kwargs):
    """``prepare_run``, then ``trainer.train(env, **train_kwargs)``, then close ``env``;
    returns ``(trainer, agent)``."""
    prepare_run(trainer, env, seed, evaluation_env, evaluation, metric, metric_name)
    agent = trainer.train(env, **train_kwargs)
    env.close()
    return trainer, agent


def train_and_save(trainer, env, args, file_name, **train_kwargs):
    """A one-mode script's training: ``train_mode`` with the command line's seed, episodes and
    ``--render``, then ``trainer.finish``; returns the episodes' rewards."""
    trainer, agent = train_mode(trainer, env, args.seed, episode_count=args.episodes,
                                render=args.render, **train_kwargs)
    trainer.finish(agent, file_name, show=not args.no_show)
    return trainer.reward_log
