"""Day4-5: the fast form of the book's ``CatcherObserver``, for one Catcher game or a batch.

``FN/dqn_agent.py`` holds the book's readable one; a test keeps the two equal. Each RGB frame
is turned gray (luma 0.299 R + 0.587 G + 0.114 B), shrunk by area averaging (a 4-pixel fruit
stays visible), scaled to [0, 1] and stacked with the frames before it, oldest first; an
episode's first frame fills the whole stack. Here gray and resize are two matrix products on a
whole batch of games, and the stacks are kept as uint8. Around it: what the Catcher agents of
DQN and A2C share (their view of the game, the catch rate they are evaluated on, ``--play``).
"""

from common import display_available, save_gif, set_seed

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.catcher import (
    GRAY_WEIGHTS,
    CatcherVectorEnv,
    area_weights,
    catch_rate,
    play_first_episodes,
    register_catcher,
)
from FN.fn_framework import Observer

# What the DQN and A2C agents see: 40×40 frames, 2 stacked (the book: 80×80, 4 stacked; the
# agents learn in as few steps from the smaller stacks, each step costing a quarter).
AGENT_SIZE = 40
AGENT_FRAMES = 2


class CatcherObserver(Observer):
    """``CatcherObserver(env, width, height, frame_count)``, as in the book; ``env`` is one
    game or a ``CatcherVectorEnv`` (states then come as a batch). A batch restarts a game on
    the step after it ended (gymnasium's next-step autoreset): that step starts a new stack.
    ``frames`` holds the uint8 stacks and ``latest`` each game's newest frame."""

    def __init__(self, env, width, height, frame_count):
        for name, value in (("width", width), ("height", height), ("frame_count", frame_count)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        super().__init__(env)
        self.width, self.height, self.frame_count = int(width), int(height), int(frame_count)
        screen_height, screen_width = super().observation_space.shape[:2]
        self._rows = area_weights(screen_height, self.height)
        self._columns = np.ascontiguousarray(area_weights(screen_width, self.width).T)
        self.frames = np.zeros((self.num_envs, self.height, self.width, self.frame_count),
                               dtype=np.uint8)
        self.fresh = np.ones(self.num_envs, dtype=bool)  # stacks the next frame fills

    @property
    def observation_space(self):
        return spaces.Box(0.0, 1.0, (self.height, self.width, self.frame_count), np.float32)

    @property
    def latest(self):
        return self.frames[..., -1]

    def preprocess(self, frames):
        """(…, H, W, 3) RGB frames → (…, height, width) uint8 gray, area-averaged."""
        gray = np.asarray(frames, dtype=np.float32) @ GRAY_WEIGHTS
        return np.rint(self._rows @ gray @ self._columns).astype(np.uint8)

    def transform(self, state):
        """Push raw frames (one per game) onto the stacks; return the states."""
        small = self.preprocess(np.reshape(state, (self.num_envs, *np.shape(state)[-3:])))
        self.frames[..., :-1] = self.frames[..., 1:]
        self.frames[..., -1] = small
        self.frames[self.fresh] = small[self.fresh][..., np.newaxis]
        self.fresh[:] = False
        states = self.frames.astype(np.float32) * np.float32(1.0 / 255.0)
        return states if self.is_vector else states[0]

    def reset(self, seed=None):
        self.fresh[:] = True
        return super().reset(seed)

    def step(self, action):
        state, reward, done, info = super().step(action)
        if self.is_vector:  # the games that ended restart on the next step, in a new stack
            self.fresh = np.array(done, dtype=bool)
        return state, reward, done, info


def make_catcher(width, height, frame_count, num_games=None, render_mode=None, **game_kwargs):
    """``Catcher-v0`` (``render_mode="human"`` opens its window), or a batch of ``num_games``,
    behind a ``CatcherObserver``; ``game_kwargs`` go to the game (``init_lives``, ...)."""
    if num_games is None:
        register_catcher()
        env = gym.make("Catcher-v0", render_mode=render_mode, **game_kwargs)
    else:
        env = CatcherVectorEnv(num_games, render_mode=render_mode, **game_kwargs)
    return CatcherObserver(env, width, height, frame_count)


def make_catcher_observer(num_games=None, render_mode=None):
    """Catcher as the DQN and A2C agents see it."""
    return make_catcher(AGENT_SIZE, AGENT_SIZE, AGENT_FRAMES, num_games, render_mode)


def evaluate_catch_rate(agent, env, episode_count=10, seed=None):
    """The catch rate of ``agent`` (anything with ``greedy_actions``, or a function of the
    states) over ``episode_count`` greedy episodes on a batch ``env``, whose games each play
    their first episode at once. Returns ``(rate, caught, missed)``, the last two per episode."""
    n = env.num_envs
    if not env.is_vector or episode_count < 1 or episode_count % n:
        raise ValueError(f"episode_count {episode_count} must be a multiple of a batch's games")
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
            print(f"キャッチ率が初めて {target:.0%} に達したのはステップ {steps}、学習 "
                  f"{seconds:.0f} 秒 (評価の時間は除く) の時点です (the catch rate first reached "
                  f"{target:.0%} at step {steps}, after {seconds:.0f} s of training).")
            return
    print(f"キャッチ率は {target:.0%} に達しませんでした (the catch rate did not reach "
          f"{target:.0%}).")


def record_play(agent, env, path, max_frames=900, fps=30, greedy=False):
    """One episode of ``agent`` on ``env`` (one game, ``render_mode="rgb_array"``) as a GIF of
    at most ``max_frames`` frames; ``greedy`` acts as the evaluations do. ``(path, info)``."""
    state = env.reset()
    screens = [env.render()]
    done = False
    while not done:
        action = (int(agent.greedy_actions(np.asarray(state)[np.newaxis])[0]) if greedy
                  else agent.policy(state))
        state, _, done, info = env.step(action)
        if len(screens) < max_frames:
            screens.append(env.render())
    save_gif(screens, path, fps=fps)
    return path, info


def play_catcher(agent_class, path, gif_path, seed=0, headless=False, episode_count=5,
                 greedy=False, train_command=None):
    """``--play`` on Catcher: the agent saved at ``path`` plays in a window, or, ``headless``
    or without a display, one game goes to the GIF ``gif_path`` (returned)."""
    if not headless and not display_available():
        print("画面がないので、ウィンドウの代わりに 1 ゲームを GIF に書きます "
              "(no display: writing a GIF of one game).")
        headless = True
    env = make_catcher_observer(render_mode="rgb_array" if headless else "human")
    set_seed(seed, env.env)
    agent = agent_class.load(env, path, train_command=train_command)
    if not headless:
        rewards = agent.play(env, episode_count=episode_count, render=True, greedy=greedy)
        env.close()
        return rewards
    _, info = record_play(agent, env, gif_path, greedy=greedy)
    print(f"キャッチ {info['caught']}、ミス {info['missed']} (caught, missed).")
    return gif_path
