"""Day6: imitation learning with DAgger — learn from a teacher, where you yourself go.

Imitation learning replaces the reward with a teacher: the student learns to pick the
teacher's action in each state, which is supervised classification. The trap is *where* the
examples come from. A student trained only on the states the teacher visits (behaviour
cloning) has never seen the states its own small mistakes lead to, and there it is lost.
DAgger (Dataset Aggregation) fixes this: the student plays with its own policy, the teacher
says what it would have done in each state the student visited, and the student is refitted
on all the labels gathered so far.

Here the teacher is a Q-learner whose Q-function is scikit-learn's ``MLPRegressor`` (with no
hidden layer and one-hot states, a linear Q-table learned by gradient steps), and the student
is an ``MLPClassifier``, both on FrozenLakeEasy.

``python IM/dagger.py --teacher`` trains the teacher and saves it; ``python IM/dagger.py``
loads it, runs DAgger, and compares it with behaviour cloning given the same number of
teacher labels (plot: success rate against labels). What to expect on this small,
deterministic lake: one demonstration already labels every cell of the teacher's path, and a
student that follows the path exactly never leaves it, so both students succeed from the
first handful of labels. DAgger pays off where the student's own states differ from the
teacher's (larger worlds, features that generalise, a student that cannot copy exactly).

The teacher is saved with joblib (a pickle), because scikit-learn models have no other
format: load only teacher files you made yourself, as unpickling can run code.

Deviations from the book: gymnasium's API (the observer returns the book's
``(state, reward, done, info)`` with ``done = terminated or truncated``); the teacher does not
bootstrap from a terminal state (its never-trained, random Q there would leak into the
targets) and learns with a larger step size (``learning_rate_init=0.01``) so that it trains
in seconds; the teacher labels with its greedy action (the book's ε-greedy labels were wrong
one time in ten); and the student is refitted to convergence (L-BFGS) on the aggregated data
each round, as DAgger prescribes, instead of one epoch of ``partial_fit``.
"""

import argparse
import warnings

from common import atomic_path, exit_with_error, output_dir, save_figure, set_seed, show_plot

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs.frozen_lake import make_frozen_lake
from MM.dyna import success_probability, transition_table

# The student gives up after this many steps (a policy that bumps into a wall loops forever).
STEP_LIMIT = 20


class TeacherAgent:
    """A Q-learning teacher whose Q-function is an ``MLPRegressor`` trained by ``partial_fit``."""

    def __init__(self, env, epsilon=0.1):
        self.actions = list(range(env.action_space.n))
        self.epsilon = epsilon
        self.model = None

    def save(self, model_path):
        """Save the regressor with joblib (a pickle: scikit-learn has no other format)."""
        with atomic_path(model_path) as temporary:
            joblib.dump(self.model, temporary)

    @classmethod
    def load(cls, env, model_path, epsilon=0.1):
        agent = cls(env, epsilon)
        agent.model = joblib.load(model_path)
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
    def train(cls, env, episode_count=3000, gamma=0.9, initial_epsilon=1.0, final_epsilon=0.1,
              report_interval=100):
        """Q-learning with ε decaying linearly; Ctrl-C stops early and keeps what was learned."""
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
        agent.epsilon = final_epsilon
        return agent


