"""A2C's CatcherObserver (FN/a2c_agent.py): gray, area-averaged, stacked frames for one game
or a batch that restarts, equal to the book's form in FN/dqn_agent.py; the catch rate."""

import sys

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers Catcher-v0)
from envs.catcher import (
    GRAY_WEIGHTS,
    LEFT,
    RIGHT,
    STAY,
    Catcher,
    CatcherVectorEnv,
    area_weights,
    evaluate_catch_rate,
)
from FN.a2c_agent import CatcherObserver, make_catcher
from FN.dqn_agent import CatcherObserver as BookCatcherObserver
from FN.dqn_agent import make_catcher as make_book_catcher
from tests.script_modules import load_script


def reference_preprocess(frame, width, height):
    """Gray by the luma weights, then exact area averaging by upsampling to a common size."""
    gray = frame.astype(np.float64) @ GRAY_WEIGHTS.astype(np.float64)
    in_height, in_width = gray.shape
    row_factor = np.lcm(in_height, height) // in_height
    column_factor = np.lcm(in_width, width) // in_width
    fine = np.repeat(np.repeat(gray, row_factor, axis=0), column_factor, axis=1)
    blocks = fine.reshape(height, fine.shape[0] // height, width, fine.shape[1] // width)
    return blocks.mean(axis=(1, 3))


@pytest.mark.parametrize("size_in, size_out", [(64, 40), (64, 32), (64, 64), (10, 7)])
def test_area_weights_average_by_overlap(size_in, size_out):
    weights = area_weights(size_in, size_out)
    assert weights.shape == (size_out, size_in)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    # Every input pixel is spread over the output with total weight size_out / size_in.
    np.testing.assert_allclose(weights.sum(axis=0), size_out / size_in, atol=1e-6)
    if size_in == size_out:
        np.testing.assert_array_equal(weights, np.eye(size_in))


@pytest.mark.parametrize("width, height", [(40, 40), (32, 48), (64, 64)])
def test_preprocess_is_gray_area_average(width, height):
    env = Catcher()
    frame, _ = env.reset(seed=3)
    for _ in range(25):
        frame, *_ = env.step(1)
    small = CatcherObserver(env, width, height, 1).preprocess(frame[None])[0]
    assert small.shape == (height, width) and small.dtype == np.uint8
    expected = reference_preprocess(frame, width, height)
    assert np.abs(small.astype(float) - expected).max() <= 0.5 + 1e-3
    if (width, height) == (64, 64):
        # Full size: only the colours change. White paddle 255, red fruit 132, black 0.
        assert set(np.unique(small).tolist()) == {0, 132, 255}


def test_single_game_stacks_the_last_frames():
    env = gym.make("Catcher-v0", render_mode="rgb_array")
    observer = CatcherObserver(env, 40, 40, 4)
    assert observer.observation_space.shape == (40, 40, 4)
    assert observer.action_space.n == 3
    state = observer.reset(seed=1)
    assert state.shape == (40, 40, 4) and state.dtype == np.float32
    # At the start the first frame fills the whole stack.
    for k in range(1, 4):
        np.testing.assert_array_equal(state[..., k], state[..., 0])
    preprocess = observer.preprocess
    history = [preprocess(observer.render()[None])[0]]
    rng = np.random.default_rng(0)
    for _ in range(30):
        state, _, done, info = observer.step(int(rng.integers(3)))
        history.append(preprocess(observer.render()[None])[0])
        assert not done and info["terminated"] is False and info["truncated"] is False
    expected = np.stack(history[-4:], axis=-1).astype(np.float32) / 255
    np.testing.assert_allclose(state, expected, atol=1e-7)
    assert 0.0 <= state.min() and state.max() <= 1.0
    np.testing.assert_array_equal(observer.frames[0, ..., -1], history[-1])
    # The fruit moves: consecutive frames differ, which is why frames are stacked.
    assert not np.array_equal(state[..., 0], state[..., 3])


def test_single_game_reset_starts_a_new_stack():
    observer = CatcherObserver(Catcher(), 32, 32, 3)
    observer.reset(seed=0)
    for _ in range(10):
        observer.step(0)
    state = observer.reset()
    for k in range(1, 3):
        np.testing.assert_array_equal(state[..., k], state[..., 0])


def test_batch_matches_single_games():
    games, seed = 3, 11
    vector = CatcherVectorEnv(games)
    batch = CatcherObserver(vector, 40, 40, 2)
    singles = [CatcherObserver(gym.make("Catcher-v0"), 40, 40, 2) for _ in range(games)]
    states = batch.reset(seed=seed)
    assert states.shape == (games, 40, 40, 2) and states.dtype == np.float32
    for i, single in enumerate(singles):
        np.testing.assert_array_equal(states[i], single.reset(seed=seed + i))
    rng = np.random.default_rng(5)
    for _ in range(40):
        actions = rng.integers(0, 3, games)
        states, rewards, dones, infos = batch.step(actions)
        for i, single in enumerate(singles):
            state, reward, done, _ = single.step(int(actions[i]))
            np.testing.assert_array_equal(states[i], state)
            assert rewards[i] == reward and dones[i] == done


def test_next_step_restarts_the_stack_one_step_later():
    vector = CatcherVectorEnv(3, max_episode_steps=6)
    observer = CatcherObserver(vector, 16, 16, 3)
    observer.reset(seed=0)
    for _ in range(6):
        states, _, dones, _ = observer.step(np.full(3, 1))
    assert dones.all()
    ended = states.copy()
    assert not np.array_equal(ended[..., 0], ended[..., -1])  # the paddle slid right
    states, rewards, dones, _ = observer.step(np.full(3, 1))
    assert not dones.any() and not rewards.any()
    for k in range(1, 3):
        np.testing.assert_array_equal(states[..., k], states[..., 0])


def test_transform_pushes_a_batch_of_raw_frames():
    vector = CatcherVectorEnv(2)
    observer = CatcherObserver(vector, 20, 20, 2)
    frames, _ = vector.reset(seed=0)
    first = observer.transform(frames)
    np.testing.assert_array_equal(first[..., 0], first[..., 1])
    frames, *_ = vector.step(np.array([0, 1]))
    second = observer.transform(frames)
    np.testing.assert_array_equal(second[..., 0], first[..., 1])
    with pytest.raises(ValueError):
        observer.transform(frames[:1])


def expert(game):
    """Steer every paddle's centre under its fruit, braking early (see tests/envs)."""
    target = game.fruit_x + game.fruit_size / 2 - game.paddle_width / 2
    predicted = game.paddle_x + 9 * game.paddle_velocity
    return np.where(predicted < target - 1, RIGHT, np.where(predicted > target + 1, LEFT, STAY))


def dodge(game):
    return np.where(game.fruit_x < game.width / 2, RIGHT, LEFT)


def test_evaluate_catch_rate_counts_each_game_once():
    env = CatcherObserver(CatcherVectorEnv(4, init_lives=1), 24, 24, 2)
    game = env.env.game
    rate, caught, missed = evaluate_catch_rate(lambda states: dodge(game), env, 8, seed=3)
    assert rate == 0.0 and caught.tolist() == [0] * 8 and missed.tolist() == [1] * 8
    rate, caught, missed = evaluate_catch_rate(lambda states: expert(game), env, 4, seed=3)
    # The expert never misses: every game runs to the 1,000-frame limit (about 33 fruits).
    assert rate == 1.0 and missed.sum() == 0 and (caught >= 30).all()
    with pytest.raises(ValueError):
        evaluate_catch_rate(lambda states: expert(game), env, 6)


def test_evaluate_catch_rate_of_random_play_is_low():
    env = CatcherObserver(CatcherVectorEnv(10), 24, 24, 2)
    rng = np.random.default_rng(0)
    rate, caught, missed = evaluate_catch_rate(
        lambda states: rng.integers(0, 3, len(states)), env, 10, seed=0)
    assert 0.0 < rate < 0.5
    assert rate == pytest.approx(caught.sum() / (caught.sum() + missed.sum()))
    assert (missed == 3).all()  # random play loses its three lives long before the limit


def test_the_books_observer_plays_a_batch_of_first_episodes_as_the_fast_one():
    """DQN evaluates on a batch through the book's observer: each game's first episode gives the
    catch rate that A2C's observer gives."""
    rates = []
    for make in (make_book_catcher, make_catcher):
        rng = np.random.default_rng(0)
        act = rng.integers
        rates.append(evaluate_catch_rate(lambda states, act=act: act(0, 3, len(states)),
                                         make(num_games=4), 8, seed=5))
    assert rates[0][0] == rates[1][0] and (rates[0][1] == rates[1][1]).all()


# check_env recommends checking the unwrapped game; the wrapper is what is checked here.
@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_the_gymnasium_wrapper_shows_what_our_agents_see(monkeypatch):
    """Another library's agent, through CatcherObservation, gets the frames our agents'
    states are made of (uint8; a state is the same stack divided by 255), through resets and
    episode ends alike."""
    from gymnasium.utils.env_checker import check_env

    benchmark = load_script("benchmarks/catcher.py")
    # check_env re-creates the wrapper from its module's name: make that module importable.
    monkeypatch.setitem(sys.modules, benchmark.__name__, benchmark)
    wrapped = benchmark.CatcherObservation(gym.make("Catcher-v0"))
    check_env(wrapped, skip_render_check=True)
    assert wrapped.observation_space == gym.spaces.Box(0, 255, (40, 40, 2), np.uint8)
    observer = make_catcher()
    rng = np.random.default_rng(0)
    for seed in (4, 5):
        observation, _ = wrapped.reset(seed=seed)
        state = observer.reset(seed=seed)
        done = False
        while not done:
            assert observation.dtype == np.uint8
            np.testing.assert_array_equal(observation, observer.frames[0])
            np.testing.assert_allclose(observation / 255, state, rtol=1e-6)
            action = int(rng.integers(3))
            observation, reward, terminated, truncated, info = wrapped.step(action)
            state, observer_reward, done, observer_info = observer.step(action)
            assert (reward, terminated, truncated) == (
                observer_reward, observer_info["terminated"], observer_info["truncated"])
        assert info["caught"] == observer_info["caught"]


def test_the_books_observer_and_the_fast_one_give_the_same_states():
    """FN/dqn_agent.py's CatcherObserver is the listing; the batched one here is what the runs
    use. Both must give the very same states, through episode ends and resets."""
    book = BookCatcherObserver(gym.make("Catcher-v0"), 40, 40, 2)
    fast = make_catcher()
    rng = np.random.default_rng(0)
    for seed in (3, 4):
        np.testing.assert_array_equal(book.reset(seed=seed), fast.reset(seed=seed))
        done = False
        while not done:
            action = int(rng.integers(3))
            state, reward, done, info = book.step(action)
            fast_state, fast_reward, fast_done, _ = fast.step(action)
            np.testing.assert_array_equal(state, fast_state)
            assert (reward, done) == (fast_reward, fast_done)
