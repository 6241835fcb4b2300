"""Day6: evolution strategies, which learn a policy's weights by trial and selection, no gradient.

Each epoch, members θ ± σε_i (ε_i ~ N(0, I)) play Catcher in parallel, and θ moves towards the
noises of the better ones (``es_update``); ``EV/dask_parallel.py`` plays them on a Dask cluster.

    python EV/evolution.py                      # train, evaluate, save, plot (outputs/EV/)
    python EV/evolution.py --play [--headless]  # watch the newest agent play (or write a GIF)

Changes from the book (why, and the measurements: doc/day6.md):
- the network runs in NumPy (``EV/numpy_network.py``), not Keras, and is saved as ``.npz``;
- a noise comes from a seed; members play in mirrored pairs θ ± σε, all the same games;
- the script: 700 epochs, 5 games a member (one batch, acting every 2nd frame, 500 frames at
  most), σ 0.3, learning rate 0.2, and it keeps the best θ of checks every 10 epochs.
"""

import argparse
import zipfile
from pathlib import Path

import common

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs import catcher
from envs.catcher import MAX_EPISODE_STEPS
from EV.numpy_network import action_probabilities, glorot_weights, weight_shapes

# The book's state: one 50×50 grayscale frame. The agent acts every FRAME_SKIP frames.
FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, FRAME_SKIP = 50, 50, 1, 2
COUNTERS = ("lives", "caught", "missed")
WEIGHT_NAMES = ("conv_kernel", "conv_bias", "dense_kernel", "dense_bias")
MODEL_FILE, TRAIN_COMMAND = "ev_agent.npz", "python EV/evolution.py"
EPOCHS, POPULATION, SIGMA, LEARNING_RATE, EPISODES_PER_AGENT = 700, 20, 0.3, 0.2, 5
TRAINING_MAX_STEPS = 500  # a training game's frames. The script's settings: doc/day6.md
EVALUATION_GAMES, EVALUATION_SEED = 100, 10**6  # games that training never plays
CHECK_INTERVAL, CHECK_GAMES, CHECK_SEED = 10, 20, 2 * 10**6  # keep_best: θ's own check games