class FrozenLakeObserver:
    """FrozenLakeEasy (or the slippery lake) seen through one-hot state vectors."""

    def __init__(self, slippery=False):
        self._env = make_frozen_lake(slippery=slippery)

    @property
    def action_space(self):
        return self._env.action_space

    @property
    def observation_space(self):
        return self._env.observation_space

    @property
    def unwrapped(self):
        return self._env.unwrapped

    def reset(self, seed=None):
        state, _ = self._env.reset(seed=seed)
        return self.transform(state)

    def render(self):
        return self._env.render()

    def step(self, action):
        """The book's 4-tuple; ``info`` keeps gymnasium's ``terminated`` and ``truncated``."""
        n_state, reward, terminated, truncated, info = self._env.step(action)
        info = dict(info, terminated=terminated, truncated=truncated)
        return self.transform(n_state), reward, terminated or truncated, info

    def transform(self, state):
        feature = np.zeros(self.observation_space.n)
        feature[state] = 1.0
        return feature

    def all_states(self):
        """The one-hot vectors of every state, row by row (for evaluating a whole policy)."""
        return np.eye(self.observation_space.n)

    def close(self):
        self._env.close()


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
        """Exact probability that this student reaches the goal (see ``MM.dyna``)."""
        actions = self.model.predict(env.all_states()).astype(int)
        q_table = np.eye(len(self.actions))[actions]
        return success_probability(env, q_table, horizon=STEP_LIMIT, transition=transition)

    def imitate(self, env, teacher, initial_step=100, train_step=200, report_interval=10,
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

        print("Start imitation.")
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


def compare_with_behaviour_cloning(env, teacher, initial_step, train_step):
    """DAgger and behaviour cloning on equal numbers of labels: ``(labels, dagger, cloning)``."""
    transition = transition_table(env)
    labels, dagger = [], []

    def record(count, student):
        labels.append(count)
        dagger.append(student.success_rate(env, transition))

    Student(env).imitate(env, teacher, initial_step, train_step, report_interval=0,
                         callback=record)
    cloning = behaviour_cloning(env, teacher, labels, transition)
    return np.array(labels), np.array(dagger), np.array(cloning)


def plot_comparison(labels, dagger, cloning, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(labels, dagger, marker="o", label="DAgger (labels on the student's states)")
    # Dashed and thinner, so that the two stay visible where they coincide.
    ax.plot(labels, cloning, marker="x", linestyle="--", linewidth=1,
            label="behaviour cloning (labels on the teacher's)")
    ax.set_xlabel("teacher labels")
    ax.set_ylabel("success rate of the student")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save_figure(fig, path)
    return fig


def teacher_success_rate(teacher, env):
    """Exact success rate of the teacher's greedy policy."""
    q_table = teacher.model.predict(env.all_states())
    return success_probability(env, q_table, horizon=STEP_LIMIT)


def teacher_path():
    """Where ``--teacher`` saves the teacher and where DAgger looks for it."""
    return output_dir(__file__) / "teacher.joblib"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Imitation learning on FrozenLakeEasy: train a teacher, then DAgger."
    )
    parser.add_argument("--teacher", action="store_true",
                        help="train the teacher (Q-learning) and save it")
    parser.add_argument("--episodes", type=int, default=3000,
                        help="teacher's training episodes (default 3000)")
    parser.add_argument("--initial-step", type=int, default=100,
                        help="episodes the teacher demonstrates before DAgger (default 100)")
    parser.add_argument("--train-step", type=int, default=200,
                        help="DAgger rounds: student episodes labelled by the teacher "
                             "(default 200)")
    parser.add_argument("--compare-initial-step", type=int, default=1,
                        help="teacher demonstrations before the DAgger vs behaviour-cloning "
                             "comparison starts (default 1, so that few labels are shown)")
    parser.add_argument("--compare-train-step", type=int, default=30,
                        help="rounds of the comparison (default 30; 0 skips it)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    for name in ("episodes", "initial_step", "compare_initial_step"):
        if getattr(args, name) < 1:
            exit_with_error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("train_step", "compare_train_step"):
        if getattr(args, name) < 0:
            exit_with_error(f"--{name.replace('_', '-')} must not be negative")

    env = FrozenLakeObserver()
    set_seed(args.seed)
    env.reset(seed=args.seed)
    path = teacher_path()

    if args.teacher:
        teacher = TeacherAgent.train(env, episode_count=args.episodes)
        teacher.save(path)
        print(f"Saved {path}")
        print(f"Teacher's success rate: {teacher_success_rate(teacher, env):.2f}")
        return teacher

    if not path.exists():
        exit_with_error(f"no teacher at {path}: train one first with "
                        "`python IM/dagger.py --teacher`")
    try:
        teacher = TeacherAgent.load(env, path)
    except Exception as error:  # a corrupt or foreign file: say so instead of a traceback
        exit_with_error(f"could not load the teacher from {path}: {error}")

    student = Student(env)
    student.imitate(env, teacher, initial_step=args.initial_step, train_step=args.train_step)
    success = student.success_rate(env)
    print(f"Student's success rate after DAgger: {success:.2f}")

    results = {"student": student, "success": success}
    if args.compare_train_step > 0:
        labels, dagger, cloning = compare_with_behaviour_cloning(
            env, teacher, args.compare_initial_step, args.compare_train_step)
        print(f"With {labels[-1]} labels: DAgger {dagger[-1]:.2f}, "
              f"behaviour cloning {cloning[-1]:.2f}")
        plot_comparison(labels, dagger, cloning, output_dir(__file__) / "dagger_vs_cloning.png",
                        "DAgger vs behaviour cloning on FrozenLakeEasy")
        show_plot(not args.no_show)
        results.update(labels=labels, dagger=dagger, cloning=cloning)
    env.close()
    return results


if __name__ == "__main__":
    main()
