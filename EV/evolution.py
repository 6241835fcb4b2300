"""Day6: evolution strategies — learn a policy's weights without gradients, by trial and selection.

Instead of back-propagating a loss, an evolution strategy (ES) treats the whole weight vector θ
of a policy as one point to move. Each epoch it

1. draws a population of noises ε_1 … ε_n from N(0, 1), one per member, each shaped like θ;
2. lets member i play Catcher with the weights θ + σ ε_i and records its reward F_i;
3. standardizes the rewards, z_i = (F_i − mean F) / std F, so that only the ranking within
   the population counts, not the scale of Catcher's rewards;
4. moves θ towards the noises of the members that did better than average and away from the
   others:  θ ← θ + α / (n σ) Σ_i z_i ε_i.

The sum in step 4 is a Monte Carlo estimate of the gradient of the expected reward with
respect to θ, so ES follows the same slope as a policy gradient, without ever asking the
network for a derivative. And the members never talk to each other while they play: they are
embarrassingly parallel. That is what this script shows off: the population plays on all the
cores of one machine (joblib), or on a Dask cluster of many machines with the same code.

What travels between the processes is tiny. Each worker gets the current weights θ and a
seed; it regenerates its noise from the seed, plays, and sends back only ``(reward, seed)``.
The trainer regenerates every noise from its seed again for step 4, bit for bit the same.

The policy is the book's small convolutional network: Conv2D(3 filters, 5×5, stride 3, ReLU)
on a stack of 5 grayscale 50×50 frames (the shared ``FN.catcher_observer.CatcherObserver``),
Flatten, Dense(3, softmax); an action is sampled from the softmax.

    python EV/evolution.py                         # train (100 epochs × 20 agents), then plot
    python EV/evolution.py --play                  # watch the trained agent in a window
    python EV/evolution.py --play --headless       # no window: write a GIF instead
    python EV/evolution.py --scheduler local       # the same training on a local Dask cluster
    python EV/evolution.py --scheduler tcp://host:8786   # ... or on a running Dask cluster

What to expect, measured on a 2-core machine with seed 0: the default 100 epochs take one
to two minutes; the population's mean reward climbs from about −7 to about −5.3, and the
trained network beats its random start (−5.7 against −6.4, over the same 200 games). That
is a start, not a player: ES estimates a direction for 2,700 weights from 20 members an
epoch, and the progress speeds up later. With ``--epochs 300`` (a few minutes more) the
population reaches about −1.5 with its best members above +5, and the trained network
averages +3.6 over the same 200 games, catching about 78% of the fruit.

Deviations from the book, and why:

- The book's agent is a Keras model, and each worker process builds one and calls
  ``model.predict`` on every frame. Importing TensorFlow costs seconds and hundreds of
  megabytes per worker, and ``predict`` costs tens of milliseconds a call. Here the agent
  computes the very same network in NumPy (about 0.1 ms a frame), from a list of weights laid
  out exactly as Keras' ``model.get_weights()``; ``EvolutionalAgent.keras_model()`` builds the
  book's Keras model from them for anyone who wants it. The workers never import TensorFlow.
- The agent is saved as a ``.npz`` file of those weights (``ev_agent.npz``), not as ``.h5``.
- The book's workers draw their noise from NumPy's global generator and send the noises back
  to the trainer. Here every random number comes from a seed derived from (seed, epoch,
  member), and only ``(reward, seed)`` pairs come back. A run is reproducible, and its result
  does not depend on which worker played which member, nor on how many workers there were.
- All the members of one epoch play the same games (the same fruit, and the same random
  numbers for sampling actions): the differences between their rewards then come from their
  weights, not from luck, which makes the ranking in step 3 far less noisy.
- The script lets every member play 5 episodes an epoch (``--episodes-per-agent``), where
  the book's ``train`` plays 1 (its default is kept). One game says little about a member:
  measured here, the rewards of the same 30 members in two different single games were
  uncorrelated (about −0.2), while their means over 10 games correlated at 0.87. A ranking
  by luck gives the update no direction: with one episode per member, 100 epochs hardly
  improve on the random start; with 5 they do (see ``benchmarks/evolution.py``).
- The ``episode_per_agent`` games of one member are played together as a batch
  (``envs.catcher.CatcherVectorEnv``), one forward pass for all of them per frame. That is
  about twice as fast as playing them one after the other.
- When every member gets the same reward, the standard deviation is 0 and the book's update
  divides by it; here such an epoch leaves the weights unchanged.
"""

