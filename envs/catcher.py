"""Catcher: catch the falling fruit with a paddle (the pixel game of Day4 to Day6).

The book played PyGame-Learning-Environment's Catcher through gym-ple; neither installs today.
This module rebuilds the game from its published rules as gymnasium environments:

- ``Catcher``: one game, a ``gymnasium.Env`` registered as ``Catcher-v0``;
- ``CatcherVectorEnv``: N games stepped together in NumPy, a ``gymnasium.vector.VectorEnv``
  (A2C and evolution strategies play many games at once);
- ``CatcherGames``: the rules themselves, written once as array code for N games. ``Catcher``
  is a view on one game of it and ``CatcherVectorEnv`` on N, so the two can never disagree.

Frames are drawn straight into NumPy arrays (cut out of precomputed pictures of the fruit and
the paddle in one gather), which keeps a step in the tens of microseconds. pygame is imported
only when ``render_mode="human"`` asks for a window.
"""

from common import play_first_episodes

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

ENV_ID = "Catcher-v0"
# A perfect player never loses all its lives, so the registered game is cut off here.
MAX_EPISODE_STEPS = 1000
LEFT, RIGHT, STAY = 0, 1, 2
ACTION_MEANINGS = ("LEFT", "RIGHT", "STAY")
# Fruit appears at a random column, at least this many fruit widths away from either wall.
SPAWN_MARGIN = 2
# What the agents see is a small grayscale copy of the screen (FN's and EV's observers): luma
# by ITU-R 601-2, as Pillow's convert("L"), then shrunk by averaging pixels by area.
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def area_weights(size_in, size_out):
    """A ``(size_out, size_in)`` matrix that averages input pixels into output pixels by area.

    Output pixel ``i`` covers the input interval ``[i, i + 1) * size_in / size_out``; its row
    holds the length of each input pixel's overlap with that interval, divided by the
    interval's length, so each row sums to 1. When the sizes are equal it is the identity.
    """
    if size_in < 1 or size_out < 1:
        raise ValueError("sizes must be positive")
    scale = size_in / size_out
    starts = np.arange(size_out)[:, None] * scale
    ends = starts + scale
    pixels = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0.0, None)
    return (overlap / scale).astype(np.float32)


def _pixels(fraction, size):
    """``fraction`` of ``size`` pixels, rounded half up (not to even) and at least 1."""
    return max(1, int(fraction * size + 0.5))


