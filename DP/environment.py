"""Day2: the maze as a Markov Decision Process (MDP).

An MDP is a set of states, a set of actions, a transition function T(s'|s, a) and a reward
function R(s'). Here the states are the cells of a grid, the actions are the four moves, the
transition is "go where you meant with probability ``move_prob``, slip sideways otherwise", and
the reward is earned on arriving at a cell.

Grid cells:

    0   ordinary cell (reward ``default_reward`` = -0.04 on arrival: wandering costs a little)
    1   treasure: +1 and the episode ends
   -1   danger:   -1 and the episode ends
    9   block: cannot be entered; bumping into it (or into the edge) leaves the agent in place

Those rewards are the defaults. ``rewards`` (a grid of numbers of the maze's shape, checked by
``validate_rewards``) sets the reward on arrival at any cell instead, as the web simulator
lets a learner do; the values given for blocks are ignored, as no one ever arrives there.

The dynamics live in one place, ``GridMDP``: it turns a grid into NumPy arrays (for every
state and action, the possible next states and their probabilities). The book's dict-based
``Environment.transit_func`` reads those arrays, the planners in ``DP/planner.py`` sweep them
in one vectorized expression, and the web simulator and the gymnasium ``GridWorld`` in ``envs/``
reuse them.
"""

from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import sparse

TREASURE, DANGER, BLOCK, ORDINARY = 1, -1, 9, 0
CELL_VALUES = (ORDINARY, TREASURE, DANGER, BLOCK)
# A reward on arrival is a number from -REWARD_LIMIT to REWARD_LIMIT.
REWARD_LIMIT = 10


@dataclass(frozen=True, order=True)
class State:
    """A cell of the maze. Frozen, so it can be a dict key; ordered by (row, column)."""

    row: int = -1
    column: int = -1

    def __repr__(self):
        return f"<State: [{self.row}, {self.column}]>"

    def clone(self):
        return State(self.row, self.column)


class Action(Enum):
    """The book's encoding: opposite moves have opposite signs (UP = -DOWN)."""

    UP = 1
    DOWN = -1
    LEFT = 2
    RIGHT = -2


ACTIONS = list(Action)
# (row, column) offset of each action, in the order of ``ACTIONS``.
MOVES = {Action.UP: (-1, 0), Action.DOWN: (1, 0), Action.LEFT: (0, -1), Action.RIGHT: (0, 1)}


def validate_grid(grid, move_prob=0.8):
    """Check a maze and return it as an integer NumPy array; raise ``ValueError`` if invalid.

    Invalid: anything but a list of rows of cells, an empty or non-rectangular grid, a cell
    value outside {0, 1, -1, 9}, a blocked start cell (the lower-left one, where the agent
    starts), or a ``move_prob`` that is not a number in [0, 1].
    """
    # bool is an int in Python, but ``"prob": true`` in a maze file is a mistake, not 1.0.
    if (isinstance(move_prob, bool) or not isinstance(move_prob, (int, float))
            or not 0.0 <= move_prob <= 1.0):
        raise ValueError(f"move_prob must be a number in [0, 1], got {move_prob!r}")
    if isinstance(grid, np.ndarray):
        grid = grid.tolist()
    if not isinstance(grid, (list, tuple)) or not all(isinstance(row, (list, tuple))
                                                      for row in grid):
        raise ValueError("the grid must be a list of rows, each a list of cells")
    rows = [list(row) for row in grid]
    if not rows or not rows[0]:
        raise ValueError("the grid must have at least one row and one column")
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"the grid must be rectangular: row 0 has {width} cells, row {index} has {len(row)}"
            )
        for cell in row:
            if isinstance(cell, bool) or cell not in CELL_VALUES:
                raise ValueError(
                    f"unknown cell value {cell!r}: use 0 (ordinary), 1 (treasure), "
                    "-1 (danger) or 9 (block)"
                )
    array = np.array(rows, dtype=int)
    if array[-1, 0] == BLOCK:
        raise ValueError("the start cell (lower left) must not be a block")
    return array


def validate_rewards(rewards, shape):
    """Check a grid of rewards on arrival for a maze of ``shape`` and return it as a float array.

    Raise ``ValueError`` unless it is a list of rows of the maze's shape whose every entry is a
    finite number from -REWARD_LIMIT to REWARD_LIMIT (true and false are not numbers here).
    """
    n_rows, n_columns = shape
    if not isinstance(rewards, (list, tuple)) or not all(isinstance(row, (list, tuple))
                                                         for row in rewards):
        raise ValueError("the rewards must be a list of rows, each a list of numbers")
    if len(rewards) != n_rows or any(len(row) != n_columns for row in rewards):
        raise ValueError(f"the rewards must have the grid's shape, {n_rows} rows of "
                         f"{n_columns} numbers")
    for row in rewards:
        for reward in row:
            # A comparison is False for NaN and refuses infinity and integers too large to be
            # floats, before float() could overflow.
            if (isinstance(reward, bool) or not isinstance(reward, (int, float))
                    or not -REWARD_LIMIT <= reward <= REWARD_LIMIT):
                raise ValueError(f"every reward must be a number from {-REWARD_LIMIT} to "
                                 f"{REWARD_LIMIT}, got {reward!r}")
    return np.array(rewards, dtype=float)