class EvolutionalAgent:
    """The book's small convolutional network (``weights`` as Keras' ``get_weights()``)."""

    def __init__(self, actions, seed=None):
        self.actions, self.weights, self.state_shape = list(actions), None, None
        self.rng = np.random.default_rng(seed)  # for the sampled actions (not in the book)

    def save(self, model_path):
        with common.atomic_path(model_path) as temporary, open(temporary, "wb") as file:
            np.savez(file, **dict(zip(WEIGHT_NAMES, self.weights)))
        print(f"Saved {model_path}")
        return model_path

    @classmethod
    def load(cls, env, model_path, seed=None):
        """The agent saved in ``model_path``; a ``ValueError`` says why a file is not one."""
        try:
            with np.load(model_path, allow_pickle=False) as data:  # never run a file's code
                weights = [data[name] for name in WEIGHT_NAMES]
        except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile) as error:
            raise ValueError(f"not a saved agent ({type(error).__name__}: {error})") from None
        agent = cls(list(range(env.action_space.n)), seed=seed)
        agent.initialize(np.zeros(env.observation_space.shape), weights)  # checks the shapes
        return agent

    def initialize(self, state, weights=()):
        """Set up the network for states shaped like ``state``; fresh weights unless given."""
        self.state_shape = np.shape(state)
        if len(weights) == 0:
            self.weights = glorot_weights(self.state_shape, len(self.actions), self.rng)
            return
        shapes = [np.shape(w) for w in weights]
        if shapes != weight_shapes(self.state_shape, len(self.actions)):
            raise ValueError(f"weights of shapes {shapes} do not fit this network")
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
        chosen = (probabilities.cumsum(axis=1)[:, :-1] < u).sum(axis=1)  # never past the last
        actions = np.asarray(self.actions)[chosen]
        return actions[0].item() if single else actions

    def play(self, env, episode_count=5, render=True, frames=None):
        """Play episodes and return their rewards; ``frames`` collects the screens (GIF)."""
        rewards, window = [], env.env.render_mode == "human"
        for _ in range(episode_count):
            state, done, episode_reward = env.reset(), False, 0.0
            if frames is not None:  # a screen per step; with a window, render() gives None
                frames.append([env.render()])
            while not done:
                state, reward, done, info = env.step(self.policy(state))
                episode_reward += reward
                if frames is not None:
                    frames[-1].append(env.render())
                if window and common.window_closed():
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
    """The book's observer, RGB screen → a 50×50 gray frame; added: ``num_games`` (a batch)."""

    def __init__(self, width, height, frame_count, num_games=None, frame_skip=FRAME_SKIP,
                 max_step=MAX_EPISODE_STEPS, render_mode=None):
        if num_games is None:
            self.env = gym.make("Catcher-v0", render_mode=render_mode,
                                max_episode_steps=max_step)
        else:
            self.env = catcher.CatcherVectorEnv(num_games, max_episode_steps=max_step)
        self.width, self.height, self.frame_count = width, height, frame_count
        self.num_games, self.frame_skip = num_games, frame_skip
        # Shrinking averages each output pixel's area (the book: Pillow), as matrix products.
        screen = getattr(self.env, "single_observation_space", self.env.observation_space)
        self.rows = catcher.area_weights(screen.shape[0], height)
        self.columns = np.ascontiguousarray(catcher.area_weights(screen.shape[1], width).T)

    @property
    def action_space(self):
        return getattr(self.env, "single_action_space", self.env.action_space)

    @property
    def observation_space(self):
        return spaces.Box(0.0, 1.0, (self.height, self.width, 1), dtype=np.float32)

    def reset(self, seed=None):
        return self.transform(self.env.reset(seed=seed)[0])

    def render(self):
        return self.env.render()  # the screen with "rgb_array"; a window draws itself

    def step(self, action):
        """Play ``action`` for ``frame_skip`` frames; return the book's (state, reward, done, info).
        A game of a batch that ends restarts; ``info["final_info"]`` keeps its last counters."""
        reward, done, final = 0.0, False, None
        for _ in range(self.frame_skip):
            frame, frame_reward, terminated, truncated, info = self.env.step(action)
            reward = reward + frame_reward
            if self.num_games is None and (terminated or truncated):  # one game: stop at its end
                return self.transform(frame), reward, True, info
            if self.num_games is not None:
                final = {key: info[key] if final is None else
                         np.where(done, final[key], info[key]) for key in COUNTERS}
                done = done | terminated | truncated
        if final is not None:
            info = {**final, "final_info": final}
        return self.transform(frame), reward, done, info

    def transform(self, state):
        """RGB screens (one, or a batch) → gray, shrunk to height × width, in [0, 1]."""
        gray = np.asarray(state, dtype=np.float32) @ catcher.GRAY_WEIGHTS
        small = np.rint(self.rows @ gray @ self.columns).astype(np.uint8)  # an 8-bit image
        return (small.astype(np.float32) * np.float32(1 / 255))[..., np.newaxis]


def es_update(theta, noises, rewards, sigma, learning_rate):
    """One step of the evolution strategy on a flat vector ``theta``, where member i played
    θ + σ·``noises[i]`` and earned ``rewards[i]``: the book's update, returning the new θ."""
    rewards = np.asarray(rewards, dtype=float)
    if rewards.std() == 0:
        return theta  # every member did equally well: no direction to move in
    # What counts is how much better than the rest a member did, not Catcher's scale.
    normalized = (rewards - rewards.mean()) / rewards.std()
    # The noises, each weighted by how well its member did: a Monte Carlo estimate of the
    # gradient of the expected reward at θ (the 1/σ undoes the noise's scale).
    gradient = normalized @ noises / (len(rewards) * sigma)
    return (theta + learning_rate * gradient).astype(np.float32)


def flatten(weights):
    return np.concatenate([np.ravel(w) for w in weights])


def unflatten(theta, like):
    ends = np.cumsum([np.size(w) for w in like])[:-1]
    return [part.reshape(np.shape(w)).astype(np.float32)
            for part, w in zip(np.split(theta, ends), like)]


def make_noise(weights, seed):
    """One member's noise ε: a standard normal vector as long as θ, drawn from ``seed``."""
    size = sum(np.size(w) for w in weights)
    return np.random.default_rng(seed).standard_normal(size, dtype=np.float32)


def derived_seed(*numbers):
    """A seed for (run seed, epoch, member ...), or a fresh one: independent streams."""
    return int(np.random.SeedSequence(numbers or None).generate_state(1)[0])


