"""Day4-5: the framework that every function-approximation agent of the book is built on.

Day5 explains why deep reinforcement learning needs discipline: it is sample-inefficient, it
overfits, and it is hard to reproduce, so one long run must never be wasted. The book's answer
is to split the code into modules and to log everything. This file holds those modules:

- ``Experience``: one transition ``(s, a, r, n_s, d)``;
- ``FNAgent``: the agent interface (``initialize``, ``estimate``, ``update``, ``policy``,
  ``play``, ``save``/``load``);
- ``Trainer``: the training loop with its hooks (``episode_begin``, ``begin_train``, ``step``,
  ``episode_end``), an experience buffer, a tqdm bar and Ctrl-C handling;
- ``Observer``: the adapter between the environment and the agent;
- ``Logger``: printed summaries, TensorBoard scalars and images, and reward-history plots.

Changes from the book, and why:

- gymnasium replaced gym. ``reset`` returns ``(obs, info)`` and ``step`` returns five values,
  ``(obs, reward, terminated, truncated, info)``. ``Observer`` turns them back into the book's
  ``(state, reward, done, info)`` with ``done = terminated or truncated``, and puts both flags in
  ``info``. The trap: a time limit (``truncated``) ends the episode but the state is not terminal,
  so the target must still bootstrap from the next state. ``Trainer`` therefore stores
  ``Experience.d = terminated``, never ``done``.
- States keep their own shape (``(4,)`` for CartPole). The book reshaped them to ``(1, 4)`` to
  feed ``model.predict``; here agents add the batch axis themselves, and a buffer stores states as
  rows.
- ``model.predict`` costs tens of milliseconds a call, far too much inside an environment loop.
  Agents act through ``DenseForward``, a NumPy copy of a Dense network refreshed after each
  update (or through a ``tf.function`` for other networks), and train in ``tf.function``.
- ``ReplayBuffer`` keeps experiences in preallocated NumPy arrays, so that sampling a batch (or
  many batches at once) is one fancy-indexing expression instead of a Python loop.
  ``FrameReplayBuffer`` does the same for stacks of frames (Catcher): it stores each frame once,
  as uint8, and rebuilds the stacks when it samples.
- The loop itself records each episode's reward in ``reward_log`` (the book did it in each
  trainer's ``episode_end``), writes ``charts/episodic_return`` and ``charts/episodic_length`` to
  TensorBoard, and can evaluate the greedy policy every so many steps, keep the best weights and
  stop at a target return (``set_evaluation``). ``max_steps`` bounds a run in environment steps.
- TensorBoard events are written through ``tf.summary.write`` with the plugin metadata that
  TensorBoard expects, so that logging works even where the ``tensorboard`` package (needed only
  to *view* the logs) is not installed.
"""

import inspect
import re
import time
from collections import deque, namedtuple
from pathlib import Path

from common import atomic_path, output_dir, save_figure, set_seed, show_plot

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
from tqdm import tqdm

Experience = namedtuple("Experience", ["s", "a", "r", "n_s", "d"])

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
    """A NumPy copy of a chain of Keras ``Dense`` layers, for acting inside the environment loop.

    One forward pass of a small MLP costs a few microseconds in NumPy, against about 0.3 ms for a
    ``tf.function`` call and 36 ms for ``model.predict``. The copy goes stale when the layers are
    trained: call ``sync`` after every update.
    """

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

    Actor-critic networks have this shape: one body, then a policy head and a value head.
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
    """The fallback for networks ``DenseForward`` cannot copy (convolutions): a ``tf.function``."""

    def __init__(self, model):
        self.model = model
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def sync(self):
        """Nothing to copy: the compiled function reads the model's variables directly."""

    def __call__(self, x):
        outputs = self._call(tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))
        if isinstance(outputs, (list, tuple)):
            return [output.numpy() for output in outputs]
        return outputs.numpy()


def make_forward(model):
    """The fastest forward pass for ``model``: ``DenseForward`` when possible, else compiled."""
    if DenseForward.supports(model):
        return DenseForward(model.layers)
    return CompiledForward(model)