class GridMDP:
    """The maze's dynamics as arrays: the single source of truth for every grid world.

    States are numbered ``row * n_columns + column``. For each state ``s`` and action index
    ``a`` (in the order UP, DOWN, LEFT, RIGHT) there are up to three outcomes ``k``: the
    intended move and the two perpendicular slips (the opposite move has probability 0).

    - ``next_state[s, a, k]``: the cell reached (int array, shape (S, 4, 3));
    - ``prob[s, a, k]``: its probability; all zero where the episode has ended
      (treasure, danger) and for blocks, which are not states;
    - ``reward[s']``: the reward for arriving at ``s'`` (shape (S,));
    - ``terminal`` and ``blocked``: boolean masks of shape (S,).

    Because a bump leaves the agent in place, two outcomes can share a next state; sums over
    ``k`` handle that naturally.
    """

    def __init__(self, grid, move_prob=0.8, default_reward=-0.04, rewards=None):
        self.grid = validate_grid(grid, move_prob)
        self.move_prob = float(move_prob)
        self.default_reward = float(default_reward)
        self.n_rows, self.n_columns = self.grid.shape
        self.n_states = self.grid.size
        cells = self.grid.ravel()
        self.blocked = cells == BLOCK
        self.terminal = (cells == TREASURE) | (cells == DANGER)
        self.reward = np.where(self.terminal, cells, self.default_reward).astype(float)
        if rewards is not None:
            given = validate_rewards(rewards, self.grid.shape).ravel()
            self.reward = np.where(self.blocked, self.reward, given)
        self.next_state, self.prob = self._build_transitions()
        # The same table as a sparse (S*4, S) matrix: row s*4 + a holds T(.|s, a). One sparse
        # matrix-vector product then backs up every state and action at once.
        self.transition_matrix = sparse.csr_matrix(
            (self.prob.ravel(), (np.repeat(np.arange(self.n_states * len(ACTIONS)), 3),
                                 self.next_state.ravel())),
            shape=(self.n_states * len(ACTIONS), self.n_states),
        )

    def _build_transitions(self):
        rows, columns = np.divmod(np.arange(self.n_states), self.n_columns)
        landing = np.empty((self.n_states, len(ACTIONS)), dtype=int)
        for a, action in enumerate(ACTIONS):
            d_row, d_column = MOVES[action]
            new_rows = np.clip(rows + d_row, 0, self.n_rows - 1)
            new_columns = np.clip(columns + d_column, 0, self.n_columns - 1)
            target = new_rows * self.n_columns + new_columns
            # A block cannot be entered: the agent stays where it was.
            landing[:, a] = np.where(self.blocked[target], np.arange(self.n_states), target)

        slip = (1.0 - self.move_prob) / 2
        next_state = np.empty((self.n_states, len(ACTIONS), 3), dtype=int)
        prob = np.empty((self.n_states, len(ACTIONS), 3))
        for a, action in enumerate(ACTIONS):
            sideways = [b for b, other in enumerate(ACTIONS)
                        if abs(other.value) != abs(action.value)]
            next_state[:, a] = landing[:, [a, *sideways]]
            prob[:, a] = (self.move_prob, slip, slip)
        # Nothing happens after the end of an episode, and blocks are not states at all.
        prob[self.terminal | self.blocked] = 0.0
        return next_state, prob

    def index(self, state):
        return state.row * self.n_columns + state.column

    def state(self, index):
        return State(*divmod(int(index), self.n_columns))

    def action_values(self, V, gamma, reward=None):
        """Q[s, a] = Σ_s' T(s'|s, a) (R(s') + γ V(s')) for every state and action at once.

        ``reward`` replaces the maze's rewards (inverse RL plugs an estimated reward in here).
        """
        reward = self.reward if reward is None else reward
        # The reward is earned on arrival, so it and the next value share one expectation.
        return (self.transition_matrix @ (reward + gamma * V)).reshape(self.n_states, -1)


class Environment:
    """The book's maze environment: a dict-and-State view of ``GridMDP``.

    ``transit_func`` answers "where can I end up, and how likely?" as ``{State: prob}``;
    ``step`` samples one of those outcomes with NumPy's global random state, as in the book.
    """

    def __init__(self, grid, move_prob=0.8, rewards=None):
        self.grid = grid
        self.default_reward = -0.04
        self.move_prob = move_prob
        self.mdp = GridMDP(grid, move_prob, self.default_reward, rewards)
        self.agent_state = State()
        self.reset()

    @property
    def row_length(self):
        return self.mdp.n_rows

    @property
    def column_length(self):
        return self.mdp.n_columns

    @property
    def actions(self):
        return list(ACTIONS)

    @property
    def states(self):
        """Every cell the agent can be in (blocks excluded), row by row."""
        return [self.mdp.state(s) for s in np.flatnonzero(~self.mdp.blocked)]

    def transit_func(self, state, action):
        """``{next_state: probability}``; empty where the episode has already ended."""
        s, a = self.mdp.index(state), ACTIONS.index(action)
        transition_probs = {}
        for next_index, prob in zip(self.mdp.next_state[s, a], self.mdp.prob[s, a]):
            if prob > 0:
                next_state = self.mdp.state(next_index)
                transition_probs[next_state] = transition_probs.get(next_state, 0.0) + prob
        return transition_probs

    def can_action_at(self, state):
        return self.mdp.grid[state.row, state.column] == ORDINARY

    def reward_func(self, state):
        """Reward for arriving at ``state``, and whether the episode ends there."""
        s = self.mdp.index(state)
        return float(self.mdp.reward[s]), bool(self.mdp.terminal[s])

    def reset(self):
        self.agent_state = State(self.row_length - 1, 0)
        return self.agent_state

    def step(self, action):
        next_state, reward, done = self.transit(self.agent_state, action)
        if next_state is not None:
            self.agent_state = next_state
        return next_state, reward, done

    def transit(self, state, action):
        transition_probs = self.transit_func(state, action)
        if not transition_probs:
            return None, None, True
        next_states = list(transition_probs)
        probs = np.array(list(transition_probs.values()))
        next_state = next_states[np.random.choice(len(next_states), p=probs / probs.sum())]
        reward, done = self.reward_func(next_state)
        return next_state, reward, done
