"""Day5: the framework that every function-approximation agent of the book is built on.

As in the book: ``Experience``, ``FNAgent``, ``Trainer`` (the loop and its hooks),
``Observer`` and ``Logger``; then the command line that all FN scripts share.

Changes from the book (doc/day5.md says more):
- gymnasium's ``terminated``/``truncated``: ``Experience.d`` is ``terminated`` only;
- the loop logs to TensorBoard, evaluates the greedy policy every ``interval`` steps, keeps
  the best weights, bounds a run with ``max_steps``, and stops cleanly on Ctrl-C.
"""

import argparse
import contextlib
import inspect
import re
from collections import deque, namedtuple
from pathlib import Path

import common

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv
from tqdm import tqdm

from envs.catcher import evaluate_catch_rate

Experience = namedtuple("Experience", ["s", "a", "r", "n_s", "d"])


def stack_experiences(experiences):
    """A list of ``Experience`` as one ``Experience`` of arrays; a sampled batch passes as is."""
    if isinstance(experiences, Experience):
        return experiences
    s, a, r, n_s, d = zip(*experiences)
    return Experience(np.array(s, np.float32), np.array(a), np.array(r, np.float32),
                      np.array(n_s, np.float32), np.array(d, np.float32))


class FNAgent:
    """An agent whose value or policy is a function (a network) instead of a table."""

    def __init__(self, epsilon, actions):
        self.epsilon = epsilon
        self.actions = actions
        self.model = None
        self.estimate_probs = False
        self.initialized = False
        self.forward = None  # the fast forward pass that acting uses (FN/fast_forward.py)

    def save(self, model_path):
        """Save the model as ``.keras``, atomically: an interrupted save leaves no broken file."""
        if Path(model_path).suffix != ".keras":
            raise ValueError(f"Keras models are saved as .keras files, not {model_path}")
        with common.atomic_path(model_path) as temporary:
            self.model.save(temporary)
        return Path(model_path)

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001, *, train_command=None):
        agent = cls(epsilon=epsilon, actions=list(range(env.action_space.n)))
        return agent.load_model(env, model_path, train_command)

    def load_model(self, env, model_path, train_command=None):
        """A missing or damaged file, or one for other states, ends the script in a sentence."""
        train_command = train_command or f"python {type(self).__module__.replace('.', '/')}.py"
        self.model = common.load_keras_model(model_path, train_command, compile=False)
        given = tuple(self.model.input_shape[1:])
        if given != tuple(env.observation_space.shape):
            common.exit_with_error(f"{model_path} was trained on states of shape {given}, but "
                                   f"this environment's states have shape "
                                   f"{env.observation_space.shape}; train a model for it with "
                                   f"`{train_command}`")
        self.initialized = True
        self.refresh_forward()
        return self

    def refresh_forward(self):
        """Hook: rebuild the fast forward pass after ``self.model`` changed."""

    def initialize(self, experiences):  # build the model from the first experiences
        raise NotImplementedError("FNAgent subclasses must implement initialize(experiences)")

    def estimate(self, s):  # the action values (or probabilities) in the state s
        raise NotImplementedError("FNAgent subclasses must implement estimate(s)")

    def update(self, experiences, gamma):  # train the model on a batch of experiences
        raise NotImplementedError("FNAgent subclasses must implement update(experiences, gamma)")

    def policy(self, s):
        # ε-greedy: the best action, or a draw from the probabilities with estimate_probs
        if np.random.random() < self.epsilon or not self.initialized:
            return np.random.randint(len(self.actions))
        estimates = self.estimate(s)
        if self.estimate_probs:
            return int(np.random.choice(len(self.actions), p=estimates))
        return int(np.argmax(estimates))

    def greedy_actions(self, states):  # no exploration: what the evaluations play
        return np.array([int(np.argmax(self.estimate(s))) for s in states])

    def play(self, env, episode_count=5, render=True, *, greedy=False, frames=None):
        """The rewards of episodes played by ``policy`` (or the best action, ``greedy``)."""
        rewards = []
        for _ in range(episode_count):
            s = env.reset()
            done = False
            episode_reward = 0.0
            while not done:
                frame = env.render() if render else None
                if frames is not None and frame is not None:
                    frames.append(frame)
                a = self.greedy_actions(np.asarray(s)[None])[0] if greedy else self.policy(s)
                s, reward, done, _ = env.step(a)
                episode_reward += float(reward)
            print(f"Get reward {episode_reward:.4g}.")
            rewards.append(episode_reward)
        return rewards