class ReplayBuffer:
    """A ring buffer of experiences in preallocated NumPy arrays.

    It behaves like the book's ``deque(maxlen=buffer_size)``: ``append``, ``len`` and indexing
    (0 is the oldest, -1 the newest) work the same. The arrays are allocated on the first
    ``append`` from the shapes and dtypes of that experience. ``sample`` draws uniformly with
    NumPy's global generator (seeded by ``common.set_seed``) and returns an ``Experience`` whose
    fields are arrays, with a leading axis of ``n_batches`` when asked for several batches.
    """

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError(f"a buffer needs a positive capacity, got {capacity}")
        self.capacity = int(capacity)
        self.arrays = None
        self.size = 0
        self.position = 0

    def _allocate(self, experience):
        self.arrays = Experience(*(
            np.zeros((self.capacity, *np.shape(value)), dtype=np.asarray(value).dtype
                     if name in ("s", "n_s", "a") else np.float32)
            for name, value in zip(Experience._fields, experience)))

    def append(self, experience):
        if self.arrays is None:
            self._allocate(experience)
        for array, value in zip(self.arrays, experience):
            array[self.position] = value
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def clear(self):
        self.size = 0
        self.position = 0

    def __len__(self):
        return self.size

    def _slot(self, index):
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError("replay buffer index out of range")
        return (self.position - self.size + index) % self.capacity

    def __getitem__(self, index):
        slot = self._slot(index)
        return Experience(*(array[slot] for array in self.arrays))

    def __iter__(self):
        return (self[i] for i in range(self.size))

    def sample(self, batch_size, n_batches=None):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        shape = batch_size if n_batches is None else (n_batches, batch_size)
        slots = np.random.randint(0, self.size, size=shape)
        slots = (self.position - self.size + slots) % self.capacity
        return Experience(*(array[slots] for array in self.arrays))


