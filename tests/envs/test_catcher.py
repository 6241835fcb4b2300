import math
import subprocess
import sys
import warnings

from common import play_first_episodes

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import envs
from envs.catcher import (
    LEFT,
    MAX_EPISODE_STEPS,
    RIGHT,
    STAY,
    Catcher,
    CatcherGames,
    CatcherVectorEnv,
    catch_rate,
    register_catcher,
)

FRUIT = (255, 80, 80)
PADDLE = (255, 255, 255)


def expert_action(game, i=0):
    """Steer the paddle's centre under the fruit, braking early (it slides 9 × v when idle)."""
    target = game.fruit_x[i] + game.fruit_size / 2 - game.paddle_width / 2
    predicted = game.paddle_x[i] + 9 * game.paddle_velocity[i]
    if predicted < target - 1:
        return RIGHT
    if predicted > target + 1:
        return LEFT
    return STAY


def dodge_action(game, i=0):
    """Run to the wall farther from the fruit: every fruit is missed."""
    return RIGHT if game.fruit_x[i] < game.width / 2 else LEFT


def paint(game, i):
    """The frame of game ``i`` painted pixel by pixel: the reference for ``draw``."""
    frame = np.zeros((game.height, game.width, 3), dtype=np.uint8)
    fruit_top = math.floor(game.fruit_y[i])
    fruit_left = int(game.fruit_x[i])
    paddle_left = math.floor(game.paddle_x[i])
    for row in range(game.height):
        for column in range(game.width):
            if (game.paddle_top <= row < game.paddle_top + game.paddle_height
                    and paddle_left <= column < paddle_left + game.paddle_width):
                frame[row, column] = PADDLE
            if (fruit_top <= row < fruit_top + game.fruit_size
                    and fruit_left <= column < fruit_left + game.fruit_size):
                frame[row, column] = FRUIT  # in front of the paddle
    return frame


def rollout(env, seed, steps=200, action_seed=0):
    """Observations, rewards and infos of ``steps`` random actions, resetting after each end."""
    actions = np.random.default_rng(action_seed).integers(0, 3, steps)
    observation, info = env.reset(seed=seed)
    trajectory = [(observation, 0.0, False, False, info)]
    for action in actions:
        step = env.step(action)
        trajectory.append(step)
        if step[2] or step[3]:
            trajectory.append(env.reset())
    return trajectory


def assert_same_trajectory(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)
            else:
                assert x == y


@pytest.mark.parametrize("render_mode", [None, "rgb_array", "human"])
def test_passes_gymnasiums_env_checker_without_warnings(render_mode):
    env = gym.make("Catcher-v0", render_mode=render_mode).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=False)
    env.close()


def test_registering_from_scratch_makes_the_game_and_its_batch(monkeypatch):
    # Importing envs registered Catcher-v0 already; take it out to see what the call adds.
    monkeypatch.delitem(gym.envs.registry, "Catcher-v0")
    register_catcher()
    env = gym.make("Catcher-v0")
    assert isinstance(env.unwrapped, Catcher) and env.spec.max_episode_steps == 1000
    games = gym.make_vec("Catcher-v0", num_envs=2, vectorization_mode="vector_entry_point")
    assert isinstance(games, CatcherVectorEnv) and games.num_envs == 2
    env.close()
    games.close()


def test_registration_is_idempotent_and_sets_the_time_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_catcher()
        register_catcher()
    spec = gym.spec("Catcher-v0")
    assert spec.max_episode_steps == MAX_EPISODE_STEPS == 1000
    assert spec.vector_entry_point == "envs.catcher:CatcherVectorEnv"
    assert envs.catcher.Catcher is Catcher


def test_default_spaces_and_geometry_follow_the_published_rules():
    env = Catcher()
    assert env.observation_space == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.get_action_meanings() == ["LEFT", "RIGHT", "STAY"]
    game = env.game
    assert game.fruit_size == 4  # 6% of 64
    assert game.paddle_width == 13 and game.paddle_height == 3  # 20% of 64, 4% of 64
    assert game.paddle_top + game.paddle_height == 64 - 3  # 3 pixels above the bottom
    assert game.fruit_fall == pytest.approx(0.00095 * 64 * 1000 / 30)  # about 2 px a frame
    assert game.paddle_speed == pytest.approx(0.021 * 64)
    observation, info = env.reset(seed=0)
    assert observation.shape == (64, 64, 3) and observation.dtype == np.uint8
    assert info == {"lives": 3, "caught": 0, "missed": 0}
    # The paddle starts in the middle: 13 white pixels in each of rows 58 to 60.
    paddle_rows = np.flatnonzero((observation == PADDLE).all(axis=2).any(axis=1))
    assert paddle_rows.tolist() == [58, 59, 60]
    assert (observation[58] == PADDLE).all(axis=1).sum() == 13


