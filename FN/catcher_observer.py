"""Day4-5: ``CatcherObserver``: what the convolutional agents see of Catcher (one game or many).

Each RGB frame is turned to grayscale (luma 0.299 R + 0.587 G + 0.114 B, as Pillow's "L"),
shrunk to ``width`` × ``height`` by area averaging (a 4-pixel fruit stays visible), scaled to
[0, 1] and stacked with the ``frame_count - 1`` frames before it, oldest first; the first
frame of an episode fills the whole stack. ``frame_skip`` repeats each action for that many
frames (the DQN paper's frame skipping; 1 in the book).

This is the fast form of the book's ``CatcherObserver`` (``FN/dqn_agent.py`` holds the book's
readable one; a test keeps the two equal): grayscale and resizing are two matrix products on a
whole batch of frames, and the stacks are kept as uint8. The file also holds what the Catcher
agents share around it: ``make_catcher``, ``make_catcher_observer``, the evaluated catch rate
and ``play_catcher`` for ``--play``. It does not import TensorFlow, so a script starts quickly.
"""

from common import display_available, save_gif, set_seed

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from envs.catcher import (
    GRAY_WEIGHTS,
    CatcherVectorEnv,
    area_weights,
    catch_rate,
    play_first_episodes,
    register_catcher,
)
from FN.fn_framework import Observer

# The counters of a Catcher game's info.
COUNTERS = ("lives", "caught", "missed")
# What the DQN and A2C agents see (make_catcher_observer): width = height, frames stacked.
AGENT_SIZE = 40
AGENT_FRAMES = 2


class FramePreprocessor:
    """Grayscale and resize RGB frames to uint8 (height, width) pictures, a batch at a time."""

    def __init__(self, width, height, frame_shape):
        self.width, self.height = int(width), int(height)
        in_height, in_width = frame_shape[:2]
        self.row_weights = area_weights(in_height, self.height)
        self.column_weights_t = np.ascontiguousarray(area_weights(in_width, self.width).T)

    def __call__(self, frames):
        """(…, H, W, 3) uint8 RGB → (…, height, width) uint8 gray, area-averaged and rounded."""
        gray = np.asarray(frames, dtype=np.float32) @ GRAY_WEIGHTS
        small = self.row_weights @ gray @ self.column_weights_t
        return np.rint(small, out=small).astype(np.uint8)