class FrameReplayBuffer:
    """A replay buffer for stacked frames that stores every frame once, as uint8.

    A state of Catcher is a stack of the last ``frame_count`` frames, so consecutive states
    share all but one frame. Storing each experience's ``s`` and ``n_s`` as float32 would keep
    every frame ``2 × frame_count`` times, at four bytes a pixel: 25.6 kB a transition for
    40×40×2, 1.3 GB for the book's 50,000. Here a transition stores one uint8 frame (1.6 kB)
    and a pointer to the slot that holds the frame before it; ``sample`` follows the pointers
    to rebuild the stacks.

    Each slot holds the newest frame of one state, ``prev`` (the slot of the frame before it in
    the same episode; the slot itself for an episode's first frame, which reproduces the
    observer's padding: the first frame fills the stack) and, when an action was taken in
    that state, the action, the reward, whether the next state is terminal and ``next`` (the
    slot of the next state). A stack therefore never reaches into another episode.

    The ring overwrites its oldest slots. Every slot remembers when it was written
    (``stamp``): a pointer to a slot rewritten later than the slot pointing at it is stale, and
    ``sample`` never returns a transition that needs one.

    Two ways to fill it:

    - ``append(Experience(s, a, r, n_s, d))``, like ``ReplayBuffer``: for the book's loop of
      one game. When ``s`` is the previous experience's ``n_s`` only the new frame is stored;
      otherwise ``s`` starts a new chain.
    - ``start(frames)`` and ``add(slots, actions, rewards, terminals, next_frames)``: for a
      batch of games, with the observer's uint8 frames.

    ``sample(batch_size, n_batches=None)`` returns an ``Experience`` of arrays like
    ``ReplayBuffer.sample``, with the states as float32 in [0, 1], (…, height, width, frames).
    ``len`` is the number of frames held (at most ``capacity``).
    """

    def __init__(self, capacity, frame_count=None):
        if capacity < 2:
            raise ValueError(f"a frame buffer needs a capacity of at least 2, got {capacity}")
        self.capacity = int(capacity)
        self.frame_count = frame_count
        self.frames = None
        self.count = 0  # frames written since the start, overwritten ones included
        self._last_state = None
        self._last_slot = None

    def _allocate(self, frame_shape):
        n = self.capacity
        self.frames = np.zeros((n, *frame_shape), dtype=np.uint8)
        self.prev = np.zeros(n, dtype=np.int64)
        self.next = np.full(n, -1, dtype=np.int64)
        self.stamp = np.full(n, -1, dtype=np.int64)
        self.actions = np.zeros(n, dtype=np.int64)
        self.rewards = np.zeros(n, dtype=np.float32)
        self.terminals = np.zeros(n, dtype=np.float32)

    def __len__(self):
        return min(self.count, self.capacity)

    def clear(self):
        self.count = 0
        self._last_state = None
        self._last_slot = None
        if self.frames is not None:
            self.next[:] = -1
            self.stamp[:] = -1

    # -- writing --------------------------------------------------------------------------

    def _write(self, frames, prev):
        """Write uint8 ``frames`` (n, height, width) into the next slots; return the slots."""
        n = len(frames)
        stamps = self.count + np.arange(n)
        slots = stamps % self.capacity
        self.frames[slots] = frames
        self.stamp[slots] = stamps
        self.next[slots] = -1
        self.prev[slots] = np.where(prev < 0, slots, prev)
        self.count += n
        return slots

    def start(self, frames):
        """Store the first frames of new episodes (one per game); return their slots."""
        frames = np.asarray(frames, dtype=np.uint8)
        if self.frames is None:
            self._allocate(frames.shape[1:])
        return self._write(frames, np.full(len(frames), -1))

    def add(self, slots, actions, rewards, terminals, next_frames):
        """Record the action taken in the states at ``slots`` and store the next frames.

        ``terminals`` is True where the next state is terminal (``terminated``, not a time
        limit). Returns the slots of the next states, where the following actions go.
        """
        slots = np.asarray(slots)
        new = self._write(np.asarray(next_frames, dtype=np.uint8), slots)
        self.actions[slots] = actions
        self.rewards[slots] = rewards
        self.terminals[slots] = terminals
        self.next[slots] = new
        return new

    @staticmethod
    def _to_uint8(state):
        state = np.asarray(state)
        if state.dtype == np.uint8:
            return state
        return np.rint(state * 255.0).astype(np.uint8)

    def _write_stack(self, state):
        """Store a whole (height, width, frames) stack as a chain; return its newest slot."""
        stack = np.moveaxis(self._to_uint8(state), -1, 0)
        slot = self.start(stack[:1])
        for frame in stack[1:]:
            slot = self._write(frame[None], slot)
        return slot

    def append(self, experience):
        """Store one ``Experience(s, a, r, n_s, d)`` of (height, width, frames) states."""
        s, a, r, n_s, d = experience
        if self.frames is None:
            self._allocate(np.shape(s)[:-1])
            self.frame_count = np.shape(s)[-1]
        if self._last_state is not None and (s is self._last_state
                                             or np.array_equal(s, self._last_state)):
            slot = self._last_slot
        else:
            slot = self._write_stack(s)
        n_s_array = np.asarray(n_s)
        if np.array_equal(n_s_array[..., :-1], np.asarray(s)[..., 1:]):
            new = self.add(slot, [a], [r], [d], self._to_uint8(n_s_array[..., -1])[None])
        else:  # not the next frame of s (a test may append anything): store it whole
            new = self._write_stack(n_s_array)
            self.actions[slot], self.rewards[slot], self.terminals[slot] = a, r, d
            self.next[slot] = new
        self._last_state, self._last_slot = n_s, new

    # -- reading --------------------------------------------------------------------------

    def _stacks(self, slots):
        """Slots of the frames of each state (oldest first), and whether none is stale."""
        index = np.empty((len(slots), self.frame_count), dtype=np.int64)
        index[:, -1] = slots
        fresh = np.ones(len(slots), dtype=bool)
        for j in range(self.frame_count - 1, 0, -1):
            previous = self.prev[index[:, j]]
            fresh &= self.stamp[previous] <= self.stamp[index[:, j]]
            index[:, j - 1] = previous
        return index, fresh

    def _gather(self, index):
        """Float32 states in [0, 1], (…, height, width, frames), from slot indices."""
        out = np.empty((*index.shape[:-1], *self.frames.shape[1:], index.shape[-1]),
                       dtype=np.float32)
        for j in range(index.shape[-1]):
            np.multiply(self.frames[index[..., j]], np.float32(1.0 / 255.0), out=out[..., j])
        return out

    def transition_slots(self):
        """The slots (oldest first) whose action has been recorded and whose stack is whole."""
        held = len(self)
        slots = (self.count - held + np.arange(held)) % self.capacity
        slots = slots[self.next[slots] >= 0]
        _, fresh = self._stacks(slots)
        _, next_fresh = self._stacks(self.next[slots])
        return slots[fresh & next_fresh]

    def __getitem__(self, index):
        slots = self.transition_slots()
        slot = slots[index]
        batch = self._experiences(np.array([slot]))
        return Experience(*(field[0] for field in batch))

    def _experiences(self, slots):
        index, _ = self._stacks(slots)
        next_index, _ = self._stacks(self.next[slots])
        return Experience(self._gather(index), self.actions[slots], self.rewards[slots],
                          self._gather(next_index), self.terminals[slots])

    def sample(self, batch_size, n_batches=None):
        """Uniformly drawn transitions (NumPy's global generator), as an ``Experience``."""
        total = batch_size * (1 if n_batches is None else n_batches)
        held = len(self)
        if held == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        chosen = []
        missing = total
        for _ in range(100):
            # Candidates without a recorded action (the newest states, the last frames of
            # episodes) or with a stale stack are drawn again.
            candidates = (self.count - held + np.random.randint(0, held, 2 * missing + 8))
            candidates %= self.capacity
            candidates = candidates[self.next[candidates] >= 0]
            _, fresh = self._stacks(candidates)
            _, next_fresh = self._stacks(self.next[candidates])
            candidates = candidates[fresh & next_fresh][:missing]
            chosen.append(candidates)
            missing -= len(candidates)
            if missing == 0:
                break
        else:
            raise ValueError("the replay buffer holds no complete transition yet")
        slots = np.concatenate(chosen)
        batch = self._experiences(slots)
        if n_batches is None:
            return batch
        return Experience(*(field.reshape(n_batches, batch_size, *field.shape[1:])
                            for field in batch))


