"""Day6: evolution strategies, which learn a policy's weights by trial and selection, no gradient.

Each epoch draws noises ε_i ~ N(0, 1) shaped like the weights θ, lets each member θ + σε_i
play Catcher, standardizes the rewards to z_i and moves θ ← θ + α / (nσ) Σ z_i ε_i
(``EvolutionalTrainer.update``), a Monte Carlo estimate of the reward's gradient. The members
play in parallel on every core (joblib); ``EV/dask_parallel.py`` runs this on a Dask cluster.

    python EV/evolution.py                      # train, evaluate, save, plot (outputs/EV/)
    python EV/evolution.py --play [--headless]  # watch the newest agent play (or write a GIF)

Changes from the book (the reasons and the measurements: doc/day6.md):
- the network runs in NumPy (``EV/numpy_network.py``), not Keras, and is saved as ``.npz``;
- a noise comes from a seed, a member sends back (reward, seed); all members play the same games;
- a member plays its games as one batch and acts every 2nd frame; the script trains 400 epochs,
  5 games a member, learning rate 0.2 (the classes keep the book's defaults).
"""

import argparse
import contextlib
import csv
import zipfile
from pathlib import Path

import common

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs.catcher import (
    GRAY_WEIGHTS,
    MAX_EPISODE_STEPS,
    CatcherVectorEnv,
    area_weights,
    catch_rate,
    play_first_episodes,
)
from EV.numpy_network import action_probabilities, glorot_weights, weight_shapes

# The book's state: one 50×50 grayscale frame. The agent acts every FRAME_SKIP frames.
FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, FRAME_SKIP = 50, 50, 1, 2
COUNTERS = ("lives", "caught", "missed")
WEIGHT_NAMES = ("conv_kernel", "conv_bias", "dense_kernel", "dense_bias")
MODEL_FILE, TRAIN_COMMAND = "ev_agent.npz", "python EV/evolution.py"
# The script's settings (doc/day6.md says why they differ from the book's).
EPOCHS, POPULATION, SIGMA, LEARNING_RATE, EPISODES_PER_AGENT = 400, 20, 0.5, 0.2, 5
EVALUATION_GAMES, EVALUATION_SEED = 100, 10**6  # games that training never plays


