"""Day6: imitation learning with DAgger — learn from a teacher, where you yourself go.

Imitation learning replaces the reward with a teacher: the student learns to pick the
teacher's action in each state, which is supervised classification. The trap is *where* the
examples come from. A student trained only on the states of the teacher's demonstrations
(behaviour cloning) has never been shown the states its own way of acting leads to, and there
it is lost. DAgger (Dataset Aggregation) fixes this: the student plays with its own policy,
the teacher says what it would have done in each state the student visited, and the student
is refitted on all the labels gathered so far.

Here the teacher is a Q-learner whose Q-function is scikit-learn's ``MLPRegressor`` (with no
hidden layer and one-hot states, a linear Q-table learned by gradient steps), and the student
is an ``MLPClassifier``.

``python IM/dagger.py --teacher`` trains the teacher and saves it in a run folder;
``python IM/dagger.py`` loads the newest one (or ``--teacher-model FILE``) and compares DAgger
with behaviour cloning over several seeds: the success rate of each student against the
number of teacher labels it was given, with bands (figure and ``comparison.csv``). It prints
the largest gap between the two.

Where this differs from the book, and why:

- The lake is the slippery FrozenLake, not FrozenLakeEasy. On the deterministic lake the
  teacher's path is one fixed line: six labels teach it to anyone, and DAgger and behaviour
  cloning both succeed from the first point, so there is nothing to see. On the ice the
  student is pushed off the line and must know what to do wherever it lands.
- The teacher demonstrates as it explores, ε-greedy with ε = DEMO_EPSILON = 0.7 (the book's
  demonstrations are ε-greedy too, with 0.1), and labels every state with its greedy action
  (the book's labels were the ε-greedy actions themselves, wrong one time in ten). Such
  wandering demonstrations mostly end in a hole near the start and seldom reach the far side
  of the lake, where a student that acts well ends up; labels on the student's own states
  (DAgger) cover it. Measured with 15 seeds and the teacher that ``--teacher`` trains
  (it succeeds 71% of the time): with 150 labels DAgger's students succeed 57% of the time,
  cloned ones 34% (+0.23); with 300 and 400 labels both do as well as the teacher. With
  ε = 0.1, 0.3 and 0.5 the largest gaps were 0.0, +0.11 and +0.19: the closer the
  demonstrations come to where the student goes, the less DAgger adds.
  Be warned that the effect is small and fragile on a lake this small. Before 100 labels
  DAgger is behind: its first students, taught by one demonstration, wander near the start,
  and the labels of their own states repeat. With a teacher planned exactly (Q* by value
  iteration, as in the tests) DAgger was 0.3 to 0.4 behind at 40 to 100 labels and only
  +0.07 ahead at 150 and 200 (10 seeds). On FrozenLakeEasy, with greedy demonstrations on the
  ice, with a student whose moves slip, and on a mildly slippery 8x8 lake, no setting gave a
  gap of 0.2: a one-hot student copies every state it was shown exactly, and where it was
  shown nothing its most common action is seldom a bad one here.
- The teacher plans further ahead (γ = 0.99, not 0.9): on the ice the way to the goal is long
  and careful, and with γ = 0.9 Q-learning does not find it.
- The comparison is measured over seeds, with the exact success probability of each student
  (``envs.frozen_lake.success_probability``), not a few noisy test episodes.
- The teacher is saved with skops (``skops.io``), which, unlike a pickle, runs no code on
  loading, and is loaded with an explicit list of trusted types. A file that is missing,
  damaged, or not a teacher gets one sentence and exit status 2.
- gymnasium's API (the observer returns the book's ``(state, reward, done, info)``); the
  teacher does not bootstrap where an episode *terminated*, but does where it was only
  truncated by the time limit; the student is refitted to convergence (L-BFGS) on the
  aggregated data each round, as DAgger prescribes, instead of one epoch of ``partial_fit``.
"""

import argparse
import csv
import warnings

