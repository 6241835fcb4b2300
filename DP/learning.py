"""Day3 on Day2's maze: the book's agents of ``EL/`` learn the maze from experience.

Day2's planners were told the maze's model; the agents of Day3 are not: they walk, collect
rewards and correct their estimates episode after episode (``/learn`` shows it live). Here:

- ``LEARNERS``: the ``EL/`` agents (and Day6's Dyna-Q), unchanged, run through their own loops;
- ``maze_env``: Day2's maze as the shared gymnasium ``GridWorld`` (``envs/gridworld.py``),
  the same dynamics and rewards as ``/plan``, with a step limit (``step_limit``);
- ``EpisodeRecorder``: watches each episode (path, reward, end, visits) without changing it;
- ``MazeLearning`` and ``learn_maze``: one learner on one maze, stepwise or in one call; ε, α,
  λ and the maze itself may change between episodes (``MazeLearning.tune``, ``change_maze``);
- ``greedy_route`` and ``reference_values`` (Value Iteration's V*, which learning approaches).
"""

from collections.abc import Callable
from dataclasses import dataclass

from common import set_seed

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit

from DP.environment import TREASURE
from DP.vectorized_planner import PlanningDidNotConverge, value_iteration
from EL.actor_critic import Actor, ActorCritic, Critic
from EL.actor_critic_off_policy import OffPolicyActorCritic
from EL.monte_carlo import MonteCarloAgent
from EL.monte_carlo_off_policy import OffPolicyMonteCarloAgent
from EL.monte_carlo_on_policy import OnPolicyMonteCarloAgent
from EL.n_step_sarsa import NStepSARSAAgent
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from EL.sarsa_lambda import SARSALambdaAgent
from envs.gridworld import MDP_ACTIONS, GridWorld
from MM.dyna import DEFAULT_PLANNING_STEPS, DynaAgent

# Day2's reward on arriving at an ordinary cell (DP.environment.Environment): wandering costs.
STEP_REWARD = -0.04
# Column j of a simulator-ordered table (UP, DOWN, LEFT, RIGHT) is the book's action
# SIMULATOR_ORDER[j] (GridWorld numbers LEFT, DOWN, RIGHT, UP).
SIMULATOR_ORDER = np.argsort(MDP_ACTIONS)
# Value Iteration for the reference: the simulator's threshold and sweep cap.
REFERENCE_THRESHOLD = 0.0001
REFERENCE_SWEEPS = 1000


class LearningStopped(Exception):
    """Raised inside a learner's loop (by ``EpisodeRecorder``) to stop it at once."""


def step_limit(n_cells):
    """Steps after which an episode is cut (gymnasium's ``truncated``): 2 per cell, 100 at least.

    Enough to cross any maze the page can draw several times, even by a random walk that
    has to find the way; small enough that one episode stays a few milliseconds.
    """
    return max(100, 2 * n_cells)


def maze_env(grid, prob=0.8, rewards=None):
    """The Day2 maze as a gymnasium environment: ``GridWorld`` with a step limit."""
    world = GridWorld(grid, move_prob=prob, default_reward=STEP_REWARD, rewards=rewards)
    return TimeLimit(world, max_episode_steps=step_limit(world.mdp.n_states))


# ---------------------------------------------------------------------- the learners


class Dial:
    """The learning rate α as the book's loops read it, turnable while a loop runs.

    A loop takes α once, as an argument, and then only multiplies by it (``learning_rate *
    td``). The page may change α between two episodes of a running learner: a Dial is a
    number whose ``value`` can be set, and whatever is multiplied by it is multiplied by the
    value of the moment. (NumPy is told to let the Dial do the multiplying.)
    """

    __array_ufunc__ = None

    def __init__(self, value):
        self.value = float(value)

    def __mul__(self, other):
        return self.value * other

    __rmul__ = __mul__

    def __float__(self):
        return self.value

    def __repr__(self):
        return f"Dial({self.value})"


@dataclass(frozen=True)
class Learner:
    """One agent the page offers.

    ``make(settings)`` builds a fresh agent and returns ``(learn, table, values, knobs)``:
    ``learn(env, episodes, gamma, learning_rate)`` runs the agent's own loop;
    ``table()`` is its table indexed ``[s][a]`` (Q, or the Actor's preferences), ``None``
    before it exists; ``values()`` is what it believes each state is worth (max_a Q(s, a),
    or the Critic's V(s)); ``knobs`` is the object whose attributes ``epsilon`` (and
    ``lambda_``) the loop reads at every step. The defaults are those of the agent's script.
    ``lambda_`` and ``planning_steps`` are the defaults of the learners that have them.
    """

    title: str
    file: str
    make: Callable
    uses_epsilon: bool = True
    uses_learning_rate: bool = True
    episodes: int = 500
    epsilon: float = 0.1
    # True when ``table`` holds the Actor's preferences (the page colours π(a|s) instead).
    preferences: bool = False
    lambda_: float = None
    planning_steps: int = None


