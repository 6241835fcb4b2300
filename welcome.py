"""Setup check: an untrained Keras model plays Catcher (run it first, before Day1).

If it runs to the end, everything the book needs is installed: TensorFlow and Keras build a
small network that looks at the pixels, ``envs/`` provides the game and pygame its window.
Each episode's reward is printed, then the library versions and "setup OK".

    python welcome.py                   # plays 3 episodes in a window
    python welcome.py --headless        # no window: writes outputs/welcome/catcher.gif

Without a display it plays headless by itself and says so.
Changes from the book (``welcome()`` is its entry point; ``main()`` adds the command line):
- gym-ple's Catcher is ``envs/catcher.py`` (gymnasium);
- the network is small and convolutional, and an action is sampled from its softmax;
- the forward pass is a ``tf.function``: ``model.predict`` is far too slow for every frame.
"""

import argparse
import os
import platform
from pathlib import Path

from common import (
    OUTPUT_ENV_VARIABLE,
    ROOT,
    play_headless,
    positive_int,
    save_gif,
    seed_value,
    set_seed,
    window_closed,
)

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

import envs  # noqa: F401  (registers Catcher-v0)


def build_model(observation_shape, num_actions):
    """A small convolutional network: screen pixels in, one probability per action out."""
    return keras.Sequential(
        [
            keras.Input(shape=observation_shape),
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Conv2D(8, 8, strides=4, activation="relu"),
            keras.layers.Conv2D(16, 4, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(num_actions, activation="softmax"),
        ]
    )


def make_policy(model, rng):
    """Return ``(policy, probabilities)``: sample an action from the model's output.

    ``probabilities`` is a compiled forward pass (``tf.function``): the first call traces the
    graph, and every later call costs a fraction of a millisecond.
    """

    @tf.function
    def probabilities(observation):
        return model(observation[tf.newaxis], training=False)[0]

    def policy(observation):
        p = probabilities(tf.convert_to_tensor(observation)).numpy().astype(np.float64)
        return int(rng.choice(len(p), p=p / p.sum()))

    return policy, probabilities


def gif_path():
    """``outputs/welcome/catcher.gif`` (the outputs folder moves with $RL_BOOK_OUTPUT_DIR)."""
    return Path(os.environ.get(OUTPUT_ENV_VARIABLE, ROOT / "outputs")) / "welcome" / "catcher.gif"


def play(env, policy, episodes, seed, record=False):
    """Play ``episodes`` episodes; return their rewards and the frames of the first one.

    Frames are kept only when ``record`` is true (for the GIF).
    """
    rewards, frames = [], []
    human = env.unwrapped.render_mode == "human"
    for episode in range(episodes):
        observation, info = env.reset(seed=seed if episode == 0 else None)
        if record and episode == 0:
            frames.append(observation)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(policy(observation))
            total += reward
            done = terminated or truncated
            if record and episode == 0:
                frames.append(observation)
            if human and window_closed():
                print("The window was closed.")
                return rewards, frames
        rewards.append(total)
        print(f"Episode {episode + 1}: reward is {total:+.0f} "
              f"(caught {info['caught']}, missed {info['missed']})")
    return rewards, frames


def print_versions():
    import pygame

    print(f"Python     {platform.python_version()}")
    print(f"TensorFlow {tf.__version__}")
    print(f"Keras      {keras.__version__}")
    print(f"gymnasium  {gym.__version__}")
    print(f"pygame     {pygame.version.ver}")


def welcome(episode_count=3, headless=False, seed=0):
    """Check the setup, as the book's ``welcome()``: an untrained model plays Catcher.

    Returns the rewards of the episodes. ``headless`` writes a GIF instead of opening a window.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    headless = play_headless(headless)

    set_seed(seed)
    env = gym.make("Catcher-v0", render_mode=None if headless else "human")
    model = build_model(env.observation_space.shape, int(env.action_space.n))
    policy, _ = make_policy(model, np.random.default_rng(seed))
    print(f"Catcher: {env.observation_space.shape} pixels, {env.action_space.n} actions, "
          f"a model with {model.count_params():,} weights picks the moves.")
    try:
        rewards, frames = play(env, policy, episode_count, seed, record=headless)
    finally:
        env.close()  # after Ctrl-C too: then common prints one line and exits with status 130
    if headless and frames:
        save_gif(frames, gif_path(), fps=env.metadata["render_fps"])  # 4x4 squares a pixel
    print_versions()
    print("setup OK")
    return rewards


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check the setup: a tiny Keras model plays Catcher."
    )
    parser.add_argument("--episodes", type=positive_int, default=3,
                        help="number of episodes to play (default: 3)")
    parser.add_argument("--headless", action="store_true",
                        help="play without a window and write a GIF of the first episode")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed, from 0 to 2**32 - 1 (default: 0)")
    args = parser.parse_args(argv)
    return welcome(episode_count=args.episodes, headless=args.headless, seed=args.seed)


if __name__ == "__main__":
    main()