def test_fruit_falls_about_two_pixels_per_frame_as_a_four_pixel_square():
    env = Catcher()
    env.reset(seed=3)
    game = env.game
    ys = []
    for _ in range(20):
        observation, *_ = env.step(STAY)
        ys.append(game.fruit_y[0])
    assert np.diff(ys) == pytest.approx(np.full(19, 0.00095 * 64 * 1000 / 30))
    fruit = (observation == FRUIT).all(axis=2)
    rows, columns = np.nonzero(fruit)
    assert rows.min() == math.floor(ys[-1]) and len(set(rows)) == 4 and len(set(columns)) == 4
    assert columns.min() == game.fruit_x[0]


def test_paddle_accelerates_decays_and_stops_at_the_walls():
    env = Catcher()
    env.reset(seed=0)
    game = env.game
    start = game.paddle_x[0]
    env.step(RIGHT)
    push = 0.021 * 64
    assert game.paddle_velocity[0] == pytest.approx(push * 0.9)
    assert game.paddle_x[0] == pytest.approx(start + push * 0.9)
    env.step(STAY)
    assert game.paddle_velocity[0] == pytest.approx(push * 0.81)
    for _ in range(30):
        env.step(LEFT)
    assert game.paddle_x[0] == 0.0 and game.paddle_velocity[0] == 0.0
    for _ in range(30):
        env.step(RIGHT)
    assert game.paddle_x[0] == 64 - 13 and game.paddle_velocity[0] == 0.0


def test_new_fruit_appears_above_the_screen_at_a_column_away_from_the_walls():
    game = CatcherGames(1)
    game.rngs[0] = np.random.default_rng(0)
    columns = set()
    for _ in range(300):
        game.reset()
        assert game.fruit_y[0] == -game.fruit_size  # just above the screen
        columns.add(int(game.fruit_x[0]))
    assert all(x % 4 == 0 for x in columns)
    assert min(columns) == 8 and max(columns) + 4 == 64 - 8  # two fruit widths from each wall


def test_a_caught_fruit_gives_plus_one():
    env = Catcher()
    env.reset(seed=1)
    game = env.game
    game.paddle_x[0] = game.fruit_x[0] + game.fruit_size / 2 - game.paddle_width / 2
    frames, reward = 0, 0.0
    while not reward and frames < 100:
        _, reward, terminated, truncated, info = env.step(STAY)
        frames += 1
    assert reward == 1.0 and not terminated and not truncated
    assert info == {"lives": 3, "caught": 1, "missed": 0}
    assert game.fruit_y[0] == -game.fruit_size  # a new fruit replaces the caught one
    assert 26 <= frames <= 31  # it fell from -4 to the paddle (rows 58 to 60) at ~2 px a frame


def test_a_missed_fruit_gives_minus_one_and_costs_a_life():
    env = Catcher()
    env.reset(seed=2)
    game = env.game
    game.fruit_x[0] = 52
    game.paddle_x[0] = 0.0
    observation = None
    for _ in range(100):
        previous = observation
        observation, reward, terminated, _, info = env.step(STAY)
        if reward:
            break
    assert reward == -1.0 and not terminated
    assert info == {"lives": 2, "caught": 0, "missed": 1}
    # Just before, the fruit was low and beside the paddle; now a new one waits above.
    rows = np.flatnonzero((previous[:, 52:56] == FRUIT).all(axis=2).any(axis=1))
    assert len(rows) == 4 and 64 - 4 - 3 <= rows.min() < 64 - 4
    assert not (observation == FRUIT).all(axis=2).any()
    assert game.fruit_y[0] == -game.fruit_size