def _table_or_none(table):
    # An ELAgent starts with Q = {} (the book's empty dict); learn() makes it an array.
    return table if isinstance(table, np.ndarray) else None


def agent_learner(agent_class, learning_rate=True):
    """``make`` for an ``ELAgent``: its ``learn`` loop, its Q table, max_a Q."""
    def make(settings):
        options = {} if settings.lambda_ is None else {"lambda_": settings.lambda_}
        agent = agent_class(epsilon=settings.epsilon, **options)

        def learn(env, episodes, gamma, rate):
            options = {"learning_rate": rate} if learning_rate else {}
            # report_interval = episodes: the book's periodic line never prints; the page
            # shows every episode's reward instead.
            agent.learn(env, episode_count=episodes, gamma=gamma, report_interval=episodes,
                        **options)

        def values():
            table = _table_or_none(agent.Q)
            return None if table is None else table.max(axis=1)

        return learn, lambda: _table_or_none(agent.Q), values, agent
    return make


def actor_critic_learner(trainer_class, epsilon=False):
    """``make`` for an Actor-Critic: its ``train`` loop, the Actor's preferences, the Critic's V."""
    def make(settings):
        options = {"epsilon": settings.epsilon} if epsilon else {}
        trainer = trainer_class(Actor, Critic, **options)

        def learn(env, episodes, gamma, rate):
            trainer.train(env, episode_count=episodes, gamma=gamma, learning_rate=rate,
                          report_interval=episodes)

        # train() creates the Actor and the Critic; before that there is nothing to show.
        def table():
            return trainer.actor.Q if hasattr(trainer, "actor") else None

        def values():
            return trainer.critic.V if hasattr(trainer, "critic") else None

        return learn, table, values, trainer
    return make


def dyna_learner(settings):
    """``make`` for Day6's Dyna-Q: Q-learning plus ``planning_steps`` steps in its model."""
    agent = DynaAgent(epsilon=settings.epsilon)
    n_states = None

    def learn(env, episodes, gamma, rate):
        nonlocal n_states
        n_states = env.observation_space.n
        agent.learn(env, episode_count=episodes, gamma=gamma, learning_rate=rate,
                    steps_in_model=settings.planning_steps, report_interval=0)

    def table():
        return None if agent.value is None else agent.q_table(n_states)

    def values():
        q = table()
        return None if q is None else q.max(axis=1)

    return learn, table, values, agent


# The book's four first, then the Day3 extensions of EL/ and Day6's Dyna-Q.
LEARNERS = {
    "monte_carlo": Learner("Monte Carlo（モンテカルロ法）", "EL/monte_carlo.py",
                           agent_learner(MonteCarloAgent, learning_rate=False),
                           uses_learning_rate=False),
    "q_learning": Learner("Q-learning（Q 学習）", "EL/q_learning.py",
                          agent_learner(QLearningAgent)),
    "sarsa": Learner("SARSA", "EL/sarsa.py", agent_learner(SARSAAgent)),
    "actor_critic": Learner("Actor-Critic", "EL/actor_critic.py",
                            actor_critic_learner(ActorCritic), uses_epsilon=False,
                            episodes=3000, preferences=True),
    "n_step_sarsa": Learner("n-step SARSA (n = 4)", "EL/n_step_sarsa.py",
                            agent_learner(NStepSARSAAgent)),
    "sarsa_lambda": Learner("SARSA(λ)", "EL/sarsa_lambda.py",
                            agent_learner(SARSALambdaAgent), lambda_=0.8),
    "monte_carlo_on_policy": Learner("On-policy Monte Carlo", "EL/monte_carlo_on_policy.py",
                                     agent_learner(OnPolicyMonteCarloAgent, learning_rate=False),
                                     uses_learning_rate=False),
    "monte_carlo_off_policy": Learner("Off-policy Monte Carlo", "EL/monte_carlo_off_policy.py",
                                      agent_learner(OffPolicyMonteCarloAgent,
                                                    learning_rate=False),
                                      uses_learning_rate=False),
    "actor_critic_off_policy": Learner("Off-policy Actor-Critic", "EL/actor_critic_off_policy.py",
                                       actor_critic_learner(OffPolicyActorCritic, epsilon=True),
                                       episodes=3000, epsilon=0.3, preferences=True),
    # 500 episodes, not the script's 3000 (its lake is larger): the same as Q-learning's, so
    # that the two compare side by side.
    "dyna": Learner("Dyna-Q（モデルで計画 Day6）", "MM/dyna.py", dyna_learner,
                    planning_steps=DEFAULT_PLANNING_STEPS),
}