def stack_experiences(experiences):
    """A list of ``Experience`` as one ``Experience`` of arrays (floats as float32)."""
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

    def save(self, model_path):
        """Save the model as ``.keras``, atomically: an interrupted save leaves no broken file."""
        model_path = Path(model_path)
        if model_path.suffix != ".keras":
            raise ValueError(f"Keras models are saved as .keras files, got {model_path.name}")
        with atomic_path(model_path) as temporary:
            self.model.save(temporary)
        return model_path

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001):
        import keras

        actions = list(range(env.action_space.n))
        agent = cls(epsilon=epsilon, actions=actions)
        agent.model = keras.models.load_model(model_path, compile=False)
        agent.initialized = True
        agent.refresh_forward()
        return agent

    def refresh_forward(self):
        """(Re)build the fast forward pass from ``self.model``; call after replacing weights."""
        if self.model is not None:
            self.forward = make_forward(self.model)

    def initialize(self, experiences):
        raise NotImplementedError("FNAgent subclasses must implement initialize(experiences), "
                                  "which builds the model from the first experiences")

    def make_model(self, feature_shape):
        """Build ``self.model`` for the states' shape: ``make_cnn`` for stacked frames
        (height, width, frames), ``make_mlp`` for vectors. Subclasses provide the two."""
        if len(feature_shape) == 3:
            self.model = self.make_cnn(feature_shape)
        elif len(feature_shape) == 1:
            self.model = self.make_mlp(feature_shape)
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
        """The best action for each state of a batch (used by ``evaluate``: no exploration)."""
        return np.array([int(np.argmax(self.estimate(s))) for s in states])

    def play(self, env, episode_count=5, render=True):
        """Play ``episode_count`` episodes with the current policy; return their rewards."""
        rewards = []
        for _ in range(episode_count):
            s = env.reset()
            done = False
            episode_reward = 0.0
            while not done:
                if render:
                    env.render()
                a = self.policy(s)
                n_state, reward, done, _ = env.step(a)
                episode_reward += float(reward)
                s = n_state
            print(f"Get reward {episode_reward}.")
            rewards.append(episode_reward)
        return rewards


def is_batched(env):
    """True when ``env`` (an observer) steps a batch of environments at once.

    ``Observer`` says so with ``is_vector``; an observer written on its own may say it with
    ``batched``.
    """
    return bool(getattr(env, "is_vector", getattr(env, "batched", False)))


def batch_size_of(env):
    """How many environments ``env`` steps at once (1 for a single one)."""
    return int(getattr(env, "num_envs", getattr(env, "num_games", 1)))


def evaluate(agent, env, episode_count=20, seed=None):
    """Returns of ``episode_count`` episodes played greedily (no exploration, no learning).

    ``env`` is an ``Observer``. Over a vector environment all sub-environments play at once and
    only each one's first episode counts (gymnasium resets a finished sub-environment on the next
    step); ``episode_count`` must then be a multiple of the number of sub-environments.
    """
    if is_batched(env):
        n = batch_size_of(env)
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