import argparse
import contextlib
import csv
import functools
import os
import sys
from pathlib import Path

from common import atomic_path, exit_with_error, output_dir, save_figure, set_seed, show_plot

import numpy as np
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs.catcher import MAX_EPISODE_STEPS, CatcherVectorEnv
from FN.catcher_observer import CatcherObserver

# The book's observation: 5 stacked grayscale frames of 50×50 pixels.
FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT = 50, 50, 5
# The book's network: Conv2D(3 filters, kernel 5, stride 3, ReLU) → Flatten → Dense(softmax).
FILTERS, KERNEL_SIZE, STRIDE = 3, 5, 3
WEIGHT_NAMES = ("conv_kernel", "conv_bias", "dense_kernel", "dense_bias")
MODEL_FILE = "ev_agent.npz"
INSTALL_HINT = 'install the optional Dask support with: pip install ".[distributed]"'
GIF_SCALE = 4
# Episodes per member and epoch in the script (the book's train() default is 1; see above).
EPISODES_PER_AGENT = 5


# --------------------------------------------------------------------------------------------
# The network, in NumPy
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def patch_index(height, width, channels, kernel=KERNEL_SIZE, stride=STRIDE):
    """Where the pixels of every convolution window are in a flattened (height, width, channels)
    state: an index array of shape (windows, kernel · kernel · channels).

    A convolution is a dot product of the kernel with each window of the input. Gathering all
    windows into the rows of one matrix ("im2col") turns the whole layer into one matrix
    product. The order within a row, (kernel row, kernel column, channel), is the order of
    Keras' kernel array (kernel, kernel, channels, filters) flattened, so the two line up.
    """
    out_height = (height - kernel) // stride + 1
    out_width = (width - kernel) // stride + 1
    rows = np.arange(out_height)[:, None, None, None, None] * stride
    rows = rows + np.arange(kernel)[None, None, :, None, None]
    columns = np.arange(out_width)[None, :, None, None, None] * stride
    columns = columns + np.arange(kernel)[None, None, None, :, None]
    channel = np.arange(channels)[None, None, None, None, :]
    index = (rows * width + columns) * channels + channel
    return index.reshape(out_height * out_width, kernel * kernel * channels)


def action_probabilities(weights, states):
    """The network's softmax output for a batch of states: (n, height, width, frames) → (n, A).

    ``weights`` is ``[conv_kernel, conv_bias, dense_kernel, dense_bias]`` in Keras' layout:
    the kernel is (5, 5, frames, 3) and the convolution has stride 3 and no padding ("valid"),
    as Keras' ``Conv2D`` default. Flattening the (rows, columns, filters) feature maps row by
    row is what Keras' ``Flatten`` does with channels-last images.
    """
    conv_kernel, conv_bias, dense_kernel, dense_bias = weights
    states = np.asarray(states, dtype=np.float32)
    n, height, width, channels = states.shape
    index = patch_index(height, width, channels, conv_kernel.shape[0], STRIDE)
    patches = states.reshape(n, -1).take(index, axis=1)  # (n, windows, 5·5·frames)
    features = patches.reshape(-1, index.shape[1]) @ conv_kernel.reshape(-1, FILTERS)
    features += conv_bias
    np.maximum(features, 0.0, out=features)  # ReLU
    logits = features.reshape(n, -1) @ dense_kernel + dense_bias
    # Softmax, shifted by the largest logit so that exp never overflows.
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities


