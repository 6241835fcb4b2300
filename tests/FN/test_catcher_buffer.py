"""FrameReplayBuffer: frames stored once as uint8, stacks rebuilt without crossing episodes."""

import numpy as np
import pytest

from FN.fn_framework import Experience
from FN.replay_buffer import FrameReplayBuffer

FRAMES = 3
SHAPE = (2, 2, FRAMES)


def frame(episode, t):
    """A 2×2 uint8 frame that says which episode and which step it shows."""
    return np.array([[episode % 251, t % 251], [7, 9]], dtype=np.uint8)


def stack(episode, t):
    """The observer's state at step t: the last FRAMES frames, the first one repeated."""
    frames = [frame(episode, max(t - j, 0)) for j in range(FRAMES - 1, -1, -1)]
    return np.stack(frames, axis=-1).astype(np.float32) / 255.0


def decode(states):
    """(episode, step) of every frame of a batch of stacks: two (batch, FRAMES) arrays."""
    pixels = np.rint(np.asarray(states) * 255.0).astype(int)
    return pixels[:, 0, 0, :], pixels[:, 0, 1, :]


def fill_with_episodes(buffer, episodes, seed=0):
    """Append random-length episodes; return {(episode, t): (action, reward, terminal)}.

    As the trainer does, each experience's ``s`` is the previous one's ``n_s`` (the same
    object) within an episode, and a new array when an episode starts.
    """
    rng = np.random.default_rng(seed)
    truth = {}
    for episode in range(episodes):
        length = int(rng.integers(1, 25))
        terminated = bool(rng.random() < 0.5)  # otherwise cut by a time limit
        s = stack(episode, 0)
        for t in range(length):
            n_s = stack(episode, t + 1)
            action, reward = int(rng.integers(3)), float(rng.normal())
            d = terminated and t == length - 1
            buffer.append(Experience(s, action, reward, n_s, d))
            truth[episode, t] = (action, np.float32(reward), float(d))
            s = n_s
    return truth


def check_batch(batch, truth):
    episodes, steps = decode(batch.s)
    # A stack never reaches into another episode: before the first frame it repeats it.
    assert (episodes == episodes[:, -1:]).all()
    offsets = np.arange(FRAMES - 1, -1, -1)
    np.testing.assert_array_equal(steps, np.maximum(steps[:, -1:] - offsets, 0))
    next_episodes, next_steps = decode(batch.n_s)
    assert (next_episodes == episodes[:, -1:]).all()
    np.testing.assert_array_equal(next_steps[:, -1], steps[:, -1] + 1)
    np.testing.assert_array_equal(next_steps, np.maximum(next_steps[:, -1:] - offsets, 0))
    for i, (episode, t) in enumerate(zip(episodes[:, -1], steps[:, -1])):
        action, reward, terminal = truth[episode, t]
        assert batch.a[i] == action and batch.r[i] == reward and batch.d[i] == terminal


@pytest.mark.parametrize("capacity", [10_000, 97])
def test_append_samples_valid_transitions(capacity):
    np.random.seed(0)
    buffer = FrameReplayBuffer(capacity, SHAPE)
    truth = fill_with_episodes(buffer, episodes=60)
    assert len(buffer) == min(capacity, buffer.count)
    batch = buffer.sample(400)
    assert batch.s.shape == (400, 2, 2, FRAMES) and batch.s.dtype == np.float32
    assert batch.n_s.shape == batch.s.shape
    check_batch(batch, truth)
    if capacity == 97:
        # Only recent transitions survive the ring, and none needs an overwritten frame.
        episodes, _ = decode(batch.s)
        assert episodes.min() > 40
    # Both kinds of episode end are sampled, and only a real termination is terminal.
    assert 0 < batch.d.sum() < len(batch.d)