class EvolutionalAgent:
    """The policy that evolution improves: the book's small convolutional network.

    ``weights`` are laid out as Keras' ``get_weights()``; ``seed`` (not in the book) seeds
    the sampling of the actions.
    """

    def __init__(self, actions, seed=None):
        self.actions = list(actions)
        self.weights = None
        self.state_shape = None
        self.rng = np.random.default_rng(seed)

    def save(self, model_path):
        if self.weights is None:
            raise ValueError("the agent has no weights yet: call initialize() first")
        with common.atomic_path(model_path) as temporary, open(temporary, "wb") as file:
            np.savez(file, actions=np.asarray(self.actions),
                     state_shape=np.asarray(self.state_shape),
                     **dict(zip(WEIGHT_NAMES, self.weights)))
        print(f"Saved {model_path}")
        return model_path

    @classmethod
    def load(cls, env, model_path, seed=None):
        """The agent saved in ``model_path``; a ``ValueError`` says why a file is not one."""
        try:
            # allow_pickle=False: loading must never run code hidden in the file.
            data = np.load(model_path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an .npz archive")
            with data:
                arrays = {name: data[name] for name in ("state_shape", *WEIGHT_NAMES)}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"not a saved agent ({type(error).__name__}: {error})") from None
        state_shape = tuple(int(n) for n in np.ravel(arrays["state_shape"]))
        if state_shape != env.observation_space.shape:
            raise ValueError(f"it was trained on states of shape {state_shape}, "
                             f"this game gives {env.observation_space.shape}")
        agent = cls(list(range(env.action_space.n)), seed=seed)
        agent.initialize(np.zeros(state_shape), [arrays[name] for name in WEIGHT_NAMES])
        return agent

    def initialize(self, state, weights=()):
        """Set up the network for states shaped like ``state``; fresh weights unless given."""
        self.state_shape = np.shape(state)
        if len(weights) == 0:
            self.weights = glorot_weights(self.state_shape, len(self.actions), self.rng)
            return
        expected = weight_shapes(self.state_shape, len(self.actions))
        if [np.shape(w) for w in weights] != expected:
            raise ValueError(f"weights of shapes {[np.shape(w) for w in weights]} do not fit, "
                             f"expected {expected}")
        if not all(np.isfinite(w).all() for w in weights):
            raise ValueError("the weights are not all finite numbers")
        self.weights = [np.array(w, dtype=np.float32) for w in weights]

    def policy(self, state):
        """Sample an action from the softmax; for a batch of states, an array of actions."""
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
        """Play episodes of one game; with ``render_mode="rgb_array"`` each episode's screens
        go to a list in ``frames`` (not in the book; for a GIF). Returns the rewards."""
        mode = env.env.render_mode
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
                if mode == "human" and common.window_closed():
                    print("The window was closed.")
                    return rewards
            rewards.append(episode_reward)
            print(f"Get reward {episode_reward:+.0f} "
                  f"(caught {info['caught']}, missed {info['missed']})")
        return rewards

    def keras_model(self):
        """The book's form of the network, with these weights (imports TensorFlow: seconds)."""
        import keras

        model = keras.Sequential([
            keras.Input(shape=self.state_shape),
            keras.layers.Conv2D(3, kernel_size=5, strides=3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(len(self.actions), activation="softmax"),
        ])
        model.set_weights(self.weights)
        return model


class CatcherObserver:
    """The book's observer: Catcher's RGB screen → one small grayscale frame in [0, 1].

    The book's arguments (its state is one frame whatever ``frame_count``); added:
    ``num_games`` (a batch of games stepped together: every value gets a game axis),
    ``frame_skip`` (frames an action is repeated for), ``max_step`` and ``render_mode``.
    """

    def __init__(self, width, height, frame_count, num_games=None, frame_skip=FRAME_SKIP,
                 max_step=MAX_EPISODE_STEPS, render_mode=None):
        if num_games is None:
            self._env = gym.make("Catcher-v0", render_mode=render_mode,
                                 max_episode_steps=max_step)
        else:
            self._env = CatcherVectorEnv(num_games, max_episode_steps=max_step)
        self.width, self.height, self.frame_count = width, height, frame_count
        self.num_games, self.frame_skip = num_games, frame_skip
        # The book shrinks the screen with Pillow; averaging each output pixel's area is
        # exact, and two matrix products do it for a whole batch.
        screen = getattr(self._env, "single_observation_space", self._env.observation_space)
        self.rows = area_weights(screen.shape[0], height)
        self.columns = np.ascontiguousarray(area_weights(screen.shape[1], width).T)

    @property
    def env(self):
        return self._env

    @property
    def action_space(self):
        return getattr(self._env, "single_action_space", self._env.action_space)

    @property
    def observation_space(self):
        return spaces.Box(0.0, 1.0, (self.height, self.width, 1), dtype=np.float32)

    def reset(self, seed=None):
        return self.transform(self._env.reset(seed=seed)[0])

    def render(self):
        # A window ("human") draws itself at every step; "rgb_array" returns the screen.
        return self._env.render() if self._env.render_mode == "rgb_array" else None

    def step(self, action):
        """Play ``action`` for ``frame_skip`` frames; return the book's (state, reward, done, info).

        A game of a batch that ends restarts at its next frame with reward 0 (gymnasium's
        default): ``info["final_info"]`` keeps its counters at the frame it ended.
        """
        reward, done, final = 0.0, False, None
        for _ in range(self.frame_skip):
            frame, frame_reward, terminated, truncated, info = self._env.step(action)
            reward = reward + frame_reward
            if self.num_games is None:  # one game: stop at its end
                done = terminated or truncated
                if done:
                    break
            else:
                final = {key: info[key] if final is None else
                         np.where(done, final[key], info[key]) for key in COUNTERS}
                done = done | terminated | truncated
        if final is not None:
            info = {**final, "final_info": final}
        return self.transform(frame), reward, done, info

    def close(self):
        self._env.close()

    def transform(self, state):
        """RGB screens (one, or a batch) → gray, shrunk to height × width, in [0, 1]."""
        gray = np.asarray(state, dtype=np.float32) @ GRAY_WEIGHTS
        small = np.rint(self.rows @ gray @ self.columns).astype(np.uint8)  # an 8-bit image
        return (small.astype(np.float32) * np.float32(1 / 255))[..., np.newaxis]


class EvolutionalTrainer:
    """Evolve an ``EvolutionalAgent`` for Catcher with a population of perturbed copies.

    The book's arguments and defaults; added: ``n_jobs`` (members played at once, joblib's
    meaning), ``seed`` (every random number of a run derives from it) and ``parallel`` (what
    plays the members instead of joblib, such as ``EV.dask_parallel.DaskParallel``).
    """

    def __init__(self, population_size=20, sigma=0.5, learning_rate=0.1, report_interval=10,
                 n_jobs=-1, seed=None, parallel=None):
        if population_size < 2:
            raise ValueError("population_size must be at least 2 (rewards are standardized)")
        self.population_size = int(population_size)
        self.sigma = float(sigma)
        self.learning_rate = float(learning_rate)
        self.report_interval = int(report_interval)
        self.n_jobs, self.seed, self.parallel = n_jobs, seed, parallel
        self.weights = ()
        self.mirrored, self.rank_shaping, self.adam, self.weight_decay = False, False, False, 0.0
        self.optimizer_state = None
        self.reward_log = []
        self.interrupted = False

    def train(self, epoch=100, episode_per_agent=1, render=False):
        """Evolve the weights for ``epoch`` epochs; return the agent with the final weights.

        ``render`` is the book's, and unused there too: the members play without a window.
        Ctrl-C drops the epoch in progress: the agent keeps the last finished epoch's weights,
        and ``interrupted`` tells the caller.
        """
        base_seed = self.seed
        if base_seed is None:
            base_seed = int(np.random.SeedSequence().generate_state(1)[0])
        agent = self.initial_agent(base_seed)
        self.weights, self.reward_log, self.interrupted = agent.weights, [], False
        self.optimizer_state = None
        try:
            # One Parallel for all epochs: its workers stay up between epochs.
            with Parallel(self.n_jobs) if self.parallel is None else self.parallel as parallel:
                for e in tqdm(range(epoch), desc="Evolution", unit="epoch"):
                    results = self.play_population(parallel, base_seed, e, episode_per_agent)
                    self.update(results)
                    self.log()
        except KeyboardInterrupt:
            self.interrupted = True
            tqdm.write(f"Interrupted after {len(self.reward_log)} epochs: "
                       "the agent keeps what it learned so far.")
        agent.weights = self.weights
        return agent

    @classmethod
    def make_env(cls, num_games=None, max_step=MAX_EPISODE_STEPS):
        return CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, num_games=num_games,
                               max_step=max_step)

    def initial_agent(self, base_seed):
        """The agent that evolution starts from: the book's network, freshly initialized."""
        env = self.make_env()
        agent = EvolutionalAgent(list(range(env.action_space.n)), seed=base_seed)
        agent.initialize(env.reset(seed=base_seed))
        return agent

    def play_population(self, parallel, base_seed, epoch, episode_per_agent=1):
        """Play every member of one epoch; return their ``(reward, seed, sign)`` in order."""
        # Every member plays the same games: their rewards differ by their weights, not by luck.
        game_seed = epoch_game_seed(base_seed, epoch)
        # Mirrored sampling: members 2k and 2k + 1 play θ + σε and θ − σε with the same ε.
        pairs = 2 if self.mirrored else 1
        run_agent = delayed(type(self).run_agent)
        return parallel(run_agent(episode_per_agent, self.weights, self.sigma,
                                  seed=member_seed(base_seed, epoch, member // pairs),
                                  sign=1 - 2 * (member % pairs), game_seed=game_seed)
                        for member in range(self.population_size))

    @classmethod
    def run_agent(cls, episode_per_agent, base_weights, sigma, max_step=MAX_EPISODE_STEPS,
                  seed=None, sign=1, game_seed=None):
        """Play one member, θ + sign·σε with ε drawn from ``seed``; return
        ``(mean reward, seed, sign)``: the trainer draws the very same noise again from them.
        The games and the sampling of the actions come from ``game_seed``."""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        theta = flatten(base_weights) + sign * sigma * make_noise(base_weights, seed)
        rewards, _, _ = play_games(unflatten(theta, base_weights), episode_per_agent,
                                   game_seed, max_step)
        return float(rewards.mean()), seed, sign

    def update(self, agent_results):
        """θ ← θ + learning_rate / (population_size · σ) · Σ_i s_i ε_i: each member's noise
        ε_i (drawn again from its seed) weighted by how well it did (see ``es_update``)."""
        rewards = np.array([reward for reward, _, _ in agent_results], dtype=float)
        self.reward_log.append(rewards)
        noises = np.array([sign * make_noise(self.weights, seed)
                           for _, seed, sign in agent_results])
        theta, self.optimizer_state = es_update(
            flatten(self.weights), noises, rewards, self.sigma, self.learning_rate,
            self.optimizer_state, rank_shaping=self.rank_shaping, adam=self.adam,
            weight_decay=self.weight_decay)
        self.weights = unflatten(theta, self.weights)

    def log(self):
        epoch = len(self.reward_log)
        if epoch % self.report_interval == 0:
            rewards = self.reward_log[-1]
            tqdm.write(f"At epoch {epoch}, reward is {rewards.mean():.3f} "
                       f"(+/- {rewards.std():.3f}), best {rewards.max():.3f}.")

    def plot_rewards(self, path=None, show=True):
        """The population's mean reward per epoch (± one std, and the best) as a PNG."""
        path = path or common.output_dir(__file__) / "reward_history.png"
        return common.plot_reward_history(
            self.reward_log, path, x=np.arange(1, len(self.reward_log) + 1),
            xlabel="エポック (epoch)", label="集団の平均報酬 (mean reward of the population)",
            best=True, show=show)

    def save_reward_log(self, path):
        """Every member's reward of every epoch, as a CSV file."""
        with common.atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["epoch", "member", "reward"])
            for epoch, rewards in enumerate(self.reward_log, start=1):
                writer.writerows((epoch, member, reward) for member, reward in enumerate(rewards))
        print(f"Saved {path}")