def weight_shapes(state_shape, num_actions):
    """The shapes of the four weight arrays for states of ``state_shape`` (Keras' order)."""
    height, width, channels = state_shape
    features = ((height - KERNEL_SIZE) // STRIDE + 1) * ((width - KERNEL_SIZE) // STRIDE + 1)
    return [(KERNEL_SIZE, KERNEL_SIZE, channels, FILTERS), (FILTERS,),
            (features * FILTERS, num_actions), (num_actions,)]


def glorot_weights(state_shape, num_actions, rng):
    """Fresh weights as Keras would initialize the book's model (biases start at 0).

    The book gives the convolution a Glorot *normal* initializer: a normal distribution cut
    at two standard deviations, widened so that what remains has variance 2 / (fan_in +
    fan_out). The Dense layer keeps Keras' default, Glorot uniform.
    """
    kernel_shape, bias_shape, dense_shape, dense_bias_shape = weight_shapes(state_shape,
                                                                           num_actions)
    fan_in = np.prod(kernel_shape[:3])  # a window: 5 × 5 × frames
    fan_out = np.prod(kernel_shape[:2]) * FILTERS
    # 0.8796... is the standard deviation of a unit normal truncated to [-2, 2].
    std = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    kernel = rng.standard_normal(kernel_shape)
    outside = np.abs(kernel) > 2.0
    while outside.any():  # redraw the values beyond two standard deviations
        kernel[outside] = rng.standard_normal(np.count_nonzero(outside))
        outside = np.abs(kernel) > 2.0
    limit = np.sqrt(6.0 / sum(dense_shape))
    dense = rng.uniform(-limit, limit, dense_shape)
    weights = [kernel * std, np.zeros(bias_shape), dense, np.zeros(dense_bias_shape)]
    return [w.astype(np.float32) for w in weights]


def make_noise(weights, seed):
    """The noise ε of one member: standard normal arrays shaped like ``weights``.

    Drawn from a generator made from ``seed`` alone, so a worker and the trainer that
    regenerate it from the same seed get exactly the same numbers.
    """
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(w), dtype=np.float32) for w in weights]


def member_seed(base_seed, epoch, member):
    """The seed of one member's noise, derived from the run's seed, the epoch and the member."""
    return int(np.random.SeedSequence((base_seed, epoch, member)).generate_state(1)[0])


def epoch_game_seed(base_seed, epoch):
    """The seed of the games that every member plays in ``epoch``."""
    return int(np.random.SeedSequence((base_seed, epoch, 2**32)).generate_state(1)[0])


# --------------------------------------------------------------------------------------------
# The agent
# --------------------------------------------------------------------------------------------