def test_a_batch_of_games_fills_it_with_start_and_add():
    np.random.seed(1)
    rng = np.random.default_rng(1)
    games = 4
    buffer = FrameReplayBuffer(500, SHAPE)
    episode = np.arange(games)
    t = np.zeros(games, dtype=int)
    truth = {}
    slots = buffer.start(np.stack([frame(e, 0) for e in episode]))
    next_episode = games
    for _ in range(300):
        actions = rng.integers(0, 3, games)
        rewards = rng.normal(size=games).astype(np.float32)
        ended = rng.random(games) < 0.06
        terminals = ended & (rng.random(games) < 0.5)
        for i in range(games):
            truth[episode[i], t[i]] = (actions[i], rewards[i], float(terminals[i]))
        t = t + 1
        slots = buffer.add(slots, actions, rewards, terminals,
                           np.stack([frame(e, s) for e, s in zip(episode, t)]))
        if ended.any():
            for i in np.flatnonzero(ended):
                episode[i], t[i] = next_episode, 0
                next_episode += 1
            slots[ended] = buffer.start(np.stack([frame(e, 0) for e in episode[ended]]))
    batch = buffer.sample(64, n_batches=3)
    assert batch.s.shape == (3, 64, 2, 2, FRAMES) and batch.a.shape == (3, 64)
    flat = Experience(*(field.reshape(192, *field.shape[2:]) for field in batch))
    check_batch(flat, truth)


def test_frames_are_stored_once_as_uint8():
    buffer = FrameReplayBuffer(1_000, SHAPE)
    truth = fill_with_episodes(buffer, episodes=20)
    assert buffer.frames.dtype == np.uint8 and buffer.frames.shape == (1_000, 2, 2)
    # Each step adds one frame; each episode adds its first stack's frames as well.
    assert buffer.count == len(truth) + 20 * FRAMES


def test_indexing_gives_the_transitions_oldest_first():
    buffer = FrameReplayBuffer(1_000, SHAPE)
    truth = fill_with_episodes(buffer, episodes=3)
    first, last = buffer[0], buffer[-1]
    assert first.s.shape == SHAPE
    episodes, steps = decode(first.s[np.newaxis])
    assert (episodes[0, -1], steps[0, -1]) == (0, 0)
    assert last.r == truth[max(truth)][1]
    with pytest.raises(ValueError):
        FrameReplayBuffer(100, SHAPE).sample(1)


def test_a_new_state_starts_a_new_chain_and_n_s_must_follow_s():
    buffer = FrameReplayBuffer(100, SHAPE)
    s, n_s = stack(0, 5), stack(0, 6)
    buffer.append(Experience(s, 1, 0.5, n_s, False))
    # Not the previous n_s: a new episode, stored as a chain of its own.
    s2, n_s2 = stack(9, 3), stack(9, 4)
    buffer.append(Experience(s2, 2, 1.0, n_s2, True))
    np.random.seed(0)
    batch = buffer.sample(20)
    for i in range(20):
        expected = (s, n_s) if batch.a[i] == 1 else (s2, n_s2)
        np.testing.assert_allclose(batch.s[i], expected[0], atol=1e-6)
        np.testing.assert_allclose(batch.n_s[i], expected[1], atol=1e-6)
        assert batch.d[i] == float(batch.a[i] == 2)
    # A next state that is not s pushed by one frame cannot be stored frame by frame.
    with pytest.raises(ValueError, match="one new frame"):
        buffer.append(Experience(n_s2, 0, 0.0, stack(3, 0), False))


def test_it_holds_what_the_books_deque_holds():
    """The book keeps experiences in ``deque(maxlen=buffer_size)``; this buffer is its fast
    form. Filled alike, both hold the same transitions, oldest first: the same frames (as the
    observer's uint8 bytes), actions, rewards and terminal flags."""
    from collections import deque

    class Both:
        def __init__(self):
            self.book, self.fast = deque(maxlen=60), FrameReplayBuffer(60, SHAPE)

        def append(self, experience):
            self.book.append(experience)
            self.fast.append(experience)

    both = Both()
    fill_with_episodes(both, episodes=4, seed=3)
    # The frame buffer counts frames, the deque transitions; compare the transitions both
    # still hold completely: the deque's newest ones.
    held = [both.fast[i] for i in range(-1, -40, -1)][::-1]
    for book, fast in zip(list(both.book)[-len(held):], held):
        for state, fast_state in ((book.s, fast.s), (book.n_s, fast.n_s)):
            np.testing.assert_array_equal(np.rint(state * 255), np.rint(fast_state * 255))
        assert (book.a, np.float32(book.r), float(book.d)) == (fast.a, fast.r, fast.d)
