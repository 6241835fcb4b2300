"""Setup check: a tiny Keras model plays the Catcher game (run it first, before Day1).

If this script runs to the end, everything the book needs is installed: TensorFlow and Keras
build a small network, gymnasium and ``envs/`` provide the Catcher game, and pygame shows it in
a window. The network is untrained, so its moves are close to random; it looks at the screen's
pixels and picks left, right or stay. Each episode's reward is printed, and the script ends
with the versions of the main libraries and "setup OK".

    python welcome.py                   # plays 3 episodes in a window
    python welcome.py --headless        # no window: writes a GIF of the first episode

Without a display (a server, a container, ``SDL_VIDEODRIVER=dummy``) it plays headless by itself
and says so. The GIF goes to ``outputs/welcome/catcher.gif``.

Changes from the book: gym-ple's Catcher became ``envs/catcher.py`` (gymnasium), and the model's
forward pass is a ``tf.function`` instead of ``model.predict``, which is far too slow to call on
every frame.
"""

import argparse
import os
import platform
from pathlib import Path

from common import (
    OUTPUT_ENV_VARIABLE,
    ROOT,
    display_available,
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

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    headless = args.headless
    if not headless and not display_available():
        print("No display found: playing headless, and writing a GIF instead of a window.")
        headless = True

    set_seed(args.seed)
    env = gym.make("Catcher-v0", render_mode=None if headless else "human")
    model = build_model(env.observation_space.shape, int(env.action_space.n))
    policy, _ = make_policy(model, np.random.default_rng(args.seed))
    print(f"Catcher: {env.observation_space.shape} pixels, {env.action_space.n} actions, "
          f"a model with {model.count_params():,} weights picks the moves.")
    try:
        rewards, frames = play(env, policy, args.episodes, args.seed, record=headless)
    finally:
        env.close()  # after Ctrl-C too: then common prints one line and exits with status 130
    if headless and frames:
        save_gif(frames, gif_path(), fps=env.metadata["render_fps"])  # 4x4 squares a pixel
    print_versions()
    print("setup OK")
    return rewards


if __name__ == "__main__":
    main()