class Trainer:
    """Runs episodes, stores experiences and calls the hooks that each algorithm fills in.

    The order of the calls, for each episode ``i``::

        episode_begin(i, agent)
        for each step: (begin_train(i, agent) once, when training starts), step(i, n, agent, e)
        episode_end(i, step_count, agent)

    Training starts when the buffer is first full, after ``initial_count`` episodes, or after
    ``initial_steps`` steps, whichever comes first; ``self.training`` tells the hooks.
    """

    def __init__(self, buffer_size=1024, batch_size=32, gamma=0.9, report_interval=10,
                 log_dir=""):
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.gamma = gamma
        self.report_interval = report_interval
        if not log_dir:
            log_dir = output_dir(inspect.getfile(type(self)))
        self.logger = Logger(log_dir, self.trainer_name)
        self.experiences = self.make_buffer()
        self.training = False
        self.training_count = 0
        self.total_steps = 0
        self.reward_log = []
        self.stop_training = False
        self.interrupted = False
        self.evaluation = None
        self.evaluations = []
        self.evaluation_times = []
        self.evaluation_seconds = 0.0
        self.started_at = time.perf_counter()

    @property
    def trainer_name(self):
        """The class name in snake case, without "_trainer".

        ``DeepQNetworkTrainer`` gives ``deep_q_network``.
        """
        snaked = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", type(self).__name__)
        snaked = re.sub("([a-z0-9])([A-Z])", r"\1_\2", snaked).lower()
        return snaked.replace("_trainer", "")

    def make_buffer(self):
        """The experience buffer: the book's deque. DQN swaps in a NumPy ``ReplayBuffer``."""
        return deque(maxlen=self.buffer_size)

    def reset_state(self):
        self.experiences = self.make_buffer()
        self.training = False
        self.training_count = 0
        self.total_steps = 0
        self.reward_log = []
        self.stop_training = False
        self.interrupted = False
        self.evaluations = []
        self.evaluation_times = []
        self.evaluation_seconds = 0.0
        self.started_at = time.perf_counter()
        if self.evaluation is not None:
            self.evaluation.update(next_at=self.evaluation["interval"], best=-np.inf,
                                   best_weights=None, solved_at=None)

    def set_evaluation(self, env, interval, episode_count=20, target=None, keep_best=True,
                       seed=10_000, metric=None, metric_name="return"):
        """Evaluate the greedy policy on ``env`` every ``interval`` environment steps.

        Each result is written as ``charts/eval_return``. With ``target``, training stops as soon
        as the mean reaches it. With ``keep_best``, the model gets back the weights of its best
        evaluation when training ends (Day5: a run that later degrades loses nothing).
        ``metric(agent, env, episode_count, seed)`` replaces the mean return by another score
        (Catcher's catch rate), written as ``charts/eval_<metric_name>``.

        ``evaluations`` lists ``(steps, score)``; ``evaluation_times`` the training seconds at
        each (since the loop started, without the time spent evaluating, which adds up in
        ``evaluation_seconds``).
        """
        self.evaluation = {"env": env, "interval": int(interval), "episode_count": episode_count,
                           "target": target, "keep_best": keep_best, "seed": seed,
                           "next_at": int(interval), "best": -np.inf, "best_weights": None,
                           "solved_at": None, "metric": metric, "metric_name": metric_name}

    @property
    def solved_at(self):
        """The step count at which an evaluation first reached the target (None if never)."""
        return None if self.evaluation is None else self.evaluation["solved_at"]

    def evaluate_if_due(self, agent):
        evaluation = self.evaluation
        if evaluation is None or self.total_steps < evaluation["next_at"] or not agent.initialized:
            return None
        while evaluation["next_at"] <= self.total_steps:
            evaluation["next_at"] += evaluation["interval"]
        seed = evaluation["seed"] + len(self.evaluations) * evaluation["episode_count"]
        started = time.perf_counter()
        if evaluation["metric"] is None:
            returns = evaluate(agent, evaluation["env"], evaluation["episode_count"], seed=seed)
            mean = float(np.mean(returns))
        else:
            mean = float(evaluation["metric"](agent, evaluation["env"],
                                              evaluation["episode_count"], seed))
        self.evaluation_seconds += time.perf_counter() - started
        self.evaluations.append((self.total_steps, mean))
        self.evaluation_times.append(self.training_seconds)
        self.logger.write(self.total_steps, f"charts/eval_{evaluation['metric_name']}", mean)
        if mean > evaluation["best"]:
            evaluation["best"] = mean
            if evaluation["keep_best"]:
                evaluation["best_weights"] = agent.model.get_weights()
        if evaluation["target"] is not None and mean >= evaluation["target"]:
            evaluation["solved_at"] = self.total_steps
            self.stop_training = True
            tqdm.write(f"At step {self.total_steps}, the evaluation reached {mean:.4g} "
                       f"(target {evaluation['target']}): training stops.")
        return mean

    @property
    def training_seconds(self):
        """Seconds since the training loop started, without the time spent in evaluations."""
        return time.perf_counter() - self.started_at - self.evaluation_seconds

    def restore_best(self, agent):
        evaluation = self.evaluation
        if evaluation is None or evaluation["best_weights"] is None:
            return
        agent.model.set_weights(evaluation["best_weights"])
        agent.refresh_forward()
        tqdm.write(f"Kept the weights of the best evaluation ({evaluation['best']:.4g}).")

    def start_training(self, episode, agent):
        self.begin_train(episode, agent)
        self.training = True

    def record_episode(self, episode, step_count, reward):
        self.reward_log.append(float(reward))
        self.logger.write(self.total_steps, "charts/episodic_return", float(reward))
        self.logger.write(self.total_steps, "charts/episodic_length", step_count)

    def train_loop(self, env, agent, episode=200, initial_count=-1, render=False,
                   observe_interval=0, initial_steps=-1, max_steps=None):
        """Run up to ``episode`` episodes (and at most ``max_steps`` steps) with ``agent``.

        Ctrl-C stops the loop cleanly: ``self.interrupted`` is set and the agent keeps what it
        has learned, so the caller can save it. ``observe_interval`` collects the states seen
        during every ``observe_interval``-th training episode and writes them as images (for
        pixel observations).
        """
        self.reset_state()
        frames = []
        bar = tqdm(total=episode, desc=f"{self.trainer_name} training", unit="episode",
                   dynamic_ncols=True, leave=False)
        try:
            for i in range(episode):
                s = env.reset()
                done = False
                step_count = 0
                episode_reward = 0.0
                self.episode_begin(i, agent)
                while not done:
                    if render:
                        env.render()
                    if (self.training and observe_interval > 0
                            and (self.training_count == 1
                                 or self.training_count % observe_interval == 0)):
                        frames.append(s)
                    a = agent.policy(s)
                    n_state, reward, done, info = env.step(a)
                    # done (terminated or truncated) ends the episode, but only a real
                    # termination makes n_state terminal: a time limit must keep bootstrapping.
                    e = Experience(s, a, reward, n_state, info["terminated"])
                    self.experiences.append(e)
                    self.total_steps += 1
                    episode_reward += float(reward)
                    if (not self.training
                            and (len(self.experiences) == self.buffer_size
                                 or 0 < initial_steps <= self.total_steps)):
                        self.start_training(i, agent)
                    self.step(i, step_count, agent, e)
                    s = n_state
                    step_count += 1
                    self.evaluate_if_due(agent)
                    if self.stop_training or (max_steps and self.total_steps >= max_steps):
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
                        images = [self.to_image(frame) for frame in frames]
                        self.logger.write_image(self.training_count, images)
                        frames = []
                    self.training_count += 1
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

    def to_image(self, state):
        """The picture of a state for ``observe_interval``: the newest frame of a stack.

        A state of stacked frames (height, width, frames) shows its last frame, as the book
        did; a single picture is kept as it is. Override it for other observations.
        """
        state = np.asarray(state)
        return state[..., -1] if state.ndim == 3 else state

    def episode_begin(self, episode, agent):
        pass

    def begin_train(self, episode, agent):
        pass

    def step(self, episode, step_count, agent, experience):
        pass

    def episode_end(self, episode, step_count, agent):
        pass

    def is_event(self, count, interval):
        return count != 0 and interval > 0 and count % interval == 0

    def get_recent(self, count):
        recent = range(len(self.experiences) - count, len(self.experiences))
        return [self.experiences[i] for i in recent]

    def report(self, episode):
        """The book's periodic line, every ``report_interval`` episodes."""
        if self.is_event(episode, self.report_interval):
            recent_rewards = self.reward_log[-self.report_interval:]
            self.logger.describe("reward", recent_rewards, episode=episode)