class Trainer:
    """Runs episodes, stores experiences and calls the hooks each algorithm fills in:
    ``episode_begin``; ``step`` after every step (``begin_train`` once, when training starts:
    the buffer full, ``initial_count`` episodes or ``initial_steps`` steps); ``episode_end``."""

    def __init__(self, buffer_size=1024, batch_size=32, gamma=0.9, report_interval=10,
                 log_dir=""):
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.gamma = gamma
        self.report_interval = report_interval
        self.logger = Logger(log_dir or common.new_run_dir(inspect.getfile(type(self))),
                             self.trainer_name)
        self.experiences = None  # made by train_loop (make_buffer), for the env's states
        self.evaluation = None
        self.reset_state()

    @property
    def trainer_name(self):  # deep_q_network for DeepQNetworkTrainer
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower().replace("_trainer", "")

    def make_buffer(self, env):
        return deque(maxlen=self.buffer_size)

    def reset_state(self, env=None):
        if env is not None:
            self.experiences = self.make_buffer(env)
        self.training = False
        self.training_count = 0
        self.total_steps = 0
        self.reward_log = []
        self.interrupted = False
        if self.evaluation is not None:
            self.evaluation.reset()

    def evaluate_if_due(self, agent):
        if self.evaluation is not None:
            self.evaluation(agent, self.total_steps, self.logger)

    def should_stop(self, max_steps):
        reached = self.evaluation is not None and self.evaluation.solved_at is not None
        return reached or bool(max_steps and self.total_steps >= max_steps)

    def start_training(self, episode, agent):
        self.begin_train(episode, agent)
        self.training = True

    def record_episode(self, episode, step_count, reward):
        self.reward_log.append(float(reward))
        self.logger.write(self.total_steps, "charts/episodic_return", float(reward))
        self.logger.write(self.total_steps, "charts/episodic_length", step_count)

    @contextlib.contextmanager
    def session(self, agent, total, unit):
        """A progress bar; at the end, also on Ctrl-C: the best weights back, the logs out."""
        bar = tqdm(total=total, desc=f"{self.trainer_name} 学習中 (training)", unit=unit,
                   dynamic_ncols=True, leave=False)
        try:
            yield bar
        except KeyboardInterrupt:
            self.interrupted = True
            tqdm.write(f"ステップ {self.total_steps} で中断しました。学んだところまでを残します "
                       "(interrupted: keeping what has been learned).")
        finally:
            bar.close()
            if self.evaluation is not None:
                self.evaluation.restore_best(agent)
            self.logger.flush()

    def train_loop(self, env, agent, episode=200, initial_count=-1, render=False,
                   observe_interval=0, initial_steps=-1, max_steps=None):
        """Up to ``episode`` episodes, ``max_steps`` steps; each ``observe_interval``-th
        training episode's states go to TensorBoard."""
        self.reset_state(env)
        frames = []
        with self.session(agent, total=episode, unit="episode") as bar:
            for i in range(episode):
                s = env.reset()
                done = False
                step_count = 0
                episode_reward = 0.0
                self.episode_begin(i, agent)
                while not done:
                    if render:
                        env.render()
                    if self.training and self.is_observed(observe_interval):
                        frames.append(s)
                    a = agent.policy(s)
                    n_state, reward, done, info = env.step(a)
                    # done ends the episode either way, but only a real termination makes
                    # n_state terminal: a time limit must keep bootstrapping.
                    e = Experience(s, a, reward, n_state, info["terminated"])
                    self.experiences.append(e)
                    self.total_steps += 1
                    episode_reward += float(reward)
                    if not self.training and (len(self.experiences) == self.buffer_size
                                              or 0 < initial_steps <= self.total_steps):
                        self.start_training(i, agent)
                    self.step(i, step_count, agent, e)
                    s = n_state
                    step_count += 1
                    self.evaluate_if_due(agent)
                    if self.should_stop(max_steps):
                        break
                if not done:
                    break  # stopped in the middle of an episode: it is not recorded
                self.record_episode(i, step_count, episode_reward)
                self.episode_end(i, step_count, agent)
                bar.set_postfix(reward=f"{np.mean(self.reward_log[-self.report_interval:]):.1f}",
                                steps=self.total_steps, refresh=False)
                bar.update(1)
                if not self.training and 0 < initial_count <= i:
                    self.start_training(i, agent)
                if self.training:
                    if frames:
                        self.logger.write_image(self.training_count, map(self.to_image, frames))
                        frames = []
                    self.training_count += 1
                if self.should_stop(max_steps):
                    break

    def is_observed(self, interval):
        return interval > 0 and (self.training_count == 1 or self.training_count % interval == 0)

    def to_image(self, state):  # the newest frame of a (height, width, frames) stack
        return np.asarray(state)[..., -1] if np.ndim(state) == 3 else np.asarray(state)

    def episode_begin(self, episode, agent):
        """Hook: an episode starts."""

    def begin_train(self, episode, agent):
        """Hook: training starts (typically: build the agent's model from the buffer)."""

    def step(self, episode, step_count, agent, experience):
        """Hook: one step was played and stored (typically: update the agent)."""

    def episode_end(self, episode, step_count, agent):
        """Hook: an episode ended (its reward is already in ``reward_log``)."""

    def is_event(self, count, interval):
        return count != 0 and interval > 0 and count % interval == 0

    def get_recent(self, count):
        """The last ``count`` experiences of the buffer, oldest first."""
        recent = range(max(0, len(self.experiences) - count), len(self.experiences))
        return [self.experiences[i] for i in recent]

    def report(self, episode):
        if self.is_event(episode, self.report_interval):
            self.logger.describe("reward", self.reward_log[-self.report_interval:],
                                 episode=episode)

    def finish(self, agent, file_name, show=True):
        """The end of a run, also after Ctrl-C (``finish_training`` then exits with 130): save
        the agent, plot the rewards, mark the run; the model's path (None: no model yet)."""
        path = agent.save(self.logger.path_of(file_name)) if agent.initialized else None
        print(f"Saved {path}" if path else "モデルを作る前に学習が止まったので、保存するものは"
              "ありません (nothing to save).")
        if self.reward_log:
            self.logger.plot("Rewards", self.reward_log, self.report_interval,
                             show=show and not self.interrupted)
        print(f"TensorBoard のログ (logs): {self.logger.tensorboard_dir}")
        results = self.evaluation.results if self.evaluation else []
        steps, best = max(results, key=lambda item: item[1]) if results else (None, None)
        if results:
            print(f"最良の評価 (best evaluation): {best:.4g} ({self.evaluation.episode_count} "
                  f"エピソード、ステップ {steps})。全部で {self.total_steps} ステップ。")
        common.finish_training(self.logger.log_dir, self.interrupted,
                               model=file_name if path else None, steps=self.total_steps,
                               episodes=len(self.reward_log), best_evaluation=best)
        return path


