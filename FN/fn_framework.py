"""Day5: the framework that every function-approximation agent of the book is built on.

Deep reinforcement learning is sample-inefficient, overfits and is hard to reproduce, so one
long run must never be wasted (Day5). The book's answer is to split the code into parts and to
log everything. The parts, as in the book:

- ``Experience``: one transition ``(s, a, r, n_s, d)``;
- ``FNAgent``: ``initialize``, ``estimate``, ``update``, ``policy``, ``play``, ``save``/``load``;
- ``Trainer``: the training loop and its hooks (``episode_begin``, ``begin_train``, ``step``,
  ``episode_end``);
- ``Observer``: the adapter between the environment and the agent. It lives in
  ``FN/observer.py`` so that it can be imported without TensorFlow, and is imported here;
- ``Logger``: printed summaries, TensorBoard events and reward-history plots.

Changes from the book, and why:

- gymnasium's ``step`` gives ``terminated`` and ``truncated`` apart. A time limit ends the
  episode but the state is not terminal, so ``Trainer`` stores ``Experience.d = terminated``.
- States keep their own shape (``(4,)`` for CartPole, not the book's ``(1, 4)``).
- ``model.predict`` costs tens of milliseconds a call: agents act through the fast forward
  passes of ``FN/forward_pass.py`` and train in ``tf.function``.
- The loop records each episode's reward in ``reward_log`` (the book did it in each trainer),
  writes ``charts/episodic_return`` to TensorBoard, can evaluate the greedy policy and keep
  the best weights (``set_evaluation``), bounds a run with ``max_steps``, and stops cleanly on
  Ctrl-C: ``interrupted`` is set and the agent keeps what it has learned.
"""

import contextlib
import inspect
import re
import time
from collections import deque, namedtuple
from pathlib import Path

from common import (
    atomic_path,
    exit_with_error,
    load_keras_model,
    new_run_dir,
    output_dir,
    plot_reward_history,
    reward_groups,
)

import numpy as np
from tqdm import tqdm

from FN.evaluation import PeriodicEvaluation
from FN.forward_pass import make_forward
from FN.observer import Observer
from FN.tensorboard_writer import EventWriter

__all__ = ["Experience", "FNAgent", "Logger", "Observer", "Trainer"]

Experience = namedtuple("Experience", ["s", "a", "r", "n_s", "d"])


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
        self.jit_compile = True

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

    def make_model(self, feature_shape):
        """Build ``self.model`` for the states' shape (``make_cnn`` for stacked frames, height
        × width × frames; ``make_mlp`` for vectors), and choose how its updates compile: XLA
        (``jit_compile``) fuses the many small operations of an MLP's update, but compiles the
        gradients of convolutions into CPU code three times slower (measured)."""
        if len(feature_shape) == 3:
            self.model = self.make_cnn(feature_shape)
            self.jit_compile = False
        elif len(feature_shape) == 1:
            self.model = self.make_mlp(feature_shape)
            self.jit_compile = True
        else:
            raise ValueError(f"{type(self).__name__} takes stacked frames (height, width, "
                             f"frames) or vectors, not states of shape {tuple(feature_shape)}")

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
        run that later degrades loses nothing). See ``FN.evaluation.PeriodicEvaluation``."""
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

    def report(self, episode):
        """The book's periodic line, every ``report_interval`` episodes."""
        if self.is_event(episode, self.report_interval):
            recent_rewards = self.reward_log[-self.report_interval:]
            self.logger.describe("reward", recent_rewards, episode=episode)


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
        """The book's ``set_model``: show in TensorBoard which network this run trains.

        The book passed the model to Keras' TensorBoard callback, which drew its graph. That
        callback works only inside ``model.fit``, which no agent here calls; so the network's
        layers (name, type, number of weights) go to TensorBoard's TEXT tab instead.
        """
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
        """The book's plot: the mean (± std) of every ``interval`` values, as a PNG.

        The values themselves are saved too, as ``<name>_history.csv``. Returns the path of
        the PNG (``<name>_history.png`` under ``log_dir``).
        """
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
        """A TensorBoard scalar ``name`` (e.g. ``losses/td_loss``) at step ``index``.

        It is queued, and written at the latest after ``FLUSH_SIZE`` scalars, ``FLUSH_SECONDS``
        seconds or ``flush()`` (which the training loop calls when it ends).
        """
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