def test_a_fruit_is_caught_exactly_when_its_drawn_square_touches_the_drawn_paddle():
    paddle_xs = np.arange(0.0, 51.0, 0.25)
    fruit_ys = np.arange(50.0, 62.0, 0.5)
    n = len(paddle_xs) * len(fruit_ys)
    game = CatcherGames(n)
    game.rngs = [np.random.default_rng(i) for i in range(n)]
    game.reset()
    game.fruit_x[:] = 24
    game.paddle_x[:], after_fall = (a.ravel() for a in np.meshgrid(paddle_xs, fruit_ys))
    game.fruit_y[:] = after_fall - game.fruit_fall
    rewards, terminated = game.step(np.full(n, STAY))
    fruit_top, paddle_left = np.floor(after_fall), np.floor(game.paddle_x)
    rows_touch = (fruit_top < 58 + 3) & (fruit_top + 4 > 58)
    columns_touch = (24 < paddle_left + 13) & (24 + 4 > paddle_left)
    caught = rows_touch & columns_touch
    missed = ~caught & (fruit_top + 4 >= 64)
    assert caught.sum() > 100 and missed.sum() > 100
    np.testing.assert_array_equal(rewards, np.select([caught, missed], [1.0, -1.0], 0.0))
    np.testing.assert_array_equal(game.caught, caught)
    np.testing.assert_array_equal(game.lives, 3 - missed)
    assert not terminated.any()


def test_the_episode_ends_with_an_extra_minus_five_when_no_lives_remain():
    env = Catcher(init_lives=3)
    env.reset(seed=4)
    rewards, lives = [], []
    for _ in range(500):
        _, reward, terminated, truncated, info = env.step(dodge_action(env.game))
        assert not truncated
        if reward:
            rewards.append(reward)
            lives.append(info["lives"])
        if terminated:
            break
    assert terminated
    assert rewards == [-1.0, -1.0, -6.0]
    assert lives == [2, 1, 0]
    assert info == {"lives": 0, "caught": 0, "missed": 3}
    assert catch_rate(info) == 0.0


def test_a_good_player_never_loses_and_the_registered_game_is_truncated():
    env = gym.make("Catcher-v0")
    env.reset(seed=5)
    total, frames, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = env.step(expert_action(env.unwrapped.game))
        total += reward
        frames += 1
    assert frames == 1000 and truncated and not terminated
    assert info["missed"] == 0 and info["caught"] >= 30 and total == info["caught"]
    assert catch_rate(info) == 1.0


def test_same_seed_same_trajectory_and_different_seeds_differ():
    first = rollout(gym.make("Catcher-v0"), seed=42)
    second = rollout(gym.make("Catcher-v0"), seed=42)
    other = rollout(gym.make("Catcher-v0"), seed=43)
    assert len(first) > 200
    assert_same_trajectory(first, second)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_all_randomness_comes_from_np_random():
    env = Catcher()
    env.reset(seed=7)
    env.np_random = np.random.default_rng(123)
    np.random.seed(0)
    trajectory = rollout_without_reset(env)
    env.reset(seed=7)
    env.np_random = np.random.default_rng(123)
    np.random.seed(1)  # the global generator must not matter
    assert_same_trajectory(trajectory, rollout_without_reset(env))


def rollout_without_reset(env, steps=120):
    return [env.step(a) for a in np.random.default_rng(9).integers(0, 3, steps)]


def test_observations_are_fresh_arrays_never_changed_later():
    env = Catcher(render_mode="rgb_array")
    first, _ = env.reset(seed=0)
    kept = first.copy()
    for _ in range(40):
        observation, *_ = env.step(RIGHT)
    np.testing.assert_array_equal(first, kept)
    frame = env.render()
    np.testing.assert_array_equal(frame, observation)
    frame[:] = 1
    assert not (observation == 1).all()


def test_draw_matches_a_pixel_by_pixel_painter():
    rng = np.random.default_rng(0)
    game = CatcherGames(40)
    game.rngs = [np.random.default_rng(i) for i in range(40)]
    game.reset()
    game.fruit_y[:] = rng.uniform(-game.fruit_size, game.height - game.fruit_size, 40)
    game.fruit_y[:8] = rng.uniform(55, 60, 8)  # beside the paddle's rows
    game.fruit_y[8] = -game.fruit_size  # hidden above the screen
    game.paddle_x[:] = rng.uniform(0, game.max_paddle_x, 40)
    game.paddle_x[9], game.paddle_x[10] = 0.0, game.max_paddle_x
    frames = game.draw()
    for i in range(40):
        np.testing.assert_array_equal(frames[i], paint(game, i))