class Observer:
    """Sits between a gymnasium environment and an agent, and shapes what the agent sees.

    ``reset`` returns only the (transformed) state and ``step`` returns the book's 4-tuple
    ``(state, reward, done, info)``. gymnasium's ``terminated`` and ``truncated`` are both in
    ``info``. Subclasses implement ``transform``. A vector environment works too: states,
    rewards and flags then come as batches, and ``transform`` receives the batch of states.
    """

    def __init__(self, env):
        self._env = env
        self.last_info = {}

    @property
    def env(self):
        return self._env

    @property
    def action_space(self):
        return self._env.action_space

    @property
    def observation_space(self):
        return self._env.observation_space

    @property
    def is_vector(self):
        return hasattr(self._env, "num_envs") and hasattr(self._env, "single_action_space")

    @property
    def num_envs(self):
        return getattr(self._env, "num_envs", 1)

    def reset(self, seed=None):
        state, self.last_info = self._env.reset(seed=seed)
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


class Logger:
    """Where a trainer writes: printed summaries, TensorBoard events, plots and histories.

    ``log_dir`` defaults to ``outputs/FN/fn_framework/``; trainers pass their own script's
    folder. TensorBoard events go to ``log_dir/dir_name`` (one run per trainer), the other files
    (``path_of``) to ``log_dir``. Run ``tensorboard --logdir outputs/FN`` to watch them.
    """

    # Scalars are queued and written in batches by one compiled call: an eager tf.summary call
    # costs about 0.4 ms, a queued scalar about 15 µs.
    FLUSH_SIZE = 256
    FLUSH_SECONDS = 10.0

    def __init__(self, log_dir="", dir_name=""):
        self.log_dir = Path(log_dir) if log_dir else output_dir(__file__)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tensorboard_dir = self.log_dir / dir_name if dir_name else self.log_dir
        self._writer = None
        self._write_scalars = None
        self._pending = []
        self._last_flush = time.monotonic()

    @property
    def writer(self):
        """The TensorBoard writer, created on first use (no empty event files otherwise)."""
        if self._writer is None:
            self.tensorboard_dir.mkdir(parents=True, exist_ok=True)
            self._writer = tf.summary.create_file_writer(str(self.tensorboard_dir))
        return self._writer

    def _compile_scalar_writer(self):
        writer = self.writer
        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        serialized = metadata.SerializeToString()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                      tf.TensorSpec([None], tf.int64),
                                      tf.TensorSpec([None], tf.float32)])
        def write_scalars(tags, steps, values):
            with writer.as_default():
                for i in tf.range(tf.shape(tags)[0]):
                    tf.summary.write(tags[i], values[i], step=steps[i], metadata=serialized)
            return tf.constant(0)

        return write_scalars

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
        """Plot the mean (± std) of every ``interval`` values; save the PNG and a CSV of values.

        Returns the path of the PNG (``<name>_history.png`` under ``log_dir``).
        """
        import matplotlib.pyplot as plt

        values = np.asarray(values, dtype=float)
        interval = max(1, int(interval))
        indices = np.arange(0, len(values), interval)
        means = np.array([values[i:i + interval].mean() for i in indices])
        stds = np.array([values[i:i + interval].std() for i in indices])
        fig, ax = plt.subplots()
        ax.set_title(f"{name} History")
        ax.grid()
        if len(indices):
            ax.fill_between(indices, means - stds, means + stds, alpha=0.1, color="g")
            ax.plot(indices, means, "o-", color="g",
                    label=f"{name.lower()} per {interval} episode")
            ax.legend(loc="best")
        ax.set_xlabel("episode")
        stem = re.sub(r"\W+", "_", name.lower())
        path = save_figure(fig, self.path_of(f"{stem}_history.png"))
        csv_path = self.path_of(f"{stem}_history.csv")
        with atomic_path(csv_path) as temporary:
            lines = ["episode,value"] + [f"{i},{v}" for i, v in enumerate(values)]
            temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Saved {csv_path}")
        show_plot(show)
        return path

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
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[..., np.newaxis]
        if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
            raise ValueError(f"frames must be (N, H, W) or (N, H, W, C), got {frames.shape}")
        if frames.dtype != np.uint8:
            frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        frames = frames[:max_outputs]
        encoded = [tf.io.encode_png(frame) for frame in frames]
        height, width = frames.shape[1:3]
        tensor = tf.stack([tf.constant(str(width)), tf.constant(str(height)), *encoded])
        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "images"
        with self.writer.as_default():
            tf.summary.write(name, tensor, step=int(index), metadata=metadata)

    def flush(self):
        """Write the queued scalars and flush the event file."""
        self._last_flush = time.monotonic()
        if self._pending:
            if self._write_scalars is None:
                self._write_scalars = self._compile_scalar_writer()
            tags, steps, values = zip(*self._pending)
            self._pending = []
            self._write_scalars(tf.constant(tags), tf.constant(steps, dtype=tf.int64),
                                tf.constant(values, dtype=tf.float32))
        if self._writer is not None:
            self._writer.flush()