class EvolutionalAgent:
    """The policy that evolution improves: a small convolutional network with softmax output.

    ``EvolutionalAgent(actions)``, then ``initialize(state)`` (fresh weights) or
    ``initialize(state, weights)``. ``weights`` is a list of NumPy arrays in the layout of
    Keras' ``get_weights()``; ``policy`` runs the network in NumPy. ``seed`` (not in the book)
    seeds the generator that samples the actions.
    """

    def __init__(self, actions, seed=None):
        self.actions = list(actions)
        self.weights = None
        self.state_shape = None
        self.rng = np.random.default_rng(seed)

    def save(self, model_path):
        """Write the weights to a ``.npz`` file (atomically)."""
        if self.weights is None:
            raise ValueError("the agent has no weights yet: call initialize() first")
        model_path = Path(model_path)
        with atomic_path(model_path) as temporary, open(temporary, "wb") as file:
            np.savez(file, actions=np.asarray(self.actions),
                     state_shape=np.asarray(self.state_shape),
                     **dict(zip(WEIGHT_NAMES, self.weights)))
        print(f"Saved {model_path}")
        return model_path

    @classmethod
    def load(cls, env, model_path, seed=None):
        """An agent with the weights saved in ``model_path``, for ``env``'s actions."""
        actions = list(range(env.action_space.n))
        with np.load(model_path, allow_pickle=False) as data:
            missing = [name for name in ("state_shape", *WEIGHT_NAMES) if name not in data]
            if missing:
                raise ValueError(f"{model_path} is not a saved EvolutionalAgent "
                                 f"(no {', '.join(missing)})")
            state_shape = tuple(int(n) for n in data["state_shape"])
            weights = [data[name] for name in WEIGHT_NAMES]
        agent = cls(actions, seed=seed)
        agent.initialize(np.zeros(state_shape, dtype=np.float32), weights)
        return agent

    def initialize(self, state, weights=()):
        """Set up the network for states shaped like ``state``; fresh weights unless given."""
        state_shape = np.shape(state)
        if len(weights) > 0:
            expected = weight_shapes(state_shape, len(self.actions))
            shapes = [np.shape(w) for w in weights]
            if shapes != expected:
                raise ValueError(f"weights of shapes {shapes} do not fit, expected {expected}")
            self.weights = [np.array(w, dtype=np.float32) for w in weights]
        else:
            self.weights = glorot_weights(state_shape, len(self.actions), self.rng)
        self.state_shape = state_shape

    def policy(self, state):
        """Sample an action from the network's softmax for ``state``.

        Given a batch of states (one more axis in front), it returns an array of actions, one
        for each; this is how a worker plays several games at once.
        """
        state = np.asarray(state, dtype=np.float32)
        single = state.ndim == 3
        probabilities = action_probabilities(self.weights, state[None] if single else state)
        # Inverse-CDF sampling: the first action whose cumulative probability passes u.
        u = self.rng.random((probabilities.shape[0], 1))
        chosen = (probabilities.cumsum(axis=1) < u).sum(axis=1)
        chosen = np.minimum(chosen, len(self.actions) - 1)  # in case rounding left u above 1
        actions = np.asarray(self.actions)[chosen]
        return actions[0].item() if single else actions

    def play(self, env, episode_count=5, render=True, frames=None):
        """Play ``episode_count`` episodes on ``env`` (a ``CatcherObserver`` of one game).

        A game made with ``render_mode="human"`` draws its window at every step by itself.
        With ``render_mode="rgb_array"`` and ``render``, each screen is appended to
        ``frames`` (a list, not in the book), one list per episode: ``--play --headless``
        turns them into a GIF. Returns the rewards of the episodes.
        """
        mode = getattr(env.env, "render_mode", None)
        record = render and mode == "rgb_array" and frames is not None
        rewards = []
        for _ in range(episode_count):
            state = env.reset()
            screens = [env.render()] if record else []
            if frames is not None:
                frames.append(screens)
            done, episode_reward = False, 0.0
            while not done:
                state, reward, done, info = env.step(self.policy(state))
                episode_reward += reward
                if record:
                    screens.append(env.render())
                if mode == "human" and window_closed():
                    print("The window was closed.")
                    return rewards
            rewards.append(episode_reward)
            print(f"Get reward {episode_reward:+.0f} "
                  f"(caught {info['caught']}, missed {info['missed']})")
        return rewards

    def keras_model(self):
        """The book's Keras model with this agent's weights (imports TensorFlow: seconds).

        ``action_probabilities`` computes the same thing; use this to look at the network
        with Keras' tools, or to save it as ``.keras``.
        """
        import keras

        model = keras.Sequential([
            keras.Input(shape=self.state_shape),
            keras.layers.Conv2D(FILTERS, kernel_size=KERNEL_SIZE, strides=STRIDE,
                                activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(len(self.actions), activation="softmax"),
        ])
        model.set_weights(self.weights)
        return model


def window_closed():
    import pygame

    return bool(pygame.event.peek(pygame.QUIT))


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------

class EvolutionalTrainer:
    """Evolve an ``EvolutionalAgent`` for Catcher with a population of perturbed copies.

    The book's arguments: ``population_size`` members per epoch, noise scale ``sigma``,
    ``learning_rate`` and ``report_interval`` (epochs between printed lines). Added:
    ``n_jobs``, the number of members played at the same time (joblib's meaning: -1 for all
    cores, or all the threads of a Dask cluster), and ``seed``, from which every random
    number of a run is derived.

    The members are played with ``joblib.Parallel``, so whichever joblib backend is active
    runs them: worker processes on this machine by default (loky), or a Dask cluster inside
    ``joblib.parallel_config(backend="dask")``.
    """

    def __init__(self, population_size=20, sigma=0.5, learning_rate=0.1, report_interval=10,
                 n_jobs=-1, seed=None):
        if population_size < 2:
            raise ValueError("population_size must be at least 2 (rewards are standardized)")
        self.population_size = int(population_size)
        self.sigma = float(sigma)
        self.learning_rate = float(learning_rate)
        self.report_interval = int(report_interval)
        self.n_jobs = n_jobs
        self.seed = seed
        self.weights = ()
        self.reward_log = []

    @classmethod
    def make_env(cls, num_games=1, max_step=MAX_EPISODE_STEPS):
        """``num_games`` Catcher games stepped together, seen through the book's observer."""
        games = CatcherVectorEnv(num_games, max_episode_steps=max_step)
        return CatcherObserver(games, FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT)

    def train(self, epoch=100, episode_per_agent=1):
        """Evolve the weights for ``epoch`` epochs; return the agent with the final weights.

        Ctrl-C drops the epoch in progress and stops: the agent keeps the weights of the
        last finished epoch.
        """
        base_seed = self.seed
        if base_seed is None:
            base_seed = int(np.random.SeedSequence().generate_state(1)[0])
        env = self.make_env()
        state = env.reset(seed=base_seed)[0]
        agent = EvolutionalAgent(list(range(env.action_space.n)), seed=base_seed)
        agent.initialize(state)
        self.weights = agent.weights
        self.reward_log = []

        try:
            # One Parallel for all epochs: its workers stay up between epochs.
            with Parallel(n_jobs=self.n_jobs) as parallel:
                for e in tqdm(range(epoch), desc="Evolution", unit="epoch"):
                    results = self.play_population(parallel, base_seed, e, episode_per_agent)
                    self.update(results)
                    self.log()
        except KeyboardInterrupt:
            print(f"Interrupted after {len(self.reward_log)} epochs: "
                  "the agent keeps what it learned so far.")

        agent.initialize(state, self.weights)
        return agent

    def play_population(self, parallel, base_seed, epoch, episode_per_agent=1):
        """Play every member of one epoch with ``parallel`` (a ``joblib.Parallel``).

        Returns the ``(reward, seed)`` pairs in member order: joblib gives the results back in
        the order of the tasks, whichever worker played them and whenever they finished.
        """
        game_seed = epoch_game_seed(base_seed, epoch)
        run_agent = delayed(type(self).run_agent)
        return parallel(
            run_agent(episode_per_agent, self.weights, self.sigma,
                      member_seed(base_seed, epoch, member), game_seed)
            for member in range(self.population_size)
        )

    @classmethod
    def run_agent(cls, episode_per_agent, base_weights, sigma, seed, game_seed,
                  max_step=MAX_EPISODE_STEPS):
        """Play one member: the base weights plus σ × its noise; return ``(reward, seed)``.

        The reward is the mean over ``episode_per_agent`` episodes, played as one batch.
        Everything random is derived from the two seeds: the noise from ``seed``, the games
        and the sampling of actions from ``game_seed``.
        """
        # One worker, one core: NumPy's matrix library must not start threads of its own,
        # or the workers fight over the cores (and a single worker would secretly use two).
        with threadpool_limits(limits=1):
            noises = make_noise(base_weights, seed)
            weights = [w + sigma * noise for w, noise in zip(base_weights, noises)]
            env = cls.make_env(episode_per_agent, max_step)
            states = env.reset(seed=game_seed)
            agent = EvolutionalAgent(list(range(env.action_space.n)), seed=game_seed)
            agent.initialize(states[0], weights)

            total = np.zeros(episode_per_agent)
            done = np.zeros(episode_per_agent, dtype=bool)
            actions = np.zeros(episode_per_agent, dtype=np.int64)
            while not done.all():
                # Games that are over go on (the batch steps together), but their moves and
                # rewards no longer count: only the games still on ask the network.
                actions[~done] = agent.policy(states[~done])
                states, rewards, dones, _ = env.step(actions)
                total += np.where(done, 0.0, rewards)
                done |= dones
        return float(total.mean()), seed

    def update(self, agent_results):
        """Move the weights with the members' ``(reward, seed)`` pairs (in member order).

        θ ← θ + learning_rate / (population_size · σ) · Σ_i z_i ε_i, where z_i is member i's
        standardized reward and ε_i its noise, regenerated from its seed.
        """
        rewards = np.array([reward for reward, _ in agent_results], dtype=float)
        seeds = [seed for _, seed in agent_results]
        self.reward_log.append(rewards)
        std = rewards.std()
        if std == 0:
            # Every member did equally well: the population tells nothing about a direction.
            return
        normalized = (rewards - rewards.mean()) / std
        steps = [np.zeros(np.shape(w)) for w in self.weights]
        for z, seed in zip(normalized, seeds):
            for step, noise in zip(steps, make_noise(self.weights, seed)):
                step += z * noise
        rate = self.learning_rate / (self.population_size * self.sigma)
        self.weights = [(w + rate * step).astype(np.float32)
                        for w, step in zip(self.weights, steps)]

    def log(self):
        """Every ``report_interval`` epochs, print the population's reward in the last epoch."""
        epoch = len(self.reward_log)
        if self.report_interval <= 0 or epoch % self.report_interval != 0:
            return
        rewards = self.reward_log[-1]
        tqdm.write(f"At epoch {epoch}, reward is {rewards.mean():.3f} "
                   f"(+/- {rewards.std():.3f}), best {rewards.max():.3f}.")

    def plot_rewards(self, path=None, show=True):
        """Plot the population's mean reward per epoch with a ± one standard deviation band.

        The figure is saved as a PNG (``path``, by default under ``outputs/EV/evolution/``),
        shown when ``show`` is true and a window can open, and its path is returned.
        """
        import matplotlib.pyplot as plt

        if not self.reward_log:
            raise ValueError("the reward log is empty: train for at least one epoch first")
        epochs = np.arange(1, len(self.reward_log) + 1)
        means = np.array([rewards.mean() for rewards in self.reward_log])
        stds = np.array([rewards.std() for rewards in self.reward_log])
        best = np.array([rewards.max() for rewards in self.reward_log])
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ax.set_title("Reward History")
        ax.grid()
        ax.fill_between(epochs, means - stds, means + stds, alpha=0.1, color="g",
                        label="± one standard deviation")
        ax.plot(epochs, means, "o-", color="g", markersize=3, label="mean reward of the population")
        ax.plot(epochs, best, ":", color="g", label="best member")
        ax.set_xlabel("epoch")
        ax.set_ylabel("reward")
        ax.legend(loc="best")
        if path is None:
            path = output_dir(__file__) / "reward_history.png"
        save_figure(fig, path)
        show_plot(show)
        return Path(path)

    def save_reward_log(self, path):
        """Write every member's reward of every epoch to a CSV file (atomically)."""
        path = Path(path)
        with atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["epoch", "member", "reward"])
            for epoch, rewards in enumerate(self.reward_log, start=1):
                writer.writerows((epoch, member, reward) for member, reward in enumerate(rewards))
        print(f"Saved {path}")
        return path