@dataclass(frozen=True)
class LearningSettings:
    """Everything one learning run depends on (validated by ``DP/learning_socket.py``).

    ``lambda_`` and ``planning_steps``: ``None`` gives the learner's default (only SARSA(λ)
    has a λ, only Dyna-Q planning steps).
    """

    learner: str
    grid: list
    prob: float = 0.8
    gamma: float = 0.9
    rewards: list = None  # the reward on arrival at each cell; None: the defaults by kind
    epsilon: float = 0.1
    learning_rate: float = 0.1
    episodes: int = 500
    seed: int = 0
    lambda_: float = None
    planning_steps: int = None

    def __post_init__(self):
        learner = LEARNERS[self.learner]
        if self.lambda_ is None and learner.lambda_ is not None:
            object.__setattr__(self, "lambda_", learner.lambda_)
        if self.planning_steps is None and learner.planning_steps is not None:
            object.__setattr__(self, "planning_steps", learner.planning_steps)


# ---------------------------------------------------------------------- watching


@dataclass(frozen=True)
class Episode:
    """One finished episode: ``path`` is every state from the start, ``end`` how it ended:
    ``"treasure"``, ``"danger"`` or ``"limit"`` (cut by the step limit)."""

    number: int
    path: list
    reward: float
    end: str

    @property
    def steps(self):
        return len(self.path) - 1


class EpisodeRecorder(gym.Wrapper):
    """Watch a learner's episodes without changing them.

    ``on_episode(episode, more)`` is called when an episode is over and the learner has
    finished learning from it: at the next ``reset`` (``more`` is True; Monte Carlo, for one,
    learns only after its last step) or when ``finish()`` is called after the learner's loop
    (``more`` is False). Setting ``stopping`` makes the next step raise ``LearningStopped``.
    """

    def __init__(self, env, on_episode=None):
        super().__init__(env)
        self.on_episode = on_episode
        self.kinds = env.unwrapped.mdp.grid.ravel()
        self.visits = np.zeros(env.unwrapped.mdp.n_states, dtype=int)
        self.episodes = 0
        self.stopping = False
        self._path = None
        self._reward = 0.0
        self._end = "limit"

    def reset(self, **kwargs):
        self._report(more=True)
        observation, info = self.env.reset(**kwargs)
        self._path = [observation]
        self._reward = 0.0
        self._end = "limit"
        self.visits[observation] += 1
        return observation, info

    def step(self, action):
        if self.stopping:
            raise LearningStopped
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._path.append(observation)
        self._reward += reward
        self.visits[observation] += 1
        if terminated:
            kind = self.kinds[observation]
            self._end = "treasure" if kind == TREASURE else "danger"
        return observation, reward, terminated, truncated, info

    def finish(self):
        """Report the last episode (no reset follows it)."""
        self._report(more=False)

    def swap(self, env):
        """Go on in ``env``, a maze of the same size: call it between two episodes. The agent
        keeps its table and meets the new maze at its next reset."""
        self.env = env
        self.kinds = env.unwrapped.mdp.grid.ravel()

    def _report(self, more):
        if self._path is None:
            return
        self.episodes += 1
        episode = Episode(self.episodes, self._path, self._reward, self._end)
        self._path = None
        if self.on_episode is not None:
            self.on_episode(episode, more)


# ---------------------------------------------------------------------- one learner, one maze


