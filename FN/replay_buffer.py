"""Day4: replay buffers for DQN and the continuous actor-critic, in preallocated NumPy arrays.

The book keeps experiences in a ``deque(maxlen=buffer_size)`` and samples a batch with
``random.sample``, one Python object at a time. Here a buffer is a few NumPy arrays, so that
sampling a batch (or many batches at once) is one fancy-indexing expression.

- ``ReplayBuffer``: a ring of experiences, for states that are vectors (CartPole, Pendulum).
- ``FrameReplayBuffer``: for states that are stacks of frames (Catcher). It stores each frame
  once, as uint8, and rebuilds the stacks when it samples.

Both behave like the book's deque where the agents use it: ``append``, ``len``, and indexing
(0 is the oldest). ``sample(batch_size, n_batches=None)`` draws uniformly with NumPy's global
generator (seeded by ``common.set_seed``) and returns an ``Experience`` whose fields are
arrays, with a leading axis of ``n_batches`` when asked for several batches.
"""

import numpy as np

from FN.fn_framework import Experience


class ReplayBuffer:
    """A ring buffer of experiences in NumPy arrays, allocated on the first ``append`` from the
    shapes and dtypes of that experience."""

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

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError("replay buffer index out of range")
        slot = (self.position - self.size + index) % self.capacity
        return Experience(*(array[slot] for array in self.arrays))

    def sample(self, batch_size, n_batches=None):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        shape = batch_size if n_batches is None else (n_batches, batch_size)
        slots = np.random.randint(0, self.size, size=shape)
        slots = (self.position - self.size + slots) % self.capacity
        return Experience(*(array[slots] for array in self.arrays))


class FrameReplayBuffer:
    """A replay buffer for states of stacked frames, (height, width, frames), in [0, 1].

    Consecutive states share all but one frame. Storing each experience's ``s`` and ``n_s`` as
    float32 would keep every frame ``2 × frames`` times, at four bytes a pixel: 25.6 kB a
    transition for 40×40×2, 1.3 GB for the book's 50,000. Here a transition stores one uint8
    frame (1.6 kB) and a pointer to the slot that holds the frame before it; ``sample`` follows
    the pointers to rebuild the stacks.

    Each slot holds the newest frame of one state, ``prev`` (the slot of the frame before it in
    the same episode; the slot itself for an episode's first frame, which reproduces the
    observer's padding: the first frame fills the stack) and, once an action was taken in that
    state, the action, the reward, whether the next state is terminal and ``next`` (the slot of
    the next state). A stack therefore never reaches into another episode.

    The ring overwrites its oldest slots. Every slot remembers when it was written (``stamp``):
    a pointer to a slot rewritten later than the slot pointing at it is stale, and ``sample``
    never returns a transition that needs one.

    ``append(Experience(s, a, r, n_s, d))`` is the book's call, for one game: when ``s`` is the
    previous experience's ``n_s`` only the new frame is stored, otherwise ``s`` starts a new
    chain (a new episode). ``n_s`` must be ``s`` pushed by one frame, as an observer makes it.
    ``start(frames)`` and ``add(...)`` store frames directly (``append`` is built on them).
    ``len`` is the number of frames held (at most ``capacity``).
    """

    def __init__(self, capacity, state_shape):
        if capacity < 2:
            raise ValueError(f"a frame buffer needs a capacity of at least 2, got {capacity}")
        if len(state_shape) != 3:
            raise ValueError(f"states must be (height, width, frames), got {tuple(state_shape)}")
        self.capacity = n = int(capacity)
        *frame_shape, self.frame_count = (int(size) for size in state_shape)
        self.frames = np.zeros((n, *frame_shape), dtype=np.uint8)
        self.prev = np.zeros(n, dtype=np.int64)
        self.next = np.full(n, -1, dtype=np.int64)
        self.stamp = np.full(n, -1, dtype=np.int64)
        self.actions = np.zeros(n, dtype=np.int64)
        self.rewards = np.zeros(n, dtype=np.float32)
        self.terminals = np.zeros(n, dtype=np.float32)
        self.count = 0  # frames written since the start, overwritten ones included
        self._last_state = None
        self._last_slot = None

    def __len__(self):
        return min(self.count, self.capacity)

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
        # The observer's states are uint8 frames divided by 255: this gives the bytes back.
        return np.rint(np.asarray(state) * 255.0).astype(np.uint8)

    def append(self, experience):
        """Store one ``Experience(s, a, r, n_s, d)`` of (height, width, frames) states."""
        s, a, r, n_s, d = experience
        if s is self._last_state:
            slot = self._last_slot
        else:  # the first state of an episode: store its whole stack as a chain
            stack = np.moveaxis(self._to_uint8(s), -1, 0)
            slot = self.start(stack[:1])
            for frame in stack[1:]:
                slot = self._write(frame[None], slot)
        n_s = np.asarray(n_s)
        if not np.array_equal(n_s[..., :-1], np.asarray(s)[..., 1:]):
            raise ValueError("n_s must be s with one new frame pushed on, as an observer "
                             "makes it")
        new = self.add(slot, [a], [r], [d], self._to_uint8(n_s[..., -1])[None])
        self._last_state, self._last_slot = experience.n_s, new

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

    def _complete(self, slots):
        """The slots among ``slots`` whose action is recorded and whose two stacks are whole."""
        slots = slots[self.next[slots] >= 0]
        _, fresh = self._stacks(slots)
        _, next_fresh = self._stacks(self.next[slots])
        return slots[fresh & next_fresh]

    def _experiences(self, slots):
        index, _ = self._stacks(slots)
        next_index, _ = self._stacks(self.next[slots])
        return Experience(self._gather(index), self.actions[slots], self.rewards[slots],
                          self._gather(next_index), self.terminals[slots])

    def __getitem__(self, index):
        """The ``index``-th complete transition held, oldest first."""
        held = len(self)
        slots = self._complete((self.count - held + np.arange(held)) % self.capacity)
        batch = self._experiences(np.array([slots[index]]))
        return Experience(*(field[0] for field in batch))

    def sample(self, batch_size, n_batches=None):
        total = batch_size * (1 if n_batches is None else n_batches)
        held = len(self)
        if held == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        chosen = []
        missing = total
        for _ in range(100):
            # Candidates without a recorded action (the newest state, the last frames of
            # episodes) or with a stale stack are drawn again.
            candidates = (self.count - held + np.random.randint(0, held, 2 * missing + 8))
            candidates = self._complete(candidates % self.capacity)[:missing]
            chosen.append(candidates)
            missing -= len(candidates)
            if missing == 0:
                break
        else:
            raise ValueError("the replay buffer holds no complete transition yet")
        batch = self._experiences(np.concatenate(chosen))
        if n_batches is None:
            return batch
        return Experience(*(field.reshape(n_batches, batch_size, *field.shape[1:])
                            for field in batch))