def test_screen_size_colors_and_speeds_are_configurable():
    env = Catcher(width=96, height=80, init_lives=1, fps=60, fruit_color=(0, 255, 0),
                  paddle_color=(0, 0, 255), background_color=(10, 10, 10))
    observation, info = env.reset(seed=0)
    assert observation.shape == (80, 96, 3) and info["lives"] == 1
    assert env.observation_space.shape == (80, 96, 3)
    assert env.metadata["render_fps"] == 60
    game = env.game
    assert game.fruit_size == 5 and game.paddle_width == 19 and game.paddle_height == 3
    assert game.fruit_fall == pytest.approx(0.00095 * 80 * 1000 / 60)
    assert (observation == (10, 10, 10)).all(axis=2).sum() == 80 * 96 - 19 * 3
    for _ in range(10):
        observation, *_ = env.step(STAY)
    assert (observation == (0, 255, 0)).all(axis=2).any()
    assert (observation == (0, 0, 255)).all(axis=2).sum() == 19 * 3


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 0}, {"height": -1}, {"init_lives": 0}, {"width": 10}, {"fps": 0},
     {"fruit_fall_speed": 0.01}, {"init_lives": 2.5}],
)
def test_invalid_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        Catcher(**kwargs)


@pytest.mark.parametrize("action", [-1, 3])
def test_invalid_actions_are_refused(action):
    env = Catcher()
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(action)


@pytest.mark.parametrize("actions", [[0, 3], [-1, 2], [5, 5]])
def test_a_batch_refuses_invalid_actions_and_a_step_before_reset(actions):
    env = CatcherVectorEnv(2)
    with pytest.raises(gym.error.ResetNeeded, match=r"reset\(\)"):
        env.step([STAY, STAY])
    env.reset(seed=0)
    with pytest.raises(ValueError, match="0 .left., 1 .right. or 2 .stay."):
        env.step(actions)


def test_a_batch_takes_its_actions_as_a_list_or_a_column():
    flat, column = CatcherVectorEnv(2), CatcherVectorEnv(2)
    flat.reset(seed=5)
    column.reset(seed=5)
    for actions in ([LEFT, RIGHT], [RIGHT, RIGHT], [STAY, LEFT]):
        expected = flat.step(actions)
        got = column.step(np.array(actions)[:, None])
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_human_mode_opens_a_window_and_closes_it():
    env = gym.make("Catcher-v0", render_mode="human")
    env.reset(seed=0)
    for _ in range(3):
        env.step(RIGHT)
    window = env.unwrapped._window
    assert window is not None and window.get_size() == (64 * 8, 64 * 8)
    env.close()
    assert env.unwrapped._window is None


def test_headless_use_never_imports_pygame():
    code = (
        "import sys, gymnasium as gym, envs\n"
        "env = gym.make('Catcher-v0', render_mode='rgb_array')\n"
        "env.reset(seed=0)\n"
        "env.step(0)\n"
        "env.render()\n"
        "env.close()\n"
        "print('pygame' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------- the batched Catcher


def run_vector(env, seeds, actions, disabled=False):
    """Step ``env`` with ``actions`` and return every step's results."""
    results = [env.reset(seed=seeds)]
    for action in actions:
        results.append(env.step(action))
        ended = results[-1][2] | results[-1][3]
        if disabled and ended.any():
            results.append(env.reset(options={"reset_mask": ended.copy()}))
    return results


def assert_same(a, b, where="result"):
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{index}]")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert_same(list(a), list(b), where)
    elif a is None:
        assert b is None, where
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{where}: {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=where)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_batched_catcher_matches_single_catchers_with_the_same_seeds_and_actions(mode):
    n, steps, limit = 5, 400, 150
    kwargs = {"init_lives": 2}
    singles = SyncVectorEnv(
        [lambda: gym.make("Catcher-v0", max_episode_steps=limit, **kwargs) for _ in range(n)],
        autoreset_mode=mode,
    )
    batched = CatcherVectorEnv(n, max_episode_steps=limit, autoreset_mode=mode, **kwargs)
    assert batched.single_observation_space == singles.single_observation_space
    assert batched.observation_space == singles.observation_space
    assert batched.action_space == singles.action_space
    actions = np.random.default_rng(0).integers(0, 3, (steps, n))
    seeds = [11, 22, 33, 44, 55]
    disabled = mode == AutoresetMode.DISABLED
    expected = run_vector(singles, seeds, actions, disabled)
    got = run_vector(batched, seeds, actions, disabled)
    assert_same(expected, got)
    # The comparison covered both ways for a game to end.
    assert sum(step[2].sum() for step in got[1:] if len(step) == 5) > 0
    assert sum(step[3].sum() for step in got[1:] if len(step) == 5) > 0