class EvolutionalTrainer:
    """Evolve an ``EvolutionalAgent`` for Catcher. Added: ``n_jobs``, ``seed`` (of a run),
    ``parallel`` (e.g. ``EV.dask_parallel.DaskParallel``), ``keep_best`` and ``max_step``."""

    def __init__(self, population_size=20, sigma=0.5, learning_rate=0.1, report_interval=10,
                 n_jobs=-1, seed=None, parallel=None, keep_best=0, max_step=MAX_EPISODE_STEPS):
        if population_size < 2:
            raise ValueError("population_size must be at least 2 (rewards are standardized)")
        self.population_size, self.sigma = int(population_size), float(sigma)
        self.learning_rate, self.report_interval = float(learning_rate), int(report_interval)
        self.n_jobs, self.parallel, self.keep_best = n_jobs, parallel, int(keep_best)
        self.max_step = max_step  # the frames of a training game
        self.seed = derived_seed() if seed is None else seed
        self.weights, self.reward_log, self.interrupted, self.best = (), [], False, None

    def train(self, epoch=100, episode_per_agent=1, render=False):
        """Evolve the weights; Ctrl-C keeps them (or the best, with ``keep_best``)."""
        env = self.make_env()
        agent = EvolutionalAgent(list(range(env.action_space.n)), seed=self.seed)
        agent.initialize(env.reset(seed=self.seed))  # the book's network, freshly initialized
        self.weights, self.reward_log, self.interrupted, self.best = agent.weights, [], False, None
        try:
            # One Parallel for all epochs: its workers stay up between epochs.
            with Parallel(self.n_jobs) if self.parallel is None else self.parallel as parallel:
                for e in tqdm(range(epoch), desc="Evolution", unit="epoch"):
                    self.update(self.play_population(parallel, e, episode_per_agent))
                    self.log()
                    if self.keep_best and (e + 1) % self.keep_best == 0:
                        rate = evaluate(self.weights, CHECK_GAMES, CHECK_SEED)  # θ itself plays
                        if self.best is None or rate > self.best[0]:
                            self.best = (rate, self.weights)  # the run ends with its best θ
        except KeyboardInterrupt:
            self.interrupted = True
            tqdm.write(f"{len(self.reward_log)} エポックで中断しました。そこまでの重みを残します "
                       "(interrupted: the agent keeps them).")
        agent.weights = self.weights if self.best is None else self.best[1]
        return agent

    @classmethod
    def make_env(cls, num_games=None, max_step=MAX_EPISODE_STEPS):
        return CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, num_games=num_games,
                               max_step=max_step)

    def play_population(self, parallel, epoch, episode_per_agent=1):
        """Play every member of one epoch; return their ``(reward, seed, sign)`` in order."""
        # All play the same games: rewards differ by weights, not luck. Mirrored pairs: members
        # 2k and 2k + 1 play θ + σε and θ − σε, and move θ by the difference of their rewards.
        run_agent = delayed(type(self).run_agent)
        return parallel(run_agent(episode_per_agent, self.weights, self.sigma, self.max_step,
                                  seed=derived_seed(self.seed, epoch, member // 2),
                                  game_seed=derived_seed(self.seed, epoch, 2**32),
                                  sign=-1 if member % 2 else 1)
                        for member in range(self.population_size))

    @classmethod
    def run_agent(cls, episode_per_agent, base_weights, sigma, max_step=MAX_EPISODE_STEPS,
                  seed=None, game_seed=None, sign=1):
        """Play θ + sign·σε, ε drawn from ``seed``: only seed and sign go back with the reward."""
        seed = derived_seed() if seed is None else seed
        theta = flatten(base_weights) + sign * sigma * make_noise(base_weights, seed)
        rewards, _, _ = play_games(unflatten(theta, base_weights), episode_per_agent,
                                   game_seed, max_step)
        return float(rewards.mean()), seed, sign

    def update(self, agent_results):
        """θ ← θ + learning_rate / (population_size · σ) · Σ_i z_i ε_i (``es_update``), where
        z_i is member i's standardized reward and ε_i its signed noise, drawn again from a seed."""
        rewards = np.array([reward for reward, _, _ in agent_results])
        noises = np.array([s * make_noise(self.weights, seed) for _, seed, s in agent_results])
        theta = es_update(flatten(self.weights), noises, rewards, self.sigma, self.learning_rate)
        self.weights = unflatten(theta, self.weights)
        self.reward_log.append(rewards)

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


def play_games(weights, num_games, game_seed, max_step=MAX_EPISODE_STEPS):
    """``(returns, caught, missed)`` of ``num_games`` games played as a batch, to their end."""
    # One worker, one core: NumPy's matrix library must not start threads of its own.
    with threadpool_limits(limits=1):
        env = EvolutionalTrainer.make_env(num_games, max_step)
        agent = EvolutionalAgent(list(range(env.action_space.n)), seed=game_seed)
        agent.initialize(np.zeros(env.observation_space.shape), weights)
        return common.play_first_episodes(env, agent.policy, game_seed, ("caught", "missed"))


def evaluate(weights, num_games=EVALUATION_GAMES, seed=EVALUATION_SEED):
    """The share of the fruit that the network ``weights`` catches over ``num_games`` games."""
    _, caught, missed = play_games(weights, num_games, seed)
    return catcher.catch_rate({"caught": caught.sum(), "missed": missed.sum()})


def play_saved(model_path, episode_count, headless, seed):
    """Let the saved agent play, in a window or into a GIF beside its file."""
    headless = common.play_headless(headless)
    env = CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT,
                          render_mode="rgb_array" if headless else "human")
    try:
        agent = EvolutionalAgent.load(env, model_path, seed=seed)
    except ValueError as error:
        common.exit_with_error(f"{model_path} cannot be played: {error}; train an agent "
                               f"with `{TRAIN_COMMAND}`")
    env.reset(seed=seed)  # seeds the games; each episode then starts where the last ended
    frames = [] if headless else None
    rewards = agent.play(env, episode_count=episode_count, render=True, frames=frames)
    env.env.close()
    if frames:  # one screen per decision: FRAME_SKIP frames apart
        common.save_gif(frames[0], Path(model_path).with_suffix(".gif"),
                        env.env.metadata["render_fps"] / FRAME_SKIP)
    return rewards