def catch_rate(info):
    """Fraction of fruits caught, from an info dict (``caught`` and ``missed``); NaN before any."""
    caught = np.asarray(info["caught"], dtype=float)
    total = caught + np.asarray(info["missed"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(total > 0, caught / np.maximum(total, 1), np.nan)
    return float(rate) if rate.ndim == 0 else rate


def evaluate_catch_rate(act, env, episode_count=10, seed=None):
    """The catch rate of the policy ``act(states) -> actions`` over ``episode_count`` games:
    rounds of the batch ``env`` (seen through an observer), each game playing its first
    episode, with seeds ``seed``, ``seed + n``, ... Returns ``(rate, caught, missed)``, the
    last two per game (FN's agents are evaluated by it)."""
    n = env.num_envs
    if not env.is_vector or episode_count < 1 or episode_count % n:
        raise ValueError(f"episode_count {episode_count} must be a multiple of a batch's games")
    rounds = [play_first_episodes(env, act, None if seed is None else seed + i * n,
                                  ("caught", "missed"))[1:]
              for i in range(episode_count // n)]
    caught, missed = (np.concatenate(counts) for counts in zip(*rounds))
    rate = catch_rate({"caught": caught.sum(), "missed": missed.sum()})
    return (0.0 if np.isnan(rate) else rate), caught, missed

class CatcherGames:
    """The rules of Catcher for ``num_games`` games at once, as NumPy arrays.

    The game state is a handful of arrays with one entry per game: the paddle's position
    (``paddle_x``, its left edge, a float) and velocity (``paddle_velocity``), the fruit's
    position (``fruit_x``, an integer left edge, and ``fruit_y``, a float top edge; negative
    while it is above the screen), and the counters ``lives``, ``caught`` and ``missed``.
    Each game draws its random numbers from its own generator in ``rngs``, so game ``i``
    of a batch plays exactly like a single game seeded the same way.

    One frame (``step``):

    1. the action adds ``-paddle_speed``, ``+paddle_speed`` or nothing to the velocity, the
       velocity decays by ``paddle_decay`` and moves the paddle; at a wall the paddle stops
       (its velocity becomes 0);
    2. the fruit falls by ``fruit_fall_speed * height * 1000 / fps`` pixels;
    3. a fruit whose drawn square overlaps the drawn paddle is caught; otherwise a fruit whose
       bottom edge reaches the bottom of the screen is missed and costs a life;
    4. a caught or missed fruit is replaced by a new one above the screen, unless that was
       the last life.

    Collisions use the drawn pixels (positions rounded down), so what is seen is what counts.
    The arguments are those of ``Catcher``; see its docstring.
    """

    def __init__(
        self,
        num_games=1,
        width=64,
        height=64,
        init_lives=3,
        fps=30,
        fruit_size=0.06,
        fruit_fall_speed=0.00095,
        paddle_width=0.2,
        paddle_height=0.04,
        paddle_bottom_gap=3,
        paddle_speed=0.021,
        paddle_decay=0.9,
        catch_reward=1.0,
        miss_reward=-1.0,
        game_over_reward=-5.0,
        background_color=(0, 0, 0),
        fruit_color=(255, 80, 80),
        paddle_color=(255, 255, 255),
    ):
        for name, value in (("num_games", num_games), ("width", width), ("height", height),
                            ("init_lives", init_lives)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.num_games = int(num_games)
        self.width, self.height = int(width), int(height)
        self.init_lives = int(init_lives)
        self.fps = fps
        self.fruit_size = _pixels(fruit_size, height)
        self.fruit_fall = fruit_fall_speed * height * 1000.0 / fps  # pixels per frame
        self.paddle_width = _pixels(paddle_width, width)
        self.paddle_height = _pixels(paddle_height, height)
        self.paddle_top = height - self.paddle_height - int(paddle_bottom_gap)
        self.paddle_speed = paddle_speed * width
        self.paddle_decay = float(paddle_decay)
        self.rewards = (float(catch_reward), float(miss_reward), float(game_over_reward))
        self.colors = [np.asarray(c, dtype=np.uint8).reshape(3)
                       for c in (background_color, fruit_color, paddle_color)]

        self.spawn_columns = (SPAWN_MARGIN, width // self.fruit_size - SPAWN_MARGIN - 1)
        if self.spawn_columns[0] > self.spawn_columns[1]:
            raise ValueError(f"a {width}-pixel-wide screen has no room for the fruit")
        if self.paddle_top < 0 or self.paddle_width >= width:
            raise ValueError(f"the paddle does not fit on a {width}x{height} screen")
        if self.fruit_fall > self.fruit_size + self.paddle_height - 1:
            raise ValueError("the fruit falls so fast that it could pass through the paddle")

        self.max_paddle_x = float(width - self.paddle_width)
        self.push = np.array([-self.paddle_speed, self.paddle_speed, 0.0])
        # Thresholds on the float top edge y of the fruit, equivalent to comparing the drawn
        # rows floor(y) .. floor(y) + fruit_size - 1 with the paddle's rows (and cheaper).
        self.near_paddle_y = self.paddle_top - self.fruit_size + 1
        self.below_paddle_y = self.paddle_top + self.paddle_height
        self.bottom_y = height - self.fruit_size

        n = self.num_games
        self.rngs = [None] * n
        self.paddle_x = np.zeros(n)
        self.paddle_velocity = np.zeros(n)
        self.fruit_x = np.zeros(n, dtype=np.int64)
        self.fruit_y = np.zeros(n)
        self.lives = np.zeros(n, dtype=np.int64)
        self.caught = np.zeros(n, dtype=np.int64)
        self.missed = np.zeros(n, dtype=np.int64)
        self._build_sprites()

    def reset(self, games=None):
        """Start new games (all, or those selected by an index array or boolean mask)."""
        games = slice(None) if games is None else games
        self.paddle_x[games] = self.max_paddle_x / 2
        self.paddle_velocity[games] = 0.0
        self.lives[games] = self.init_lives
        self.caught[games] = 0
        self.missed[games] = 0
        self._spawn(np.arange(self.num_games)[games])

    def _spawn(self, games):
        """Drop a new fruit above the screen at a random column for each game in ``games``."""
        low, high = self.spawn_columns
        for i in games.tolist():
            column = self.rngs[i].integers(low, high, endpoint=True)
            self.fruit_x[i] = column * self.fruit_size
            self.fruit_y[i] = -self.fruit_size

    def step(self, actions, active=None):
        """Play one frame of every game; return ``(rewards, terminated)`` arrays.

        ``actions`` holds 0 (left), 1 (right) or 2 (stay) for each game. Games outside the
        boolean mask ``active`` still move but can neither catch nor miss, and draw no random
        numbers: the vector env uses that for games it is about to reset anyway.
        """
        # (On arrays this small, NumPy's fixed cost per call is what counts: new arrays are
        # cheaper than in-place updates, and count_nonzero is cheaper than any().)
        velocity = (self.paddle_velocity + self.push[actions]) * self.paddle_decay
        x = self.paddle_x + velocity
        at_wall = (x <= 0.0) | (x >= self.max_paddle_x)
        if np.count_nonzero(at_wall):
            velocity[at_wall] = 0.0
            x = np.minimum(np.maximum(x, 0.0), self.max_paddle_x)
        self.paddle_velocity, self.paddle_x = velocity, x

        y = self.fruit_y = self.fruit_y + self.fruit_fall
        near = y >= self.near_paddle_y
        if active is not None:
            near &= active
        if not np.count_nonzero(near):
            # Most frames: the fruit is still high up and nothing can happen.
            return np.zeros(self.num_games), np.zeros(self.num_games, dtype=bool)

        fruit_x = self.fruit_x
        caught = near & (y < self.below_paddle_y)
        caught &= (x >= fruit_x - self.paddle_width + 1) & (x < fruit_x + self.fruit_size)
        missed = near & ~caught & (y >= self.bottom_y)
        catch_reward, miss_reward, game_over_reward = self.rewards
        rewards = np.zeros(self.num_games)
        rewards[caught] = catch_reward
        rewards[missed] = miss_reward
        self.caught = self.caught + caught
        self.missed = self.missed + missed
        self.lives = self.lives - missed
        game_over = missed & (self.lives <= 0)
        rewards[game_over] += game_over_reward
        self._spawn((caught | (missed & ~game_over)).nonzero()[0])
        return rewards, game_over

    def _build_sprites(self):
        """Precompute the pictures that ``draw`` cuts frames from.

        A frame is background, a fruit and a paddle. Drawing each game with its own slices
        costs a Python loop over the games; instead every frame is cut out of tables in one
        gather. ``strips[k]`` is a tall picture (2 × height + fruit size rows) with a fruit in
        column ``k`` (left edge ``k * fruit_size``) at rows ``height`` to ``height + fruit_size
        - 1``: the frame of a fruit whose top edge is on row ``top`` is its rows
        ``height - top`` to ``2 * height - top - 1``. The
        paddle's rows come from ``paddles[p]``, the paddle's band of rows with its left edge
        at pixel ``p``.
        """
        background, fruit_color, paddle_color = self.colors
        height, width, size = self.height, self.width, self.fruit_size
        self.strip_height = 2 * height + size
        strips = np.empty((width // size, self.strip_height, width, 3), dtype=np.uint8)
        strips[...] = background
        for column in range(width // size):
            strips[column, height:height + size, column * size:(column + 1) * size] = fruit_color
        self._strips = strips.reshape(-1, width * 3)
        # For a fruit whose left edge is at x: the row of the table where its picture starts.
        self._fruit_rows = np.arange(width) // size * self.strip_height + height
        positions = width - self.paddle_width + 1
        paddles = np.empty((positions, self.paddle_height, width, 3), dtype=np.uint8)
        paddles[...] = background
        for left in range(positions):
            paddles[left, :, left:left + self.paddle_width] = paddle_color
        self._paddles = paddles.reshape(positions, -1)
        self._rows = np.arange(height)

    def draw(self):
        """A new ``(num_games, height, width, 3)`` uint8 array with the current frames."""
        height, width, size = self.height, self.width, self.fruit_size
        top, bottom = self.paddle_top, self.paddle_top + self.paddle_height
        # The fruit's top row; clamped so that even a game stepped after its end can be drawn.
        fruit_top = np.minimum(np.floor(self.fruit_y).astype(np.int64), height)
        first_row = self._fruit_rows[self.fruit_x] - fruit_top
        frames = self._strips.take(first_row[:, None] + self._rows, axis=0)
        frames = frames.reshape(self.num_games, height, width, 3)
        paddle_left = self.paddle_x.astype(np.int64)  # x >= 0, so this rounds down
        frames[:, top:bottom] = self._paddles.take(paddle_left, axis=0).reshape(
            self.num_games, bottom - top, width, 3)
        # The paddle's band was pasted over the fruit: repaint a fruit that reaches into those
        # rows (rare: a few frames per fruit, just before it is missed). The fruit is in front.
        for i in (fruit_top > top - size).nonzero()[0].tolist():
            fruit_row, left = int(fruit_top[i]), int(self.fruit_x[i])
            rows = slice(max(fruit_row, top), min(fruit_row + size, bottom))  # may be empty
            frames[i, rows, left:left + size] = self.colors[1]
        return frames

    def info(self, game):
        return {"lives": int(self.lives[game]), "caught": int(self.caught[game]),
                "missed": int(self.missed[game])}


class Catcher(gym.Env):
    """Catcher: move a paddle left and right to catch the fruit that falls from the top.

    ## Description
    The rules of PyGame-Learning-Environment's Catcher, written for NumPy. A square fruit
    (6% of the screen height) appears just above the screen at a random column (a multiple of
    the fruit size, two fruit widths away from the walls) and falls at 0.00095 × height
    pixels per millisecond; at 30 frames per second that is about 2 pixels a frame on a
    64-pixel screen. The paddle (20% of the width wide, 4% of the height tall, 3 pixels above the
    bottom) slides: each action pushes its velocity by 0.021 × width, the velocity decays by
    ×0.9 every frame, and the paddle stops dead at a wall. One ``step`` is one frame.

    ## Action Space
    ``Discrete(3)``: 0 left, 1 right, 2 stay.

    ## Observation Space
    ``Box(0, 255, (height, width, 3), uint8)``: the RGB screen, 64×64×3 by default. Black
    background, red fruit, white paddle. Every step returns a new array.

    ## Rewards
    +1 for a caught fruit, −1 for a missed one (it reached the bottom), and an extra −5 when
    the last life is lost (so the last miss gives −6 in all). 0 otherwise.

    ## Episode End
    Terminated when the lives are gone (3 misses by default). A good player never loses, so
    ``Catcher-v0`` is registered with ``max_episode_steps=1000`` (frames, about 33 seconds of
    play): after that the episode is truncated. ``Catcher`` built directly is never truncated.

    ## Info
    ``{"lives": ..., "caught": ..., "missed": ...}``. Agents are compared by their catch
    rate, caught / (caught + missed) (``catch_rate(info)``).

    ## Arguments
    - ``render_mode`` (``None``): ``"human"`` opens a pygame window, ``"rgb_array"`` makes
      ``render()`` return the frame;
    - ``width``, ``height`` (64, 64): screen size in pixels;
    - ``init_lives`` (3): misses allowed before the game is over;
    - ``fps`` (30): frames per second; sets the fall per frame and the window's speed;
    - ``fruit_size`` (0.06): side of the fruit, as a fraction of the height;
    - ``fruit_fall_speed`` (0.00095): fall speed, in heights per millisecond;
    - ``paddle_width`` (0.2) and ``paddle_height`` (0.04): paddle size, as fractions of the
      width and of the height;
    - ``paddle_bottom_gap`` (3): pixels between the paddle and the bottom of the screen;
    - ``paddle_speed`` (0.021): velocity added by one action, as a fraction of the width;
    - ``paddle_decay`` (0.9): the velocity is multiplied by this every frame;
    - ``catch_reward`` (1.0), ``miss_reward`` (−1.0), ``game_over_reward`` (−5.0);
    - ``background_color`` ((0, 0, 0)), ``fruit_color`` ((255, 80, 80)), ``paddle_color``
      ((255, 255, 255)): RGB colors;
    - ``window_scale`` (8): the human window shows each pixel as a square of this side.

    Sizes given as fractions are rounded to whole pixels (half up): 4-pixel fruit and a
    13×3 paddle on the default screen.

    ## Randomness
    All randomness (the fruit's columns) comes from ``self.np_random``: ``reset(seed=...)``
    makes an episode reproducible.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(self, render_mode=None, window_scale=8, **game_kwargs):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.window_scale = int(window_scale)
        self.game = CatcherGames(1, **game_kwargs)
        shape = (self.game.height, self.game.width, 3)
        self.observation_space = spaces.Box(0, 255, shape, dtype=np.uint8)
        self.action_space = spaces.Discrete(len(ACTION_MEANINGS))
        self.metadata = {**self.metadata, "render_fps": self.game.fps}
        self._actions = np.zeros(1, dtype=np.int64)
        self._frame = None
        self._window = None
        self._clock = None

    def get_action_meanings(self):
        return list(ACTION_MEANINGS)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.game.rngs[0] = self.np_random
        self.game.reset()
        self._frame = self.game.draw()[0]
        if self.render_mode == "human":
            self._render_window()
        return self._frame, self.game.info(0)

    def step(self, action):
        action = int(action)
        if not 0 <= action < len(ACTION_MEANINGS):
            raise ValueError(f"action must be 0 (left), 1 (right) or 2 (stay), got {action}")
        self._actions[0] = action
        self.game.rngs[0] = self.np_random  # in case np_random was replaced since reset
        rewards, game_over = self.game.step(self._actions)
        self._frame = self.game.draw()[0]
        if self.render_mode == "human":
            self._render_window()
        return self._frame, float(rewards[0]), bool(game_over[0]), False, self.game.info(0)

    def render(self):
        if self._frame is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        if self.render_mode == "rgb_array":
            return self._frame.copy()
        if self.render_mode == "human":
            self._render_window()
        return None

    def _render_window(self):
        import pygame  # only here: headless use never needs pygame or a display

        size = (self.game.width * self.window_scale, self.game.height * self.window_scale)
        if self._window is None:
            pygame.init()
            pygame.display.init()
            pygame.display.set_caption("Catcher")
            self._window = pygame.display.set_mode(size)
            self._clock = pygame.time.Clock()
        pygame.event.pump()  # keeps the window responsive
        # pygame surfaces are indexed (x, y); the frame is (row, column).
        surface = pygame.surfarray.make_surface(self._frame.swapaxes(0, 1))
        self._window.blit(pygame.transform.scale(surface, size), (0, 0))
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])

    def close(self):
        if self._window is not None:
            import pygame

            pygame.display.quit()
            pygame.quit()
            self._window = None
            self._clock = None


class CatcherVectorEnv(VectorEnv):
    """``num_envs`` Catcher games stepped together in NumPy, with gymnasium's vector API.

    Game ``i`` behaves exactly like a ``Catcher-v0`` made with ``gym.make`` and stepped by
    ``gymnasium.vector.SyncVectorEnv``: same seeds (``reset(seed=s)`` seeds game ``i`` with
    ``s + i``, or pass a list), same actions, same observations, rewards, terminations,
    truncations and infos. Only faster: one call does the arithmetic of all games.

    Two ways to get one:

    - ``gym.make_vec("Catcher-v0", num_envs=16)`` (``import envs`` first), which uses this
      class through the registration's ``vector_entry_point``;
    - ``CatcherVectorEnv(16, autoreset_mode=AutoresetMode.SAME_STEP)``.

    Arguments: ``num_envs`` (1); ``max_episode_steps`` (1000, ``None`` for no limit: frames
    before a game is truncated, as ``Catcher-v0``'s TimeLimit); ``autoreset_mode``
    (``AutoresetMode.NEXT_STEP``, gymnasium's default: the step after a game ends resets it,
    ignores its action and returns reward 0; ``SAME_STEP``: the step that ends a game resets
    it at once and puts the last frame and info into ``info["final_obs"]`` and
    ``info["final_info"]``; ``DISABLED``: reset ended games yourself with
    ``reset(options={"reset_mask": mask})``); ``render_mode`` (``None`` or ``"rgb_array"``);
    and every game argument of ``Catcher`` (width, height, init_lives, ...).

    ``info`` holds ``lives``, ``caught`` and ``missed`` arrays, each with its ``_key`` mask.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30,
                "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs=1, max_episode_steps=MAX_EPISODE_STEPS,
                 autoreset_mode=AutoresetMode.NEXT_STEP, render_mode=None, **game_kwargs):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.game = CatcherGames(num_envs, **game_kwargs)
        self.num_envs = self.game.num_games
        self.max_episode_steps = max_episode_steps
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": self.game.fps,
                         "autoreset_mode": self.autoreset_mode}
        shape = (self.game.height, self.game.width, 3)
        self.single_observation_space = spaces.Box(0, 255, shape, dtype=np.uint8)
        self.single_action_space = spaces.Discrete(len(ACTION_MEANINGS))
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)
        # Games that ended and wait to be reset (next step, or by the user).
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._all = np.ones(self.num_envs, dtype=bool)
        self._frames = None

    @property
    def np_random(self):
        """The games' random generators, one per game."""
        return tuple(self.game.rngs)

    def reset(self, *, seed=None, options=None):
        if seed is None or isinstance(seed, (int, np.integer)):
            seeds = [None if seed is None else int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"expected {self.num_envs} seeds, got {len(seeds)}")
        mask = self._all
        if options is not None and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"], dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask must have shape ({self.num_envs},)")
        for i in np.flatnonzero(mask).tolist():
            # As Env.reset: a seed makes a new generator; no seed keeps the one there is.
            if seeds[i] is not None or self.game.rngs[i] is None:
                self.game.rngs[i] = seeding.np_random(seeds[i])[0]
        self.game.reset(mask)
        self._elapsed[mask] = 0
        self._ended[mask] = False
        self._frames = self.game.draw()
        return self._frames, self._infos(None if mask is self._all else mask)

    def step(self, actions):
        if self._frames is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        # Seen as unsigned, a negative action is huge: one comparison checks both ends.
        if np.count_nonzero(actions.view(np.uint64) >= len(ACTION_MEANINGS)):
            raise ValueError("actions must be 0 (left), 1 (right) or 2 (stay)")
        game = self.game
        waiting = self._ended
        self._elapsed = self._elapsed + 1
        if np.count_nonzero(waiting):
            if self.autoreset_mode == AutoresetMode.DISABLED:
                raise RuntimeError("a game has ended: reset it with options={'reset_mask': ...}")
            # NEXT_STEP: these games are reset now instead of being played; their actions
            # are ignored and they get reward 0, as gymnasium's vector envs do.
            rewards, terminated = game.step(actions, active=~waiting)
            game.reset(waiting)
            self._elapsed[waiting] = 0
        else:
            rewards, terminated = game.step(actions)
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = self._elapsed >= self.max_episode_steps
        ended = terminated | truncated
        self._ended = ended
        self._frames = game.draw()
        infos = self._infos()
        if self.autoreset_mode == AutoresetMode.SAME_STEP and np.count_nonzero(ended):
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(ended).tolist():
                final_obs[i] = self._frames[i]
            final_info = self._infos(ended)
            game.reset(ended)
            self._elapsed[ended] = 0
            self._ended = np.zeros(self.num_envs, dtype=bool)
            self._frames = game.draw()
            infos = self._infos()
            infos.update(final_obs=final_obs, _final_obs=ended.copy(),
                         final_info=final_info, _final_info=ended.copy())
        return self._frames, rewards, terminated, truncated, infos

    def _infos(self, games=None):
        """Info arrays in gymnasium's vector layout; only ``games`` (a mask) have values."""
        game = self.game
        infos = {}
        for key, values in (("lives", game.lives), ("caught", game.caught),
                            ("missed", game.missed)):
            if games is None:
                infos[key], infos[f"_{key}"] = values.copy(), self._all.copy()
            else:
                infos[key], infos[f"_{key}"] = np.where(games, values, 0), games.copy()
        return infos

    def render(self):
        if self.render_mode != "rgb_array" or self._frames is None:
            return None
        return tuple(frame.copy() for frame in self._frames)


def register_catcher():
    """Register ``Catcher-v0`` (1000 frames per episode). Safe to call any number of times."""
    if ENV_ID not in gym.envs.registry:
        gym.register(
            id=ENV_ID,
            entry_point="envs.catcher:Catcher",
            vector_entry_point="envs.catcher:CatcherVectorEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
        )