def es_update(theta, noises, rewards, sigma, learning_rate, state=None, *, rank_shaping=True,
              adam=True, weight_decay=0.0):
    """One step of the evolution strategy on a flat parameter vector ``theta``.

    Member i played θ + σ·``noises[i]`` and got ``rewards[i]``. Returns ``(new θ, state)``;
    hand ``state`` (Adam's running moments) back at the next step.
    """
    rewards = np.asarray(rewards, dtype=float)
    n = len(rewards)
    if rank_shaping:
        # Centered ranks: only the order of the rewards counts, from −0.5 to +0.5 (ties share).
        ordered = np.sort(rewards)
        ranks = (np.searchsorted(ordered, rewards) + np.searchsorted(ordered, rewards, "right")
                 - 1) / 2
        shaped = ranks / (n - 1) - 0.5
    else:  # the book: standardized rewards
        std = rewards.std()
        shaped = (rewards - rewards.mean()) / std if std > 0 else np.zeros(n)
    # The Monte Carlo estimate of the gradient of the expected reward at θ.
    gradient = shaped @ noises / (n * sigma) - weight_decay * theta
    if not adam:
        return (theta + learning_rate * gradient).astype(np.float32), state
    m, v, t = state if state is not None else (np.zeros_like(theta), np.zeros_like(theta), 0)
    m, v, t = 0.9 * m + 0.1 * gradient, 0.999 * v + 0.001 * gradient**2, t + 1
    step = learning_rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return (theta + step).astype(np.float32), (m, v, t)


