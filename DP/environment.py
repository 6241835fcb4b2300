"""Day2: the maze as a Markov Decision Process (MDP): states, actions, T(s'|s, a), R(s').

The states are the cells of a grid; the actions are the four moves. A move goes where it was
meant with probability ``move_prob`` and slips to either side otherwise (never backwards);
bumping into the edge or a block (9) leaves the agent in place. Arriving at a cell pays
``default_reward`` (-0.04: wandering costs a little), at the treasure (1) +1 and at the
danger (-1) -1; both end the episode.

    python DP/environment_demo.py      # a random agent walks this maze

Departures from the book:
- ``rewards`` (a grid of numbers) sets the reward on arrival at any cell, as the simulator does;
- ``transit_func`` lists the intended move first, then the slips (the order ``transit`` draws);
- ``mdp`` holds the same dynamics as arrays (``GridMDP``), for the vectorized planners.
"""

from enum import Enum

import numpy as np
from scipy import sparse

TREASURE, DANGER, BLOCK, ORDINARY = 1, -1, 9, 0
CELL_VALUES = (ORDINARY, TREASURE, DANGER, BLOCK)
# A reward on arrival is a number from -REWARD_LIMIT to REWARD_LIMIT.
REWARD_LIMIT = 10


class State:

    def __init__(self, row=-1, column=-1):
        self.row = row
        self.column = column

    def __repr__(self):
        return f"<State: [{self.row}, {self.column}]>"

    def clone(self):
        return State(self.row, self.column)

    def __hash__(self):
        return hash((self.row, self.column))

    def __eq__(self, other):
        return self.row == other.row and self.column == other.column


class Action(Enum):
    """The book's encoding: opposite moves have opposite signs (UP = -DOWN)."""

    UP = 1
    DOWN = -1
    LEFT = 2
    RIGHT = -2


ACTIONS = list(Action)
# (row, column) offset of each action, in the order of ``ACTIONS``.
MOVES = {Action.UP: (-1, 0), Action.DOWN: (1, 0), Action.LEFT: (0, -1), Action.RIGHT: (0, 1)}


class Environment:

    def __init__(self, grid, move_prob=0.8, rewards=None):
        # The grid's cells: 0 ordinary, 1 treasure and -1 danger (the episode ends there),
        # 9 block (no one can stand there).
        self.grid = grid
        self.agent_state = State()
        # A small cost for every step: the agent must hurry to the treasure.
        self.default_reward = -0.04
        # The move goes as chosen with move_prob, else slips sideways.
        self.move_prob = move_prob
        self.rewards = rewards
        self.mdp = GridMDP(grid, move_prob, self.default_reward, rewards)  # checks the grid
        self.reset()

    @property
    def row_length(self):
        return len(self.grid)

    @property
    def column_length(self):
        return len(self.grid[0])

    @property
    def actions(self):
        return [Action.UP, Action.DOWN, Action.LEFT, Action.RIGHT]

    @property
    def states(self):
        states = []
        for row in range(self.row_length):
            for column in range(self.column_length):
                if self.grid[row][column] != BLOCK:  # a block is not a state
                    states.append(State(row, column))
        return states

    def transit_func(self, state, action):
        transition_probs = {}
        if not self.can_action_at(state):
            return transition_probs  # the episode has already ended: nothing follows

        opposite_direction = Action(action.value * -1)
        slips = [a for a in self.actions if a not in (action, opposite_direction)]
        for a in [action, *slips]:
            prob = self.move_prob if a == action else (1 - self.move_prob) / 2
            if prob == 0:
                continue  # a move that cannot happen is not an outcome
            next_state = self._move(state, a)
            # A bump and a slip can end in the same cell: their probabilities add up.
            transition_probs[next_state] = transition_probs.get(next_state, 0) + prob
        return transition_probs

    def can_action_at(self, state):
        return self.grid[state.row][state.column] == ORDINARY

    def _move(self, state, action):
        if not self.can_action_at(state):
            raise ValueError(f"cannot move from {state}: the episode has ended there")

        next_state = state.clone()
        d_row, d_column = MOVES[action]
        next_state.row += d_row
        next_state.column += d_column

        # Off the grid, or into a block: the agent stays where it was.
        if not (0 <= next_state.row < self.row_length
                and 0 <= next_state.column < self.column_length):
            return state
        if self.grid[next_state.row][next_state.column] == BLOCK:
            return state
        return next_state

    def reward_func(self, state):
        reward = self.default_reward
        done = False
        attribute = self.grid[state.row][state.column]
        if attribute == TREASURE:
            reward, done = 1, True
        elif attribute == DANGER:
            reward, done = -1, True
        if self.rewards is not None:
            reward = self.rewards[state.row][state.column]  # the simulator's own reward
        return float(reward), done

    def reset(self):
        # The agent starts in the lower-left corner.
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


# The same maze as arrays, for the vectorized planners (``DP/vectorized_planner.py``) and the
# web simulator, and the checks of a maze and of its rewards.


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