from common import (
    atomic_path,
    exit_with_error,
    find_model,
    finish_run,
    new_run_dir,
    non_negative_int,
    positive_int,
    probability,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np
import skops.io
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs.frozen_lake import make_frozen_lake, success_probability, transition_table
from FN.observer import Observer

# The world of the comparison (see the docstring for why it is the slippery lake).
SLIPPERY = True
# Steps before an episode of the teacher or the student is cut off: the lake's own time limit.
STEP_LIMIT = 100
# The teacher explores this often while it demonstrates (its labels are always greedy).
DEMO_EPSILON = 0.7
TEACHER_GAMMA = 0.99
# Label counts at which the two students are compared.
LABEL_COUNTS = (10, 20, 40, 60, 80, 100, 150, 200, 300, 400)
TEACHER_FILE = "teacher.skops"
TRAIN_TEACHER = "python IM/dagger.py --teacher"
# The only type in a saved MLPRegressor that skops does not trust by itself: its optimizer.
TRUSTED_TYPES = ["sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]


class TeacherAgent:
    """A Q-learning teacher whose Q-function is an ``MLPRegressor`` trained by ``partial_fit``."""

    def __init__(self, env, epsilon=0.1):
        self.actions = list(range(env.action_space.n))
        self.n_states = env.observation_space.n
        self.epsilon = epsilon
        self.model = None
        self.interrupted = False

    def save(self, model_path):
        """Save the regressor with skops, which stores arrays and settings, not code."""
        with atomic_path(model_path) as temporary:
            skops.io.dump(self.model, temporary)

    @classmethod
    def load(cls, env, model_path, epsilon=0.1):
        """Load a teacher saved by ``save``; a file that is not one raises ``ValueError``.

        Only the types a teacher is made of are trusted; a file that holds anything else is
        refused before any of it is built.
        """
        agent = cls(env, epsilon)
        try:
            model = skops.io.load(model_path, trusted=TRUSTED_TYPES)
        except Exception as error:  # a damaged zip, a foreign file, an untrusted type: all one
            problem = f"it cannot be read as a skops file ({type(error).__name__})"
            raise ValueError(problem) from None
        if not isinstance(model, MLPRegressor) or not hasattr(model, "coefs_"):
            raise ValueError(f"it holds a {type(model).__name__}, not a trained teacher")
        if model.n_features_in_ != agent.n_states or model.coefs_[-1].shape[1] != len(
                agent.actions):
            raise ValueError(f"it is a teacher for {model.n_features_in_} states, not for "
                             f"this lake's {agent.n_states}")
        agent.model = model
        return agent

    def initialize(self, state):
        # No hidden layer: with one-hot states this is a Q-table learned by gradient steps.
        self.model = MLPRegressor(hidden_layer_sizes=(), max_iter=1, learning_rate_init=0.01)
        # partial_fit once so that predict works; the target is only a warm-up.
        self.model.partial_fit([state], [np.zeros(len(self.actions))])
        return self

    def estimate(self, state):
        return self.model.predict([state])[0]

    def act(self, state):
        """The teacher's own choice: the greedy action. This is the label it gives."""
        return int(np.argmax(self.estimate(state)))

    def policy(self, state):
        if np.random.random() < self.epsilon:
            return np.random.randint(len(self.actions))
        return self.act(state)

    @classmethod
    def train(cls, env, episode_count=3000, gamma=TEACHER_GAMMA, initial_epsilon=1.0,
              final_epsilon=0.1, report_interval=100):
        """Q-learning with ε decaying linearly; Ctrl-C stops early and keeps what was learned.

        After Ctrl-C the returned agent has ``interrupted`` set.
        """
        agent = cls(env, initial_epsilon).initialize(env.reset())
        rewards = []
        decay = (initial_epsilon - final_epsilon) / episode_count
        try:
            for e in tqdm(range(episode_count), desc="Teacher", disable=episode_count < 500):
                s = env.reset()
                done = False
                goal_reward = 0.0
                while not done:
                    a = agent.policy(s)
                    n_state, reward, done, info = env.step(a)
                    # One predict for both states: Q(s, ·) to edit, Q(s', ·) to bootstrap.
                    estimated, next_values = agent.model.predict([s, n_state])
                    # Only a terminated episode has no future; a truncated one (time limit)
                    # stopped in a state that still has one, so it bootstraps.
                    gain = reward if info["terminated"] else reward + gamma * next_values.max()
                    # Only the taken action's target changes; the others stay as predicted.
                    estimated[a] = gain
                    agent.model.partial_fit([s], [estimated])
                    s = n_state
                    goal_reward = reward
                rewards.append(goal_reward)
                if report_interval and e != 0 and e % report_interval == 0:
                    recent = np.array(rewards[-report_interval:])
                    tqdm.write(f"At episode {e}, reward is {recent.mean():.3f} "
                               f"(+/- {recent.std():.3f})")
                agent.epsilon -= decay
        except KeyboardInterrupt:
            print(f"Interrupted after {len(rewards)} episodes: keeping what was learned.")
            agent.interrupted = True
        agent.epsilon = final_epsilon
        return agent


class FrozenLakeObserver(Observer):
    """FrozenLakeEasy (or the slippery lake) seen through one-hot state vectors.

    The FN ``Observer`` (Day5, ``FN/observer.py``) does the rest: ``reset`` returns the state,
    and ``step`` the book's 4-tuple, with gymnasium's ``terminated`` and ``truncated`` in
    ``info``. It needs no TensorFlow.
    """

    def __init__(self, slippery=False):
        super().__init__(make_frozen_lake(slippery=slippery))

    def transform(self, state):
        feature = np.zeros(self.observation_space.n)
        feature[state] = 1.0
        return feature

    def all_states(self):
        """The one-hot vectors of every state, row by row (for evaluating a whole policy)."""
        return np.eye(self.observation_space.n)


class Student:
    """The imitator: an ``MLPClassifier`` from a one-hot state to the teacher's action."""

    def __init__(self, env):
        self.actions = list(range(env.action_space.n))
        self.model = None

    def initialize(self, state):
        # No hidden layer, as the book: a softmax over actions (multinomial logistic regression).
        self.model = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=500)
        return self

    def fit(self, states, actions):
        """Refit on all the labels. Call it inside ``single_threaded_blas()`` when repeated."""
        with warnings.catch_warnings():
            # A state with a single, always-the-same label makes the optimum lie at infinity.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(np.asarray(states), np.asarray(actions))

    def policy(self, state):
        return int(self.model.predict([state])[0])

    def success_rate(self, env, transition=None):
        """Exact probability that this student reaches the goal within ``STEP_LIMIT`` steps."""
        actions = self.model.predict(env.all_states()).astype(int)
        q_table = np.eye(len(self.actions))[actions]
        return success_probability(env.env, q_table, horizon=STEP_LIMIT, transition=transition)

    def imitate(self, env, teacher, initial_step=1, train_step=40, report_interval=10,
                callback=None):
        """DAgger. Returns the reward of each of the student's episodes.

        First the teacher plays ``initial_step`` episodes and labels the states it visits.
        Then, ``train_step`` times: the student plays one episode with its own policy, the
        teacher labels every state the student visited, and the student is refitted on all
        the labels so far. ``callback(label_count, student)`` runs after each fit.
        """
        with single_threaded_blas():
            return self._imitate(env, teacher, initial_step, train_step, report_interval,
                                 callback)

    def _imitate(self, env, teacher, initial_step, train_step, report_interval, callback):
        states, actions = demonstrate(env, teacher, initial_step)
        self.initialize(states[0])
        self.fit(states, actions)
        if callback is not None:
            callback(len(actions), self)

        rewards = []
        for e in range(train_step):
            s = env.reset()
            done = False
            goal_reward = 0.0
            for _ in range(STEP_LIMIT):
                # The student drives; the teacher only says what it would have done here.
                a = self.policy(s)
                n_state, reward, done, _ = env.step(a)
                states.append(s)
                actions.append(teacher.act(s))
                s = n_state
                goal_reward = reward
                if done:
                    break
            rewards.append(goal_reward)
            self.fit(states, actions)
            if callback is not None:
                callback(len(actions), self)
            if report_interval and e != 0 and e % report_interval == 0:
                recent = np.array(rewards[-report_interval:])
                print(f"At episode {e}, reward is {recent.mean():.3f} (+/- {recent.std():.3f})")
        return rewards


def single_threaded_blas():
    """Keep BLAS to one thread while the student is refitted again and again.

    The L-BFGS fit of this small model makes many tiny BLAS calls; with several BLAS threads
    each call pays for waking them up, which on a busy CPU makes a fit some 30 times slower.
    """
    return threadpool_limits(limits=1, user_api="blas")


def demonstrate(env, teacher, episode_count):
    """The teacher plays (ε-greedy) and labels each visited state with its greedy action."""
    states, actions = [], []
    for _ in range(episode_count):
        s = env.reset()
        done = False
        for _ in range(STEP_LIMIT):
            a = teacher.policy(s)
            n_state, _, done, _ = env.step(a)
            states.append(s)
            actions.append(teacher.act(s))
            s = n_state
            if done:
                break
    return states, actions


def behaviour_cloning(env, teacher, label_counts, transition=None):
    """Success rate of a student fitted on the first N teacher-visited labels, for each N."""
    label_counts = list(label_counts)
    states, actions = [], []
    rates = []
    student = Student(env)
    with single_threaded_blas():
        for count in label_counts:
            while len(actions) < count:
                more_states, more_actions = demonstrate(env, teacher, 1)
                states += more_states
                actions += more_actions
            student.initialize(states[0])
            student.fit(states[:count], actions[:count])
            rates.append(student.success_rate(env, transition))
    return rates


def compare_with_behaviour_cloning(env, teacher, seed, label_counts=LABEL_COUNTS,
                                   initial_step=1, train_step=40):
    """One seed of the comparison: ``{"dagger": rates, "bc": rates}`` at ``label_counts``.

    DAgger's rate at N labels is that of its student after the last refit with at most N
    labels (``nan`` before its first fit, or when its rounds never reached N labels).
    Behaviour cloning's is that of a student fitted on the teacher's first N labels.
    """
    transition = transition_table(env.env)
    fits = []

    def record(count, student):
        fits.append((count, student.success_rate(env, transition)))

    set_seed(seed)
    env.reset(seed=seed)
    Student(env).imitate(env, teacher, initial_step, train_step, report_interval=0,
                         callback=record)
    counts = np.array([count for count, _ in fits])
    dagger = [fits[np.flatnonzero(counts <= n)[-1]][1] if counts[0] <= n <= counts[-1]
              else np.nan for n in label_counts]
    cloning = behaviour_cloning(env, teacher, label_counts, transition)
    return {"dagger": np.array(dagger), "bc": np.array(cloning)}


def compare(env, teacher, seeds, label_counts=LABEL_COUNTS, initial_step=1, train_step=40):
    """Every seed of the comparison: ``{"dagger": (seeds, N), "bc": (seeds, N)}``."""
    runs = [compare_with_behaviour_cloning(env, teacher, seed, label_counts, initial_step,
                                           train_step)
            for seed in tqdm(seeds, desc="DAgger vs behaviour cloning")]
    return {method: np.array([run[method] for run in runs]) for method in ("dagger", "bc")}


def gaps(results):
    """Mean DAgger success minus mean cloning success at each label count (nan where unknown)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a label count no seed reached
        return np.nanmean(results["dagger"], axis=0) - np.nanmean(results["bc"], axis=0)


def save_comparison(results, label_counts, seeds, path):
    """``comparison.csv``: one row per method, label count and seed (method dagger or bc)."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["method", "labels", "seed", "success"])
            for method in ("dagger", "bc"):
                for row, seed in zip(results[method], seeds):
                    for labels, success in zip(label_counts, row):
                        if not np.isnan(success):
                            writer.writerow([method, labels, seed, f"{success:.6f}"])
    print(f"Saved {path}")
    return path


def plot_comparison(results, label_counts, teacher_rate, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    labels = np.asarray(label_counts)
    styles = {"dagger": ("DAgger (生徒が自分で訪れた状態に教師がラベル付け)", "o", "-"),
              "bc": ("行動クローニング (教師のデモの状態だけ, behaviour cloning)", "x", "--")}
    for method, (label, marker, linestyle) in styles.items():
        rates = results[method]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(rates, axis=0), np.nanstd(rates, axis=0)
        line, = ax.plot(labels, mean, marker=marker, linestyle=linestyle, label=label)
        ax.fill_between(labels, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                        color=line.get_color(), alpha=0.2)
    ax.axhline(teacher_rate, color="grey", linestyle=":", label="教師 (the teacher)")
    ax.set_xscale("log")
    ax.set_xlabel("生徒に与えた教師のラベルの数 (teacher labels, 対数目盛)")
    ax.set_ylabel("生徒がゴールする確率 (success rate)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{title} ({results['dagger'].shape[0]} シードの平均 ± 標準偏差)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    save_figure(fig, path)
    return fig


def teacher_success_rate(teacher, env):
    """Exact success rate of the teacher's greedy policy."""
    q_table = teacher.model.predict(env.all_states())
    return success_probability(env.env, q_table, horizon=STEP_LIMIT)


def load_teacher(env, model):
    """The teacher of ``--teacher-model``, or of the newest ``--teacher`` run; exit 2 if none."""
    path = find_model(__file__, TEACHER_FILE, model=model, kind="teacher",
                      train_command=TRAIN_TEACHER)
    try:
        return TeacherAgent.load(env, path, epsilon=DEMO_EPSILON), path
    except ValueError as error:
        exit_with_error(f"{path} is not a teacher this script can use: {error}; train one "
                        f"with `{TRAIN_TEACHER}`")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Imitation learning on the slippery FrozenLake: train a teacher, then "
                    "compare DAgger with behaviour cloning."
    )
    parser.add_argument("--teacher", action="store_true",
                        help="train the teacher (Q-learning) and save it in a new run folder")
    parser.add_argument("--episodes", type=positive_int, default=3000,
                        help="teacher's training episodes (default 3000)")
    parser.add_argument("--teacher-model", metavar="FILE",
                        help=f"the teacher to imitate (default: {TEACHER_FILE} of the newest "
                             "--teacher run)")
    parser.add_argument("--initial-step", type=positive_int, default=1,
                        help="episodes the teacher demonstrates before DAgger's rounds "
                             "(default 1; the book's 100 would leave nothing to compare)")
    parser.add_argument("--train-step", type=non_negative_int, default=40,
                        help="DAgger rounds: student episodes labelled by the teacher "
                             "(default 40)")
    parser.add_argument("--seeds", type=positive_int, default=15,
                        help="seeds of the comparison (default 15; a gap measured on fewer "
                             "is noisy)")
    parser.add_argument("--demo-epsilon", type=probability, default=DEMO_EPSILON,
                        help="how often the teacher explores while it demonstrates "
                             f"(default {DEMO_EPSILON})")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed (the first seed of the comparison; default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    if args.seed + args.seeds - 1 > 2**32 - 1:
        exit_with_error("--seed plus --seeds must stay below 2**32")

    env = FrozenLakeObserver(slippery=SLIPPERY)
    if args.teacher:
        return train_teacher(env, args)

    teacher, path = load_teacher(env, args.teacher_model)
    teacher.epsilon = args.demo_epsilon
    teacher_rate = teacher_success_rate(teacher, env)
    print(f"Teacher {path}: success rate {teacher_rate:.2f}")
    seeds = list(range(args.seed, args.seed + args.seeds))
    results = compare(env, teacher, seeds, LABEL_COUNTS, args.initial_step, args.train_step)
    env.close()

    gap = gaps(results)
    known = np.flatnonzero(~np.isnan(gap))
    best = known[np.argmax(gap[known])]
    last = known[-1]
    print(f"Largest gap: DAgger {np.nanmean(results['dagger'][:, best]):.2f} vs behaviour "
          f"cloning {np.nanmean(results['bc'][:, best]):.2f} with {LABEL_COUNTS[best]} labels "
          f"(gap {gap[best]:+.2f})")
    print(f"With {LABEL_COUNTS[last]} labels: DAgger "
          f"{np.nanmean(results['dagger'][:, last]):.2f}, behaviour cloning "
          f"{np.nanmean(results['bc'][:, last]):.2f} (gap {gap[last]:+.2f})")
    run_dir = new_run_dir(__file__, kind="student")
    save_comparison(results, LABEL_COUNTS, seeds, run_dir / "comparison.csv")
    plot_comparison(results, LABEL_COUNTS, teacher_rate, run_dir / "dagger_vs_cloning.png",
                    "滑る FrozenLake での DAgger と行動クローニング")
    finish_run(run_dir, teacher=str(path), largest_gap=float(gap[best]),
               labels_at_largest_gap=LABEL_COUNTS[best], gap_at_most_labels=float(gap[last]))
    show_plot(not args.no_show)
    return {"labels": np.array(LABEL_COUNTS), "seeds": seeds, **results, "gap": gap}


def train_teacher(env, args):
    """``--teacher``: Q-learning, then the teacher is saved in a run folder of its own."""
    set_seed(args.seed)
    env.reset(seed=args.seed)
    run_dir = new_run_dir(__file__, kind="teacher")
    teacher = TeacherAgent.train(env, episode_count=args.episodes)
    path = run_dir / TEACHER_FILE
    teacher.save(path)
    print(f"Saved {path}")
    rate = teacher_success_rate(teacher, env)
    print(f"Teacher's success rate: {rate:.2f}")
    finish_run(run_dir, interrupted=teacher.interrupted, success_rate=rate)
    env.close()
    return teacher


if __name__ == "__main__":
    main()
