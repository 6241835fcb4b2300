"""Day6: imitation learning with DAgger — learn from a teacher, where you yourself go.

The student learns the teacher's action in each state: supervised classification. Taught only
on the teacher's own walks (behaviour cloning), it has never seen the states its own mistakes
lead to. DAgger lets the student play, has the teacher label every state the student visited,
and refits the student on all the labels so far (``Student.imitate``).

Run: ``python IM/dagger.py --teacher`` trains the teacher (Q-learning) and saves it;
``python IM/dagger.py`` (small: ``--train-step 5``) loads the newest one and lets a student
imitate it with DAgger. ``IM/dagger_vs_cloning.py`` compares DAgger with behaviour cloning.

Changes from the book (doc/day6_im_mm.md): the slippery lake; the teacher plans further (γ =
0.99) with decaying SGD steps, demonstrates with ε = 0.7, labels greedily and each state once
per episode; exact success rates; skops, not pickle; the student is refitted (L-BFGS) each round.
"""

import argparse
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
    seed_value,
    set_seed,
)

import numpy as np
import skops.io
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from envs.frozen_lake import make_frozen_lake, success_probability

# The slippery lake: on FrozenLakeEasy six labels teach anyone (see doc/day6_im_mm.md).
SLIPPERY = True
# Steps before an episode of the teacher or the student is cut off: the lake's own time limit.
STEP_LIMIT = 100
# The teacher explores this often while it demonstrates (its labels are always greedy).
DEMO_EPSILON = 0.7
TEACHER_GAMMA = 0.99
TEACHER_FILE = "teacher.skops"
TRAIN_TEACHER = "python IM/dagger.py --teacher"
# The only types in a saved MLPRegressor that skops does not trust by itself: its optimizer
# (SGD; Adam in teachers saved before).
TRUSTED_TYPES = ["sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
                 "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]


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
        # Plain SGD steps that shrink as 1/t^0.25, as tabular Q-learning's step size should:
        # Adam's steps keep their size while the errors shrink, and the Q-values went on
        # jittering by more than the gaps between actions (3 teachers in 5 walked at 0.22).
        self.model = MLPRegressor(hidden_layer_sizes=(), max_iter=1, solver="sgd",
                                  learning_rate="invscaling", learning_rate_init=0.5,
                                  power_t=0.25, momentum=0.0)
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


class FrozenLakeObserver:
    """The lake seen through one-hot state vectors, with the book's gym API over gymnasium's.

    ``reset`` returns the state and ``step`` the 4-tuple ``(state, reward, done, info)``, with
    gymnasium's ``terminated`` and ``truncated`` kept in ``info``.
    """

    def __init__(self, slippery=False):
        self.env = make_frozen_lake(slippery=slippery)

    @property
    def action_space(self):
        return self.env.action_space

    @property
    def observation_space(self):
        return self.env.observation_space

    def reset(self, seed=None):
        state, _ = self.env.reset(seed=seed)
        return self.transform(state)

    def render(self):
        # Without a render mode (the default) gymnasium has nothing to draw.
        return self.env.render() if self.env.render_mode else None

    def step(self, action):
        n_state, reward, terminated, truncated, info = self.env.step(action)
        # Trap: done ends the episode either way, but only ``terminated`` means that n_state
        # has no future. An episode cut by the time limit (truncated) must still bootstrap.
        info = dict(info, terminated=terminated, truncated=truncated)
        return self.transform(n_state), reward, bool(terminated or truncated), info

    def transform(self, state):
        feature = np.zeros(self.observation_space.n)
        feature[state] = 1.0
        return feature

    def all_states(self):
        """The one-hot vectors of every state, row by row (for evaluating a whole policy)."""
        return np.eye(self.observation_space.n)

    def close(self):
        self.env.close()


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
        # Refits come one after another: one BLAS thread each (see single_threaded_blas).
        with single_threaded_blas():
            # The teacher demonstrates first, labelling the states it visits.
            states, actions = demonstrate(env, teacher, initial_step)
            self.initialize(states[0])
            self.fit(states, actions)
            if callback is not None:
                callback(len(actions), self)

            rewards = []
            for e in range(train_step):
                # The student drives, and the teacher says what it would have done in every
                # state the student visits: labels where the student's own mistakes lead.
                rewards.append(play_and_label(env, self, teacher, states, actions))
                self.fit(states, actions)
                if callback is not None:
                    callback(len(actions), self)
                if report_interval and e != 0 and e % report_interval == 0:
                    recent = np.array(rewards[-report_interval:])
                    print(f"At episode {e}, reward is {recent.mean():.3f} "
                          f"(+/- {recent.std():.3f})")
            return rewards


def single_threaded_blas():
    """Keep BLAS to one thread while the student is refitted again and again.

    The L-BFGS fit of this small model makes many tiny BLAS calls; with several BLAS threads
    each call pays for waking them up, which on a busy CPU makes a fit some 30 times slower.
    """
    return threadpool_limits(limits=1, user_api="blas")


def play_and_label(env, player, teacher, states, actions):
    """One episode acted by ``player``'s policy; each state it visits is appended to ``states``
    once, and the teacher's greedy action there to ``actions``. Returns the last reward."""
    s = env.reset()
    asked = set()
    for _ in range(STEP_LIMIT):
        n_state, reward, done, _ = env.step(player.policy(s))
        # The teacher is asked once per state and episode. A student that walks in circles
        # on the ice would otherwise buy the same label up to 100 times in one episode.
        if s.tobytes() not in asked:
            asked.add(s.tobytes())
            states.append(s)
            actions.append(teacher.act(s))
        s = n_state
        if done:
            break
    return reward


def demonstrate(env, teacher, episode_count):
    """The teacher plays (ε-greedy) and labels each visited state with its greedy action."""
    states, actions = [], []
    for _ in range(episode_count):
        play_and_label(env, teacher, teacher, states, actions)
    return states, actions


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
        description="Imitation learning on the slippery FrozenLake: train a teacher, then let "
                    "a student imitate it with DAgger."
    )
    parser.add_argument("--teacher", action="store_true",
                        help="train the teacher (Q-learning) and save it in a new run folder")
    parser.add_argument("--episodes", type=positive_int, default=3000,
                        help="teacher's training episodes (default 3000)")
    add_imitation_arguments(parser)
    args = parser.parse_args(argv)

    env = FrozenLakeObserver(slippery=SLIPPERY)
    if args.teacher:
        return train_teacher(env, args)
    teacher, path = load_teacher(env, args.teacher_model)
    teacher.epsilon = args.demo_epsilon
    print(f"Teacher {path}: success rate {teacher_success_rate(teacher, env):.2f}")
    set_seed(args.seed)
    env.reset(seed=args.seed)
    student = Student(env)
    rewards = student.imitate(env, teacher, args.initial_step, args.train_step)
    print(f"Student after {args.train_step} DAgger rounds: goal in {np.mean(rewards or [0]):.2f} "
          f"of its episodes, success rate {student.success_rate(env):.2f}")
    print("DAgger against behaviour cloning: python IM/dagger_vs_cloning.py")
    env.close()
    return student


def add_imitation_arguments(parser):
    """The options of a student's imitation, shared with ``IM/dagger_vs_cloning.py``."""
    parser.add_argument("--teacher-model", metavar="FILE",
                        help=f"the teacher to imitate (default: {TEACHER_FILE} of the newest "
                             "--teacher run)")
    parser.add_argument("--initial-step", type=positive_int, default=1,
                        help="episodes the teacher demonstrates before DAgger's rounds "
                             "(default 1; the book's 100 would leave nothing to compare)")
    parser.add_argument("--train-step", type=non_negative_int, default=40,
                        help="DAgger rounds: student episodes labelled by the teacher "
                             "(default 40)")
    parser.add_argument("--demo-epsilon", type=probability, default=DEMO_EPSILON,
                        help="how often the teacher explores while it demonstrates "
                             f"(default {DEMO_EPSILON})")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")


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