def read_scalars(event_dir):
    """Read back the scalars written under ``event_dir``: ``{tag: [(step, value), ...]}``.

    Useful to check a run without TensorBoard (and used by the tests). The writer stores a tag's
    plugin metadata only with its first event, so scalar tags are remembered as they appear.
    """
    from tensorflow.core.util import event_pb2

    scalars = {}
    for path in sorted(Path(event_dir).glob("events.out.tfevents.*")):
        scalar_tags = set()
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    scalar_tags.add(value.tag)
                if value.tag in scalar_tags:
                    number = float(tf.make_ndarray(value.tensor))
                    scalars.setdefault(value.tag, []).append((event.step, number))
    return scalars


def watch_render_mode():
    """``"human"`` (a window) for --play and --render, unless SDL has no real display.

    With ``SDL_VIDEODRIVER=dummy`` (headless runs and the tests) nothing could be seen, and
    gymnasium would still pace the frames at the game's speed: play without drawing instead.
    """
    import os

    return None if os.environ.get("SDL_VIDEODRIVER") == "dummy" else "human"


def play_catcher(agent_class, make_observer, path, gif_path, seed=0, headless=False,
                 episode_count=5, greedy=False):
    """Load the Catcher agent saved at ``path`` and watch it play in a window, or, with
    ``headless``, write one game to the GIF ``gif_path``. ``greedy`` makes the GIF show the
    greedy policy (the one the evaluations measure) instead of the agent's own policy."""
    from FN.catcher_observer import record_play

    if headless:
        env = make_observer(render_mode="rgb_array")
        set_seed(seed, env.env)
        agent = agent_class.load(env, path)
        _, info = record_play(agent, env, gif_path, greedy=greedy)
        print(f"Caught {info['caught']}, missed {info['missed']}. Saved {gif_path}")
        return gif_path
    env = make_observer(render_mode=watch_render_mode())
    set_seed(seed, env.env)
    agent = agent_class.load(env, path)
    rewards = agent.play(env, episode_count=episode_count, render=True)
    env.close()
    return rewards


