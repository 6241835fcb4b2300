"""The replay buffer with Catcher's stacks of frames: kept as uint8, given back exactly."""

from collections import deque

import numpy as np
import pytest

from FN.fn_framework import Experience
from FN.replay_buffer import ReplayBuffer

SHAPE = (2, 2, 3)


def random_experiences(count, seed=0):
    """Experiences whose states are what an observer makes: uint8 bytes divided by 255."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        s, n_s = (rng.integers(0, 256, SHAPE).astype(np.float32) * np.float32(1.0 / 255.0)
                  for _ in range(2))
        yield Experience(s, int(rng.integers(3)), float(rng.normal()), n_s, bool(rng.random() < .1))


def test_stacks_of_frames_are_stored_as_bytes():
    buffer = ReplayBuffer(10)
    buffer.append(next(random_experiences(1)))
    assert buffer.arrays.s.dtype == buffer.arrays.n_s.dtype == np.uint8
    assert buffer.arrays.s.shape == (10, *SHAPE)


def test_it_holds_what_the_books_deque_holds():
    """The book keeps experiences in ``deque(maxlen=buffer_size)``; this buffer is its fast
    form. Filled alike, both hold the same transitions, oldest first, bit for bit."""
    book, fast = deque(maxlen=60), ReplayBuffer(60)
    for experience in random_experiences(150, seed=3):
        book.append(experience)
        fast.append(experience)
    assert len(fast) == len(book) == 60
    for i, expected in enumerate(book):
        got = fast[i]
        np.testing.assert_array_equal(got.s, expected.s)
        np.testing.assert_array_equal(got.n_s, expected.n_s)
        assert (got.a, got.r, got.d) == (expected.a, np.float32(expected.r), float(expected.d))
    np.testing.assert_array_equal(fast[-1].s, book[-1].s)
    with pytest.raises(IndexError):
        fast[60]


def test_samples_are_stored_transitions():
    buffer = ReplayBuffer(50)
    stored = list(random_experiences(50, seed=1))
    for experience in stored:
        buffer.append(experience)
    np.random.seed(0)
    batch = buffer.sample(8, n_batches=3)
    assert batch.s.shape == (3, 8, *SHAPE) and batch.s.dtype == np.float32
    rewards = {np.float32(e.r): e for e in stored}
    for s, r, n_s in zip(batch.s.reshape(-1, *SHAPE), batch.r.reshape(-1),
                         batch.n_s.reshape(-1, *SHAPE)):
        np.testing.assert_array_equal(s, rewards[r].s)
        np.testing.assert_array_equal(n_s, rewards[r].n_s)