def test_batched_catcher_seeds_game_i_like_a_single_catcher_with_seed_plus_i():
    batched = CatcherVectorEnv(3)
    observations, _ = batched.reset(seed=100)
    for i in range(3):
        single = Catcher()
        observation, _ = single.reset(seed=100 + i)
        np.testing.assert_array_equal(observations[i], observation)
        for action in (RIGHT, RIGHT, STAY, LEFT):
            observation, reward, *_ = single.step(action)
        np.testing.assert_array_equal(batched.game.fruit_x[i], single.game.fruit_x[0])


def test_make_vec_uses_the_batched_catcher():
    env = gym.make_vec("Catcher-v0", num_envs=4, init_lives=1)
    assert isinstance(env.unwrapped, CatcherVectorEnv)
    assert env.num_envs == 4 and env.max_episode_steps == MAX_EPISODE_STEPS
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    observations, info = env.reset(seed=0)
    assert observations.shape == (4, 64, 64, 3) and observations.dtype == np.uint8
    assert info["lives"].tolist() == [1, 1, 1, 1] and info["_lives"].all()
    env.close()


def test_disabled_autoreset_refuses_to_step_a_finished_game():
    env = CatcherVectorEnv(2, autoreset_mode=AutoresetMode.DISABLED, init_lives=1)
    env.reset(seed=0)
    for _ in range(100):
        _, _, terminated, _, _ = env.step([dodge_action(env.game, 0), dodge_action(env.game, 1)])
        if terminated.any():
            break
    assert terminated.any()
    with pytest.raises(RuntimeError, match="reset_mask"):
        env.step([STAY, STAY])
    _, info = env.reset(options={"reset_mask": terminated.copy()})
    assert (info["lives"] == 1).all()
    env.step([STAY, STAY])


def test_batched_observations_are_fresh_and_render_returns_each_frame():
    env = CatcherVectorEnv(3, render_mode="rgb_array")
    first, _ = env.reset(seed=0)
    kept = first.copy()
    for _ in range(20):
        observations, *_ = env.step([RIGHT, LEFT, STAY])
    np.testing.assert_array_equal(first, kept)
    frames = env.render()
    assert len(frames) == 3
    for frame, observation in zip(frames, observations):
        np.testing.assert_array_equal(frame, observation)


def test_catch_rate_works_on_single_and_batched_infos():
    assert catch_rate({"caught": 3, "missed": 1}) == 0.75
    # One fruit is enough for a rate, and a single game's rate is a plain float.
    assert catch_rate({"caught": 1, "missed": 0}) == 1.0
    assert catch_rate({"caught": 0, "missed": 1}) == 0.0
    assert type(catch_rate({"caught": 1, "missed": 1})) is float
    assert math.isnan(catch_rate({"caught": 0, "missed": 0}))
    rates = catch_rate({"caught": np.array([1, 0, 2]), "missed": np.array([1, 0, 0])})
    np.testing.assert_array_equal(rates, [0.5, np.nan, 1.0])


class _SeenBatch:
    """A batch as an observer shows it: states from reset, and one ``dones`` per game."""

    def __init__(self, num_games, **game_kwargs):
        self.env = CatcherVectorEnv(num_games, autoreset_mode=AutoresetMode.SAME_STEP,
                                    **game_kwargs)

    def reset(self, seed=None):
        return self.env.reset(seed=seed)[0]

    def step(self, actions):
        states, rewards, terminated, truncated, info = self.env.step(actions)
        return states, rewards, terminated | truncated, info


def test_play_first_episodes_counts_each_games_first_episode_and_asks_only_for_live_games():
    sizes = []
    rng = np.random.default_rng(0)

    def act(states):
        sizes.append(len(states))
        return rng.integers(0, 3, len(states))

    returns, caught, missed = play_first_episodes(_SeenBatch(4), act, 7, ("caught", "missed"))
    # The same games one by one, with the same actions drawn in the same order.
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 3, size) for size in sizes]
    expected = np.zeros(4)
    counters = []
    games = [Catcher() for _ in range(4)]
    for i, game in enumerate(games):
        game.reset(seed=7 + i)
    playing = list(range(4))
    for step_actions in actions:
        still = []
        for i, action in zip(playing, step_actions):
            _, reward, terminated, truncated, info = games[i].step(int(action))
            expected[i] += reward
            if terminated or truncated:
                counters.append((i, info["caught"], info["missed"]))
            else:
                still.append(i)
        playing = still
    assert playing == []
    assert sizes[0] == 4 and sizes[-1] < 4 and sizes == sorted(sizes, reverse=True)
    np.testing.assert_array_equal(returns, expected)
    for i, game_caught, game_missed in counters:
        assert (caught[i], missed[i]) == (game_caught, game_missed)
