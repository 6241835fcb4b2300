"""Day4: DQN's replay buffer (the continuous actor-critic's too), the fast form of the book's
``deque`` and ``random.sample``: preallocated arrays, so that a batch is one indexing step, with
stacked frames kept as uint8, a quarter of float32's memory. A test compares it to the deque.
"""

import numpy as np

from FN.fn_framework import Experience


class ReplayBuffer:
    """``append``, ``len`` and indexing (0 is the oldest) as the book's deque, and ``sample``,
    uniform with NumPy's global generator (``n_batches`` adds a leading batch axis)."""

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError(f"a buffer needs a positive capacity, got {capacity}")
        self.capacity = int(capacity)
        self.arrays, self.size, self.position = None, 0, 0  # allocated by the first append

    def _allocate(self, experience):
        self.frames = np.ndim(experience.s) == 3  # stacks of frames in [0, 1]: store bytes
        state = np.uint8 if self.frames else np.asarray(experience.s).dtype
        types = (state, np.asarray(experience.a).dtype, np.float32, state, np.float32)
        self.arrays = Experience(*(np.zeros((self.capacity, *np.shape(value)), dtype)
                                   for value, dtype in zip(experience, types)))

    def append(self, experience):
        if self.arrays is None:
            self._allocate(experience)
        for field, array, value in zip(Experience._fields, self.arrays, experience):
            if self.frames and field in ("s", "n_s"):
                value = np.rint(np.asarray(value) * 255.0)
            array[self.position] = value
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def __len__(self):
        return self.size

    def _experiences(self, slots):
        s, a, r, n_s, d = (array[slots] for array in self.arrays)
        if self.frames:
            s, n_s = (x.astype(np.float32) * np.float32(1.0 / 255.0) for x in (s, n_s))
        return Experience(s, a, r, n_s, d)

    def __getitem__(self, index):
        if not -self.size <= index < self.size:
            raise IndexError("replay buffer index out of range")
        return self._experiences((self.position - self.size + index % self.size)
                                 % self.capacity)

    def sample(self, batch_size, n_batches=None):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        shape = batch_size if n_batches is None else (n_batches, batch_size)
        slots = np.random.randint(0, self.size, size=shape)
        return self._experiences((self.position - self.size + slots) % self.capacity)