# --------------------------------------------------------------------------------------------
# Running on a Dask cluster
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def dask_backend(scheduler, n_workers=None):
    """Run joblib's work on Dask: a new ``LocalCluster`` (``"local"``) or a scheduler address.

    Inside the block, every ``joblib.Parallel`` sends its tasks to the cluster's workers. The
    workers import this module by name, so the project must be installed on them.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        exit_with_error(f"--scheduler needs dask.distributed, which is not installed; "
                        f"{INSTALL_HINT}")
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            cluster = stack.enter_context(
                LocalCluster(n_workers=n_workers, threads_per_worker=1))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as error:
                exit_with_error(f"could not connect to the Dask scheduler at {scheduler} "
                                f"({error}); give 'local' or an address such as "
                                "tcp://host:8786")
        workers = len(client.scheduler_info()["workers"])
        print(f"Dask: {workers} workers, dashboard at {client.dashboard_link}")
        with parallel_config(backend="dask"):
            yield client


# --------------------------------------------------------------------------------------------
# Playing a saved agent
# --------------------------------------------------------------------------------------------

def display_available():
    """True when a pygame window can open (not SDL's dummy driver, and a display to use)."""
    if os.environ.get("SDL_VIDEODRIVER", "").lower() in {"dummy", "offscreen"}:
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    return True


def save_gif(frames, path, fps):
    """Write the frames as an animated GIF, enlarged so that the small screen can be seen."""
    from PIL import Image

    images = [Image.fromarray(frame).resize((frame.shape[1] * GIF_SCALE,
                                             frame.shape[0] * GIF_SCALE),
                                            Image.Resampling.NEAREST)
              for frame in frames]
    with atomic_path(path) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
    print(f"Saved {path}")
    return Path(path)


def play_saved(model_path, episode_count, headless, seed):
    """Load the saved agent and let it play, in a window or into a GIF."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers Catcher-v0)

    if not Path(model_path).exists():
        exit_with_error(f"no trained agent at {model_path}; train one first with "
                        "python EV/evolution.py")
    if not headless and not display_available():
        print("No display found: playing headless, and writing a GIF instead of a window.")
        headless = True
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    game = gym.make("Catcher-v0", render_mode="rgb_array" if headless else "human")
    env = CatcherObserver(game, FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT)
    try:
        agent = EvolutionalAgent.load(env, model_path, seed=seed)
    except Exception as error:  # whatever is wrong with the file, say so in one sentence
        exit_with_error(f"could not load {model_path} ({error}); train again with "
                        "python EV/evolution.py")
    env.reset(seed=seed)  # seeds the games; each episode then starts where the last ended
    frames = [] if headless else None
    try:
        rewards = agent.play(env, episode_count=episode_count, render=True, frames=frames)
    except KeyboardInterrupt:
        print("Interrupted.")
        rewards = []
    finally:
        game.close()
    if frames:
        save_gif(frames[0], Path(model_path).with_name("ev_agent.gif"),
                 game.metadata["render_fps"])
    return rewards


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Evolution strategy on Catcher (Day6): perturb a small convolutional "
                    "policy, play the perturbed copies in parallel, move towards the better."
    )
    parser.add_argument("--play", action="store_true",
                        help="let the saved agent play instead of training")
    parser.add_argument("--headless", action="store_true",
                        help="with --play, no window: write a GIF of the first episode")
    parser.add_argument("--play-episodes", type=int, default=5,
                        help="episodes to play with --play (default: 5)")
    parser.add_argument("--epochs", type=int, default=100,
                        help="epochs of evolution (default: 100)")
    parser.add_argument("--population", type=int, default=20,
                        help="agents per epoch, each with its own noise (default: 20)")
    parser.add_argument("--episodes-per-agent", type=int, default=EPISODES_PER_AGENT,
                        help="episodes each agent plays per epoch, together as a batch "
                             f"(default: {EPISODES_PER_AGENT})")
    parser.add_argument("--sigma", type=float, default=0.5,
                        help="scale of the noise added to the weights (default: 0.5)")
    parser.add_argument("--learning-rate", type=float, default=0.1,
                        help="step size of the weight update (default: 0.1)")
    parser.add_argument("--report-interval", type=int, default=10,
                        help="epochs between printed progress lines (default: 10)")
    parser.add_argument("--workers", type=int, default=-1,
                        help="agents played at the same time (joblib's n_jobs; default -1: "
                             "all cores, or all the threads of a Dask cluster)")
    parser.add_argument("--scheduler", default=None,
                        help="run on Dask: 'local' starts a LocalCluster on this machine, an "
                             "address such as tcp://host:8786 uses a running cluster "
                             "(needs the [distributed] extra)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)

    for name in ("epochs", "episodes_per_agent", "play_episodes", "report_interval"):
        if getattr(args, name) < 1:
            exit_with_error(f"--{name.replace('_', '-')} must be at least 1")
    if args.population < 2:
        exit_with_error("--population must be at least 2 (rewards are standardized)")
    if not args.sigma > 0 or not args.learning_rate > 0:
        exit_with_error("--sigma and --learning-rate must be positive")
    if args.workers == 0 or args.workers < -1:
        exit_with_error("--workers must be a positive number, or -1 for all")
    if args.seed < 0:
        exit_with_error("--seed must not be negative")

    model_path = output_dir(__file__) / MODEL_FILE
    if args.play:
        return play_saved(model_path, args.play_episodes, args.headless, args.seed)

    backend = contextlib.nullcontext()
    if args.scheduler is not None:
        n_workers = None if args.workers == -1 else args.workers
        backend = dask_backend(args.scheduler, n_workers)

    set_seed(args.seed)
    trainer = EvolutionalTrainer(population_size=args.population, sigma=args.sigma,
                                 learning_rate=args.learning_rate,
                                 report_interval=args.report_interval,
                                 n_jobs=args.workers, seed=args.seed)
    with backend:
        agent = trainer.train(epoch=args.epochs, episode_per_agent=args.episodes_per_agent)
    if trainer.reward_log:
        agent.save(model_path)
        trainer.save_reward_log(model_path.with_name("reward_log.csv"))
        trainer.plot_rewards(model_path.with_name("reward_history.png"), show=not args.no_show)
    return trainer, agent


if __name__ == "__main__":
    # Worker processes find the trainer by its module name. Run as a file, this module is
    # __main__, so hand over to the importable EV.evolution: what is sent to the workers then
    # refers to EV.evolution, which they can import (and which does not run main() again).
    from EV.evolution import main as module_main

    module_main()