class MazeLearning:
    """One learner of ``LEARNERS`` on one maze, set up by ``LearningSettings``.

    The environment's own generator (the slips) is seeded here, with a reset that is not an
    episode of the learner (it happens before the recorder is put around it).

    Changes while it learns (call them between two episodes, from ``on_episode`` for one):
    ``tune`` sets ε, α or λ, which the agent's loop reads at every step, and ``change_maze``
    puts the agent in another maze of the same size (other rewards, cells or move
    probability) with everything it has learned: it meets the new maze at its next episode.

    Actions: the agents act with ``GridWorld``'s numbers (the book's LEFT, DOWN, RIGHT, UP). What
    this module hands out (``snapshot``) is in the simulator's order, UP, DOWN, LEFT, RIGHT, the
    order of ``/plan``'s ``q_values``.

    Random numbers: the agents draw from Python's ``random`` module (ε-greedy choices, ties) and
    the Actor's first preferences from NumPy's global generator. The maze's slips come from the
    environment's own generator, which ``MazeLearning`` seeds. ``learn_maze`` seeds the two
    global ones; the live session gives every learner a state of its own (see there).
    """

    def __init__(self, settings, on_episode=None):
        self.settings = settings
        self.learner = LEARNERS[settings.learner]
        env = maze_env(settings.grid, settings.prob, settings.rewards)
        env.action_space.seed(settings.seed)
        env.reset(seed=settings.seed)
        self.mdp = env.unwrapped.mdp
        self.recorder = EpisodeRecorder(env, on_episode)
        self._learn, self._table, self._values, self._knobs = self.learner.make(settings)
        self.learning_rate = Dial(settings.learning_rate)

    def run(self):
        """Play and learn every episode (the agent's own loop); return when it is done."""
        s = self.settings
        self._learn(self.recorder, s.episodes, s.gamma, self.learning_rate)
        self.recorder.finish()

    def tune(self, epsilon=None, learning_rate=None, lambda_=None):
        """Set ε, α or λ (``None``: leave it) for the episodes still to come."""
        if epsilon is not None:
            self._knobs.epsilon = epsilon
        if learning_rate is not None:
            self.learning_rate.value = learning_rate
        if lambda_ is not None:
            self._knobs.lambda_ = lambda_

    def change_maze(self, grid, prob, rewards=None):
        """Go on learning in another maze of the same size (see the class docstring)."""
        old = self.recorder.env
        env = maze_env(grid, prob, rewards)
        if env.unwrapped.mdp.n_states != self.mdp.n_states:
            raise ValueError("the new maze must have the size of the old one")
        # The slips go on from the same generator, so a run stays reproducible.
        env.unwrapped.np_random = old.unwrapped.np_random
        env.unwrapped.action_space = old.unwrapped.action_space
        self.mdp = env.unwrapped.mdp
        self.recorder.swap(env)

    def snapshot(self):
        """Copies of what the learner knows now, in the simulator's action order.

        ``table`` (S, 4) and ``values`` (S,) are ``None`` before the learner has made them.
        """
        table = self._table()
        values = self._values()
        return {
            "table": None if table is None else np.array(table, dtype=float)[:, SIMULATOR_ORDER],
            "values": None if values is None else np.array(values, dtype=float),
            "visits": self.recorder.visits.copy(),
        }


def learn_maze(settings):
    """Run one learner to the end in one call; return ``(learning, episodes)``.

    Seeds Python's and NumPy's generators with ``settings.seed`` (``common.set_seed``), so
    the same settings learn the same table. ``episodes`` lists every ``Episode``.
    """
    set_seed(settings.seed)
    episodes = []
    learning = MazeLearning(settings, on_episode=lambda episode, more: episodes.append(episode))
    learning.run()
    return learning, episodes


# ---------------------------------------------------------------------- reading a table


def greedy_route(table, mdp):
    """The cells the greedy policy visits from the start if every move goes where it is meant.

    ``table`` is (S, 4) in the simulator's action order; of tied actions the first is taken.
    The route stops at a cell where the episode ends, or when it comes back to a cell it has
    seen (the greedy policy then goes round in circles). Returns the list of states.
    """
    state = (mdp.n_rows - 1) * mdp.n_columns  # the start: the lower-left cell
    route, seen = [state], {state}
    while not mdp.terminal[state]:
        action = int(np.argmax(table[state]))
        state = int(mdp.next_state[state, action, 0])  # outcome 0 is the intended move
        route.append(state)
        if state in seen:
            break
        seen.add(state)
    return route


def reaches_treasure(route, mdp):
    return mdp.grid.ravel()[route[-1]] == TREASURE


def reference_values(mdp, gamma):
    """V*(s) by Value Iteration on the same maze (what the model would have told the agent).

    ``None`` when Value Iteration does not converge within the simulator's cap (γ = 1 on a
    maze where some cell can never end its episode, for instance).
    """
    try:
        V, _ = value_iteration(mdp, gamma, REFERENCE_THRESHOLD, REFERENCE_SWEEPS)
    except PlanningDidNotConverge:
        return None
    return V