def flatten(weights):
    """The network's weight arrays as one flat vector θ."""
    return np.concatenate([np.ravel(w) for w in weights])


def unflatten(theta, like):
    """A flat vector θ cut back into arrays shaped like ``like``."""
    ends = np.cumsum([np.size(w) for w in like])
    return [part.reshape(np.shape(w)).astype(np.float32)
            for part, w in zip(np.split(theta, ends[:-1]), like)]


def make_noise(weights, seed):
    """One member's noise ε: a standard normal vector as long as θ, drawn from ``seed``."""
    size = sum(np.size(w) for w in weights)
    return np.random.default_rng(seed).standard_normal(size, dtype=np.float32)


def member_seed(base_seed, epoch, member):
    return int(np.random.SeedSequence((base_seed, epoch, member)).generate_state(1)[0])


def epoch_game_seed(base_seed, epoch):
    """The seed of the games that every member of ``epoch`` plays (the same for all)."""
    return int(np.random.SeedSequence((base_seed, epoch, 2**32)).generate_state(1)[0])


def play_games(weights, num_games, game_seed, max_step=MAX_EPISODE_STEPS):
    """The network ``weights`` plays ``num_games`` games as a batch, each until its end:
    ``(returns, caught, missed)``. The games and the actions' random numbers come from
    ``game_seed``."""
    # One worker, one core: NumPy's matrix library must not start threads of its own.
    with threadpool_limits(limits=1):
        env = EvolutionalTrainer.make_env(num_games, max_step)
        agent = EvolutionalAgent(list(range(env.action_space.n)), seed=game_seed)
        agent.initialize(np.zeros(env.observation_space.shape), weights)
        return play_first_episodes(env, agent.policy, seed=game_seed)


def evaluate(weights, num_games=EVALUATION_GAMES, seed=EVALUATION_SEED):
    """The share of the fruit that the network ``weights`` catches over ``num_games`` games."""
    _, caught, missed = play_games(weights, num_games, seed)
    return catch_rate({"caught": caught.sum(), "missed": missed.sum()})