class CatcherObserver(Observer):
    """Turn Catcher's RGB frames into stacks of small grayscale frames for a network.

    ``CatcherObserver(env, width, height, frame_count)``, as in the book: ``env`` is one game
    (``gym.make("Catcher-v0")`` or ``envs.catcher.Catcher``) or a batch of games
    (``envs.catcher.CatcherVectorEnv``; any autoreset mode works with ``frame_skip=1``,
    and ``AutoresetMode.SAME_STEP`` is needed for a larger ``frame_skip``).

    - ``reset()`` starts new episodes and returns the states: (height, width, frame_count)
      float32 in [0, 1] for one game, (games, height, width, frame_count) for a batch. With a
      batch, ``reset(mask)`` restarts only the games selected by the boolean ``mask`` (the
      way to go on after a game ends in ``AutoresetMode.DISABLED``) and returns every
      game's state.
    - ``step(action)`` plays the action for ``frame_skip`` frames and returns
      ``(state, reward, done, info)``, arrays for a batch. ``info["terminated"]`` and
      ``info["truncated"]`` tell the two ends apart. For a batch, ``info`` also describes
      how each game that ended did so: ``final_state`` (the state it ended in),
      ``final_frame`` (its newest uint8 frame) and ``final_info`` (its ``lives``, ``caught``
      and ``missed``); every game's row is filled, and for a game that did not end they are
      the current ones. In ``SAME_STEP`` mode a game that ended comes back already restarted
      (so ``state`` is its new episode's); in ``NEXT_STEP`` mode the step after an end
      restarts it (and, as gymnasium does, ignores its action).
    - ``transform(frame)`` is the book's hook: it pushes a raw frame (or a batch of them)
      onto the stacks and returns the new states.
    - ``frames`` is the uint8 stack, ``latest`` the newest uint8 frame of each game: what a
      replay buffer stores.
    """

    def __init__(self, env, width, height, frame_count, frame_skip=1):
        for name, value in (("width", width), ("height", height), ("frame_count", frame_count),
                            ("frame_skip", frame_skip)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        super().__init__(env)
        self.width, self.height, self.frame_count = int(width), int(height), int(frame_count)
        self.frame_skip = int(frame_skip)
        self._mode = None
        if self.is_vector:
            self._mode = AutoresetMode(getattr(env, "autoreset_mode", AutoresetMode.NEXT_STEP))
            if self.frame_skip > 1 and self._mode != AutoresetMode.SAME_STEP:
                raise ValueError("frame_skip > 1 needs a batch in AutoresetMode.SAME_STEP")
        single = env.single_observation_space if self.is_vector else env.observation_space
        self._raw_shape = single.shape
        self.preprocess = FramePreprocessor(self.width, self.height, single.shape)
        self.frames = np.zeros((self.num_envs, self.height, self.width, self.frame_count),
                               dtype=np.uint8)
        self._flat = self.frames.reshape(-1)  # a view: the same memory
        # Games whose stack is empty: the next frame pushed fills the whole stack.
        self._fresh = np.ones(self.num_envs, dtype=bool)
        self._ended = np.zeros(self.num_envs, dtype=bool)

    @property
    def observation_space(self):
        """The space of one game's state: (height, width, frame_count) in [0, 1]."""
        shape = (self.height, self.width, self.frame_count)
        return spaces.Box(0.0, 1.0, shape, dtype=np.float32)

    @property
    def latest(self):
        """The newest preprocessed uint8 frame of each game, (games, height, width)."""
        return self.frames[..., -1]

    def _output(self, frames):
        states = frames.astype(np.float32)
        states *= np.float32(1.0 / 255.0)
        return states if self.is_vector else states[0]

    def states(self):
        """The current states as float32 in [0, 1] (without pushing anything)."""
        return self._output(self.frames)

    def _push(self, small):
        """Push preprocessed (games, height, width) frames; fresh stacks are filled with them."""
        frames = self.frames
        # Shifting the frame axis of a (games, height, width, frames) array touches every byte
        # with a stride; moving the whole flat buffer one byte to the left does the same shift
        # as one contiguous copy. Only the last frame slot gets a wrong byte, and it is
        # overwritten next.
        flat = self._flat
        flat[:-1] = flat[1:]
        frames[..., -1] = small
        if self._fresh.any():
            frames[self._fresh] = small[self._fresh][..., None]
            self._fresh[:] = False

    def _restart(self, games):
        """Empty the stacks of ``games`` (a boolean mask): their next frame fills the stack."""
        self._fresh |= games

    def transform(self, state):
        """Push one raw frame (or a batch, one per game) onto the stacks; return the states."""
        frames = np.asarray(state)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.shape[0] != self.num_envs:
            raise ValueError(f"expected {self.num_envs} frames, got {frames.shape[0]}")
        self._push(self.preprocess(frames))
        return self.states()

    def reset(self, seed=None, mask=None):
        """Start new episodes (for a batch, optionally only the games in ``mask``).

        ``seed`` is passed to the environment's ``reset``; without it the games go on with
        their random generators (seed once, then every episode differs but the run repeats).
        """
        if mask is None:
            self._restart(np.ones(self.num_envs, dtype=bool))
            frames, _ = self._env.reset(seed=seed)
            self._ended[:] = False
            return self.transform(frames)
        if not self.is_vector:
            raise ValueError("reset(mask) needs a batch of games")
        mask = np.asarray(mask, dtype=bool).reshape(self.num_envs)
        frames, _ = self._env.reset(seed=seed, options={"reset_mask": mask})
        # The other games' frames did not change: only the restarted stacks take the new ones.
        self._fresh |= mask
        self.frames[mask] = self.preprocess(frames[mask])[..., None]
        self._fresh[mask] = False
        self._ended &= ~mask
        return self.states()

    def step(self, action):
        """Play ``action`` for ``frame_skip`` frames; return ``(state, reward, done, info)``."""
        if not self.is_vector:
            return self._step_single(action)
        if self._mode == AutoresetMode.SAME_STEP:
            return self._step_same_step(np.asarray(action))
        frames, rewards, terminated, truncated, infos = self._env.step(action)
        dones = terminated | truncated
        if self._mode == AutoresetMode.NEXT_STEP:
            # Games that ended last step were restarted by this one: start their stacks anew.
            self._restart(self._ended)
        self._ended = dones.copy()
        states = self.transform(frames)
        # The games that ended are not restarted yet: what they show is how they ended.
        infos = {**infos, "terminated": terminated, "truncated": truncated,
                 "final_state": states, "final_frame": self.latest.copy(),
                 "final_info": {key: np.array(infos[key]) for key in COUNTERS}}
        return states, rewards, dones, infos

    def _step_single(self, action):
        reward = 0.0
        for _ in range(self.frame_skip):
            frame, frame_reward, terminated, truncated, info = self._env.step(action)
            reward += frame_reward
            if terminated or truncated:
                break
        state = self.transform(frame)
        info = {**info, "terminated": bool(terminated), "truncated": bool(truncated)}
        return state, reward, bool(terminated or truncated), info

    def _step_same_step(self, actions):
        """A batch in ``SAME_STEP`` mode: a game that ends is restarted within the call.

        With a frame skip, a game that ends on an early frame plays the remaining frames of
        the step in its new episode (with the same action); their rewards are not added to
        the step's reward, which belongs to the episode that ended.
        """
        n = self.num_envs
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        final_frames, final_counts = None, {}
        for _ in range(self.frame_skip):
            frames, frame_rewards, frame_terminated, frame_truncated, infos = self._env.step(
                actions)
            ended = terminated | truncated
            rewards += np.where(ended, 0.0, frame_rewards)
            new = (frame_terminated | frame_truncated) & ~ended
            if new.any():
                games = np.flatnonzero(new)
                if final_frames is None:
                    final_frames = np.zeros((n, *self._raw_shape), dtype=np.uint8)
                final_frames[games] = np.stack(infos["final_obs"][games])
                for key in COUNTERS:
                    final_counts.setdefault(key, {}).update(
                        zip(games.tolist(), infos["final_info"][key][games].tolist()))
                terminated |= frame_terminated & new
                truncated |= frame_truncated & new
        dones = terminated | truncated
        final = None
        if dones.any():
            # The state each ended game was in when it ended: its stack with the end on top.
            final = np.concatenate([self.frames[..., 1:], self.frames[..., -1:]], axis=-1)
            final[dones, ..., -1] = self.preprocess(final_frames[dones])
            self._restart(dones)
        states = self.transform(frames)
        final_info = {}
        for key in COUNTERS:
            values = np.array(infos[key])
            for game, value in final_counts.get(key, {}).items():
                values[game] = value
            final_info[key] = values
        if final is None:
            final_state, final_frame = states, self.latest.copy()
        else:
            final = np.where(dones[:, None, None, None], final, self.frames)
            final_state, final_frame = self._output(final), final[..., -1].copy()
        infos = {**infos, "terminated": terminated, "truncated": truncated,
                 "final_state": final_state, "final_frame": final_frame,
                 "final_info": final_info}
        return states, rewards, dones, infos


def make_catcher(width, height, frame_count, num_games=None, render_mode=None, frame_skip=1,
                 autoreset_mode=AutoresetMode.NEXT_STEP, **game_kwargs):
    """Catcher behind a ``CatcherObserver``: ``Catcher-v0`` or a batch of ``num_games``.

    One game is ``gym.make("Catcher-v0")`` (1,000 frames at most per episode), and
    ``render_mode="human"`` opens its window. A batch is a ``CatcherVectorEnv`` with the same
    time limit and the given ``autoreset_mode``; it can render only ``"rgb_array"``.
    ``game_kwargs`` go to the game (``init_lives``, ``width`` of the screen, ...).
    """
    if num_games is None:
        register_catcher()
        env = gym.make("Catcher-v0", render_mode=render_mode, **game_kwargs)
    else:
        env = CatcherVectorEnv(num_games, autoreset_mode=autoreset_mode,
                               render_mode=render_mode, **game_kwargs)
    return CatcherObserver(env, width, height, frame_count, frame_skip=frame_skip)


def make_catcher_observer(num_games=None, render_mode=None):
    """Catcher as the DQN and A2C agents see it: 40×40 grayscale frames, 2 stacked.

    The book used 80×80 frames, 4 stacked. The agents learn in as few steps from the smaller
    stacks, and each step costs about a quarter (``FN/dqn_agent.py`` tells the measurements).
    A batch resets a finished game on the next step (gymnasium's default).
    """
    return make_catcher(AGENT_SIZE, AGENT_SIZE, AGENT_FRAMES, num_games=num_games,
                        render_mode=render_mode)


def evaluate_catch_rate(agent, env, episode_count=10, seed=None):
    """Play ``episode_count`` episodes greedily on a batch of games; return the catch rate.

    ``env`` is a ``CatcherObserver`` of a batch; its games play together, and only each
    game's first episode counts (``envs.catcher.play_first_episodes``), so ``episode_count``
    must be a multiple of the number of games. ``agent`` is anything with
    ``greedy_actions(states)``, or a function of the states. Returns ``(rate, caught,
    missed)``: caught ÷ (caught + missed) over all the episodes, and the fruits caught and
    missed in each episode.
    """
    if not env.is_vector:
        raise ValueError("evaluate_catch_rate plays a batch of games: make one with num_games")
    n = env.num_envs
    if episode_count < 1 or episode_count % n:
        raise ValueError(f"episode_count {episode_count} is not a multiple of {n} games")
    act = agent if callable(agent) else agent.greedy_actions
    rounds = [play_first_episodes(env, act, None if seed is None else seed + i * n)[1:]
              for i in range(episode_count // n)]
    caught, missed = (np.concatenate(counts) for counts in zip(*rounds))
    rate = catch_rate({"caught": caught.sum(), "missed": missed.sum()})
    return (0.0 if np.isnan(rate) else rate), caught, missed


def catch_rate_score(agent, env, episode_count, seed):
    """The catch rate alone: the score that the trainers' periodic evaluation keeps."""
    return evaluate_catch_rate(agent, env, episode_count, seed=seed)[0]


def report_catch_rates(trainer, target=0.9):
    """Print when a trainer's evaluated catch rate first reached ``target``."""
    evaluation = trainer.evaluation
    if evaluation is None or not evaluation.results:
        return
    for (steps, rate), seconds in zip(evaluation.results, evaluation.times):
        if rate >= target:
            print(f"The catch rate first reached {target:.0%} at step {steps}, after "
                  f"{seconds:.0f} s of training (evaluations not counted).")
            return
    print(f"The catch rate did not reach {target:.0%}.")


def record_play(agent, env, path, max_frames=900, fps=30, greedy=False):
    """Let ``agent`` play one episode of a single game and save what it saw as a GIF.

    ``env`` is a ``CatcherObserver`` of a game made with ``render_mode="rgb_array"``; the
    agent acts with its ``policy``, or with ``greedy_actions`` (what the evaluations measure)
    when ``greedy``. At most ``max_frames`` frames are kept (a good player plays for 1,000).
    Returns ``(path, info)`` with the episode's last info.
    """
    state = env.reset()
    screens = [env.render()]
    done = False
    while not done:
        if greedy:
            action = int(agent.greedy_actions(np.asarray(state)[np.newaxis])[0])
        else:
            action = agent.policy(state)
        state, _, done, info = env.step(action)
        if len(screens) < max_frames:
            screens.append(env.render())
    save_gif(screens, path, fps=fps)
    return path, info


def play_catcher(agent_class, path, gif_path, seed=0, headless=False, episode_count=5,
                 greedy=False, train_command=None):
    """``--play`` for a Catcher agent: watch the agent saved at ``path`` play in a window.

    With ``headless``, or when no window can open, one game is written to the GIF
    ``gif_path`` instead (and its path returned); otherwise the rewards are returned.
    ``greedy`` plays the greedy policy (what the evaluations measure) instead of the
    agent's own policy.
    """
    if not headless and not display_available():
        print("No display found: writing a GIF of one game instead of opening a window.")
        headless = True
    env = make_catcher_observer(render_mode="rgb_array" if headless else "human")
    set_seed(seed, env.env)
    agent = agent_class.load(env, path, train_command=train_command)
    if not headless:
        rewards = agent.play(env, episode_count=episode_count, render=True, greedy=greedy)
        env.close()
        return rewards
    _, info = record_play(agent, env, gif_path, greedy=greedy)
    print(f"Caught {info['caught']}, missed {info['missed']}.")
    return gif_path