def main(argv=None, parallel=None):
    """The script; ``parallel`` (not in the book) plays the members instead of joblib."""
    parser = argparse.ArgumentParser(description="Evolution strategy on Catcher (Day6): perturb "
                                     "a small CNN policy, play the copies, move to the better.")
    add, default = parser.add_argument, " (default: %(default)s)"
    positive, number = common.positive_int, common.positive_float
    add("--play", action="store_true", help="let the newest trained agent play, not train")
    add("--model", metavar="PATH", help="with --play, the agent file (default: the newest)")
    add("--headless", action="store_true", help="with --play, no window: write a GIF")
    add("--play-episodes", type=positive, default=5, help="episodes of --play" + default)
    add("--epochs", type=positive, default=EPOCHS, help="epochs of training" + default)
    add("--population", type=positive, default=POPULATION, help="agents per epoch" + default)
    add("--episodes-per-agent", type=positive, default=EPISODES_PER_AGENT,
        help="games each agent plays per epoch, as a batch" + default)
    add("--sigma", type=number, default=SIGMA, help="scale of the weights' noise" + default)
    add("--learning-rate", type=number, default=LEARNING_RATE, help="step size" + default)
    add("--report-interval", type=positive, default=10, help="epochs between reports" + default)
    add("--eval-episodes", type=common.non_negative_int, default=EVALUATION_GAMES,
        help="games of the final catch rate, 0 for none" + default)
    add("--workers", type=positive, help="agents played at once (default: all cores)")
    add("--seed", type=common.seed_value, default=0, help="random seed" + default)
    add("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    if args.population < 2:
        parser.error(f"--population must be 2 or more, got {args.population}")

    if args.play:
        model_path = common.find_model(__file__, MODEL_FILE, model=args.model,
                                       train_command=TRAIN_COMMAND)
        return play_saved(model_path, args.play_episodes, args.headless, args.seed)

    trainer = EvolutionalTrainer(population_size=args.population, sigma=args.sigma,
                                 learning_rate=args.learning_rate,
                                 report_interval=args.report_interval, n_jobs=args.workers or -1,
                                 seed=args.seed, parallel=parallel, keep_best=CHECK_INTERVAL,
                                 max_step=TRAINING_MAX_STEPS)
    run_dir = common.new_run_dir(__file__)
    agent = trainer.train(epoch=args.epochs, episode_per_agent=args.episodes_per_agent)
    epochs, rate = len(trainer.reward_log), None
    if epochs:  # also after Ctrl-C: keep what was learned
        agent.save(run_dir / MODEL_FILE)
        common.save_runs_csv({"es": np.array(trainer.reward_log).T}, run_dir / "reward_log.csv",
                             "method", "reward")
        trainer.plot_rewards(run_dir / "reward_history.png",
                             show=not args.no_show and not trainer.interrupted)
        if args.eval_episodes and not trainer.interrupted:
            rate = evaluate(agent.weights, args.eval_episodes)
            print(f"学習したエージェントのキャッチ率: {rate:.1%} ({args.eval_episodes} ゲーム) "
                  "(catch rate of the trained agent)")
    common.finish_training(run_dir, interrupted=trainer.interrupted, epochs=epochs,
                           model=MODEL_FILE if epochs else None, catch_rate=rate)
    return trainer, agent


if __name__ == "__main__":
    # Workers find the trainer by its module name: run as a file, hand over to EV.evolution.
    from EV.evolution import main as module_main
    module_main()