def make_parser(description, episodes):
    """The command line that every FN script shares: --play, --seed, --episodes, --render."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--play", action="store_true",
                        help="load the saved model and watch it play (opens a window)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--episodes", type=int, default=episodes,
                        help=f"training episodes (default {episodes})")
    parser.add_argument("--render", action="store_true",
                        help="open a window and draw the environment while training")
    parser.add_argument("--no-show", action="store_true",
                        help="save the reward plot without opening a window")
    return parser


def check_positive(name, value):
    """Exit with a clear message (status 2) unless ``value`` is a positive number."""
    from common import exit_with_error

    if value is None or not value > 0:
        exit_with_error(f"{name} must be positive, got {value}")


def require_model_file(path, train_command):
    """Exit with a clear message (status 2) when there is no trained model at ``path``."""
    from common import exit_with_error

    if not Path(path).is_file():
        exit_with_error(f"no trained model at {path}; run `{train_command}` first")


def finish_training(trainer, agent, model_path, show=True):
    """Save the model (even after Ctrl-C) and the reward plot; print where they went."""
    if not agent.initialized:
        print("Training stopped before the model was built: nothing to save.")
        return None
    agent.save(model_path)
    print(f"Saved {model_path}")
    if trainer.reward_log:
        trainer.logger.plot("Rewards", trainer.reward_log, trainer.report_interval, show=show)
    print(f"TensorBoard logs: {trainer.logger.tensorboard_dir}")
    return model_path