def play_saved(model_path, episode_count, headless, seed):
    """Let the saved agent play, in a window or into a GIF beside its file."""
    if not headless and not common.display_available():
        print("No display found: playing headless, and writing a GIF instead of a window.")
        headless = True
    env = CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT,
                          render_mode="rgb_array" if headless else "human")
    try:
        agent = EvolutionalAgent.load(env, model_path, seed=seed)
    except ValueError as error:
        common.exit_with_error(f"{model_path} cannot be played: {error}; train an agent "
                               f"with `{TRAIN_COMMAND}`")
    env.reset(seed=seed)  # seeds the games; each episode then starts where the last ended
    frames = [] if headless else None
    with contextlib.closing(env):
        rewards = agent.play(env, episode_count=episode_count, render=True, frames=frames)
    if frames:  # one screen per decision: FRAME_SKIP frames apart
        common.save_gif(frames[0], Path(model_path).with_suffix(".gif"),
                        env.env.metadata["render_fps"] / FRAME_SKIP)
    return rewards


def population_size(text):
    """``--population``: at least 2, because the rewards are standardized within it."""
    value = common.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be 2 or more, got {text}")
    return value


def worker_count(text):
    """``--workers``: -1 (every core) or 1 or more."""
    return -1 if text.strip() == "-1" else common.positive_int(text)


def main(argv=None, parallel=None):
    """The script; ``parallel`` (not in the book) plays the members instead of joblib."""
    parser = argparse.ArgumentParser(
        description="Evolution strategy on Catcher (Day6): perturb a small convolutional "
                    "policy, play the perturbed copies in parallel, move towards the better.")
    add = parser.add_argument
    add("--play", action="store_true", help="let the newest trained agent play, not train")
    add("--model", metavar="PATH", help="with --play, the agent file (default: the newest)")
    add("--headless", action="store_true", help="with --play, no window: write a GIF")
    add("--play-episodes", type=common.positive_int, default=5,
        help="episodes of --play (default: 5)")
    add("--epochs", type=common.positive_int, default=EPOCHS, help=f"epochs (default: {EPOCHS})")
    add("--population", type=population_size, default=POPULATION,
        help=f"agents per epoch, at least 2 (default: {POPULATION})")
    add("--episodes-per-agent", type=common.positive_int, default=EPISODES_PER_AGENT,
        help=f"games each agent plays per epoch, as a batch (default: {EPISODES_PER_AGENT})")
    add("--sigma", type=common.positive_float, default=SIGMA,
        help=f"scale of the noise added to the weights (default: {SIGMA})")
    add("--learning-rate", type=common.positive_float, default=LEARNING_RATE,
        help=f"step size of the weight update (default: {LEARNING_RATE})")
    add("--report-interval", type=common.positive_int, default=10,
        help="epochs between printed progress lines (default: 10)")
    add("--eval-episodes", type=common.non_negative_int, default=EVALUATION_GAMES,
        help=f"games of the final catch rate, 0 for none (default: {EVALUATION_GAMES})")
    add("--workers", type=worker_count, default=-1,
        help="agents played at once (default -1: all cores)")
    add("--seed", type=common.seed_value, default=0, help="random seed (default: 0)")
    add("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)

    if args.play:
        model_path = common.find_model(__file__, MODEL_FILE, model=args.model,
                                       train_command=TRAIN_COMMAND)
        return play_saved(model_path, args.play_episodes, args.headless, args.seed)

    common.set_seed(args.seed)
    trainer = EvolutionalTrainer(population_size=args.population, sigma=args.sigma,
                                 learning_rate=args.learning_rate,
                                 report_interval=args.report_interval, n_jobs=args.workers,
                                 seed=args.seed, parallel=parallel)
    run_dir = common.new_run_dir(__file__)
    agent = trainer.train(epoch=args.epochs, episode_per_agent=args.episodes_per_agent)
    epochs, rate = len(trainer.reward_log), None
    if epochs:  # also after Ctrl-C: keep what was learned
        agent.save(run_dir / MODEL_FILE)
        trainer.save_reward_log(run_dir / "reward_log.csv")
        trainer.plot_rewards(run_dir / "reward_history.png",
                             show=not args.no_show and not trainer.interrupted)
        if args.eval_episodes and not trainer.interrupted:
            rate = evaluate(agent.weights, args.eval_episodes)
            print(f"The trained agent catches {rate:.1%} of the fruit over "
                  f"{args.eval_episodes} games.")
    common.finish_training(run_dir, interrupted=trainer.interrupted, epochs=epochs,
                           model=MODEL_FILE if epochs else None, catch_rate=rate)
    return trainer, agent


if __name__ == "__main__":
    # Workers find the trainer by its module name; run as a file, this module is __main__,
    # so hand over to the importable EV.evolution (which does not run main() again).
    from EV.evolution import main as module_main

    module_main()