def evaluate(agent, env, episode_count=20, seed=None):
    """Returns of ``episode_count`` greedy episodes: rounds of the vector environment ``env``."""
    n = env.num_envs
    if not env.is_vector or episode_count % n:
        raise ValueError(f"episode_count {episode_count} is not a multiple of a batch's {n} envs")
    seeds = [None if seed is None else seed + i for i in range(episode_count // n)]
    return np.concatenate([common.play_first_episodes(env, agent.greedy_actions, round_seed)[0]
                           for round_seed in seeds])


def catch_rate_score(agent, env, episode_count, seed):
    """Catcher's evaluation score: the share of the fruit that the greedy policy catches."""
    return evaluate_catch_rate(agent.greedy_actions, env, episode_count, seed)[0]


class PeriodicEvaluation:
    """Every ``interval`` steps, score the greedy policy on ``env`` by ``metric(agent, env,
    episode_count, seed)`` (the mean return by default) into ``results``; stop at ``target``;
    ``restore_best``: a run that later degrades keeps its best weights (``keep_best``)."""

    def __init__(self, env, interval, episode_count=20, target=None, keep_best=True,
                 seed=10_000, metric=None, metric_name="return"):
        self.env, self.interval, self.episode_count = env, int(interval), episode_count
        self.target, self.keep_best, self.seed = target, keep_best, seed
        self.metric = metric or (lambda agent, env, n, seed: np.mean(evaluate(agent, env, n,
                                                                              seed)))
        self.metric_name = metric_name
        self.reset()

    def reset(self):
        self.next_at = self.interval
        self.best, self.best_weights, self.solved_at = -np.inf, None, None
        self.results = []

    def __call__(self, agent, steps, logger):
        """Evaluate when ``steps`` has passed the next due point; return the score or None."""
        if steps < self.next_at or not agent.initialized:
            return None
        self.next_at += self.interval * ((steps - self.next_at) // self.interval + 1)
        score = float(self.metric(agent, self.env, self.episode_count,
                                  self.seed + len(self.results) * self.episode_count))
        self.results.append((steps, score))
        logger.write(steps, f"charts/eval_{self.metric_name}", score)
        if score > self.best:
            tqdm.write(f"ステップ {steps}: 評価 {score:.4g} (最良 / best so far)")
            self.best = score
            self.best_weights = agent.model.get_weights() if self.keep_best else None
        if self.target is not None and score >= self.target and self.solved_at is None:
            self.solved_at = steps
            tqdm.write(f"ステップ {steps} で評価が {score:.4g} になり、目標 {self.target} に"
                       "達したので学習を終えます (target reached: training stops).")
        return score

    def restore_best(self, agent):
        if self.best_weights is not None:
            agent.model.set_weights(self.best_weights)
            agent.refresh_forward()
            tqdm.write(f"最良の評価 ({self.best:.4g}) の重みを残しました (kept the best weights).")


class Observer:
    """Between a gymnasium environment (or a vector of them: batches) and an agent: ``reset``
    gives the book's ``state``, ``step`` ``(state, reward, done, info)``; ``transform``."""

    def __init__(self, env):
        self._env = env
        self.is_vector = isinstance(env, VectorEnv)
        self.num_envs = env.num_envs if self.is_vector else 1

    @property
    def env(self):
        return self._env

    @property
    def action_space(self):
        return self._env.single_action_space if self.is_vector else self._env.action_space

    @property
    def observation_space(self):
        return (self._env.single_observation_space if self.is_vector
                else self._env.observation_space)

    def reset(self, seed=None):
        state, _ = self._env.reset(seed=seed)
        return self.transform(state)

    def render(self):
        # With render_mode="human" gymnasium draws every step by itself.
        if getattr(self._env, "render_mode", None) in (None, "human"):
            return None
        return self._env.render()

    def step(self, action):
        n_state, reward, terminated, truncated, info = self._env.step(action)
        # The classic trap: done ends the episode either way, but only `terminated` means
        # that n_state has no future. A truncated episode (time limit) must still bootstrap.
        done = np.logical_or(terminated, truncated) if self.is_vector else terminated or truncated
        info = dict(info, terminated=terminated, truncated=truncated)
        return self.transform(n_state), reward, done, info

    def transform(self, state):  # an observation as the agent's state
        raise NotImplementedError("Observer subclasses must implement transform(state)")

    def close(self):
        self._env.close()


class CartPoleObserver(Observer):
    """CartPole's observation is the state: position, velocity, angle, angular velocity."""

    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


def make_cartpole(num_envs=None, render_mode=None):
    """CartPole-v1 as the agents see it; ``num_envs`` gives a batch, stepped in NumPy."""
    if num_envs is None:
        return CartPoleObserver(gym.make("CartPole-v1", render_mode=render_mode))
    return CartPoleObserver(gym.make_vec("CartPole-v1", num_envs=num_envs,
                                         vectorization_mode="vector_entry_point",
                                         render_mode=render_mode))


class Logger:
    """Where a trainer writes: summaries, TensorBoard events (``log_dir/dir_name``), plots."""

    def __init__(self, log_dir="", dir_name=""):
        self.log_dir = Path(log_dir) if log_dir else common.output_dir(__file__)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tensorboard_dir = self.log_dir / dir_name if dir_name else self.log_dir
        self._writer = self._scalars = None  # made on first use: no empty event files

    @property
    def writer(self):  # TensorFlow's summary writer, for the model's text and the images
        if self._writer is None:
            import tensorflow as tf  # here: the Observer and the framework need no TensorFlow

            self._writer = tf.summary.create_file_writer(str(self.tensorboard_dir))
        return self._writer

    def set_model(self, model):
        """The book's ``set_model``: the network's layers, in TensorBoard's TEXT tab."""
        import tensorflow as tf

        rows = [f"| {layer.name} | {type(layer).__name__} | {layer.count_params():,} |"
                for layer in model.layers]
        table = [f"**{model.name}**\n", "| layer | type | weights |", "| --- | --- | --- |"]
        with self.writer.as_default():
            tf.summary.text("model", "\n".join(table + rows), 0)

    def path_of(self, file_name):
        return self.log_dir / file_name

    def describe(self, name, values, episode=-1, step=-1):
        desc = f"{name} is {np.round(np.mean(values), 3)} (+/-{np.round(np.std(values), 3)})"
        if episode > 0:
            tqdm.write(f"At episode {episode}, {desc}")
        elif step > 0:
            tqdm.write(f"At step {step}, {desc}")
        return desc

    def plot(self, name, values, interval=10, show=True):
        """The book's plot of every ``interval`` values' mean (± std): ``<name>_history.png``."""
        stem = re.sub(r"\W+", "_", name.lower())
        common.save_runs_csv({stem: [values]}, self.path_of(f"{stem}_history.csv"), "history",
                             "value")
        x, groups = common.reward_groups(values, interval)
        label = f"{interval} エピソードごとの平均 (mean of every {interval} episodes)"
        return common.plot_reward_history(groups, self.path_of(f"{stem}_history.png"), x=x,
                                          label=label, show=show)

    def write(self, index, name, value):
        """A TensorBoard scalar ``name`` (e.g. ``losses/td_loss``) at step ``index``."""
        if self._scalars is None:  # TensorBoard's own writer: no TensorFlow op per scalar
            from tensorboard.summary import DirectoryOutput, Writer

            self._scalars = Writer(DirectoryOutput(str(self.tensorboard_dir)))
        self._scalars.add_scalar(str(name), float(value), int(index))

    def write_image(self, index, frames, name="frames", max_outputs=16):
        """TensorBoard images of ``frames``: (N, H, W) or (N, H, W, C), in [0, 1]."""
        import tensorflow as tf

        frames = np.asarray(list(frames), dtype=np.float32)
        with self.writer.as_default():
            tf.summary.image(name, frames.reshape(*frames.shape[:3], -1), index,
                             max_outputs=max_outputs)

    def flush(self):
        for writer in (self._scalars, self._writer):
            if writer is not None:
                writer.flush()


def make_parser(description, episodes, mode_steps=None):
    """Every FN script's command line; ``mode_steps`` (Catcher's, CartPole's) adds DQN's and
    A2C's ``--test``, ``--steps`` and ``--headless``."""
    parser = argparse.ArgumentParser(description=description)
    add, positive = parser.add_argument, common.positive_int
    add("--play", action="store_true", help="watch the newest trained model (or --model) play")
    add("--model", type=Path, metavar="PATH", help="with --play: this model file instead")
    add("--seed", type=common.seed_value, default=0, help="random seed, 0 to 2**32 - 1 (default 0)")
    add("--episodes", type=positive, default=episodes, help=f"episodes (default {episodes})")
    add("--render", action="store_true", help="draw the environment in a window while training")
    add("--no-show", action="store_true", help="save the reward plot without opening a window")
    if mode_steps is not None:
        add("--test", action="store_true", help="train (or --play) the small MLP on CartPole-v1")
        add("--steps", type=positive, help=f"at most this many environment steps (default "
            f"{mode_steps[0]:,} on Catcher, {mode_steps[1]:,} with --test)")
        add("--headless", action="store_true", help="with --play on Catcher: write a GIF instead")
    return parser


def watch_render_mode(render=True):
    """``"human"`` to draw in a window; None without ``render`` or a display (no pacing)."""
    return "human" if render and common.display_available() else None


def play(args, script_file, agent_class, make_env, kind="", suffix=".keras", greedy=False,
         episode_count=5, gif=False):
    """``--play``: the newest run's agent of this script and mode (``kind``), or ``--model``,
    plays on ``make_env(render_mode=...)``; with ``gif``, headless, into a GIF (returned)."""
    stem, test = Path(script_file).stem, "_test" if kind == "cartpole" else ""
    command = f"python FN/{stem}.py" + (" --test" if test else "")
    path = common.find_model(script_file, f"{stem}{test}{suffix}", model=args.model, kind=kind,
                             train_command=command)
    print(f"{path} をプレイします (playing)" + ("。評価と同じく、各状態で最も確率の高い行動を"
                                              "選びます (greedy)" if greedy else ""))
    headless = gif and common.play_headless(args.headless)
    env = make_env(render_mode="rgb_array" if headless else watch_render_mode())
    common.set_seed(args.seed, env.env)
    agent = agent_class.load(env, path, train_command=command)
    frames = [] if headless else None
    rewards = agent.play(env, 1 if headless else episode_count, render=True, greedy=greedy,
                         frames=frames)
    env.close()
    gif_path = common.output_dir(script_file) / f"{stem}_play.gif"
    return common.save_gif(frames[:900], gif_path) if headless else rewards


def prepare_run(trainer, env, seed=0, evaluation_env=None, evaluation=None, metric=None,
                metric_name="return"):
    """Seed ``env`` and, with ``evaluation`` (``interval``, ``episode_count``, ``target``),
    evaluate on ``evaluation_env`` with seeds that training never uses; ``(trainer, env)``."""
    common.set_seed(seed, env.env)
    if evaluation is not None:
        trainer.evaluation = PeriodicEvaluation(evaluation_env, **evaluation, metric=metric,
                                                seed=seed * 100_000 + 10_000,
                                                metric_name=metric_name)
    return trainer, env
