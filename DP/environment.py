"""Day2: the maze as a Markov Decision Process (MDP): states, actions, T(s'|s, a), R(s').

States are the grid's cells, actions the four moves. A move goes as meant with ``move_prob``
and slips to either side otherwise; the edge or a block (9) leaves the agent in place.
Arriving pays -0.04 (wandering costs), at the treasure (1) +1, at the danger (-1) -1; both
end the episode. See it walk: ``python DP/environment_demo.py``.

Departures from the book: ``rewards`` (a grid of numbers) sets the reward on arrival at any
cell, as the simulator does; ``transit_func`` lists the intended move, then the slips. The
same maze as arrays (``GridMDP``) and its checks are in ``DP/vectorized_planner.py``.
"""

from enum import Enum

import numpy as np

TREASURE, DANGER, BLOCK, ORDINARY = 1, -1, 9, 0
SAMPLE_GRID = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]  # the book's 3×4 maze


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


class Action(Enum):  # the book's encoding: opposite moves have opposite signs
    UP = 1
    DOWN = -1
    LEFT = 2
    RIGHT = -2


ACTIONS = list(Action)
MOVES = {Action.UP: (-1, 0), Action.DOWN: (1, 0), Action.LEFT: (0, -1), Action.RIGHT: (0, 1)}


class Environment:

    def __init__(self, grid, move_prob=0.8, rewards=None):
        self.grid = grid  # 0 ordinary, 1 treasure and -1 danger (the end), 9 block
        self.agent_state = State()
        self.default_reward = -0.04  # a small cost for every step: hurry to the treasure
        self.move_prob = move_prob  # the move goes as chosen with move_prob, else slips
        self.rewards = rewards
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
        # Every cell but the blocks, row by row.
        return [State(row, column) for row in range(self.row_length)
                for column in range(self.column_length) if self.grid[row][column] != BLOCK]

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
        if attribute in (TREASURE, DANGER):
            reward, done = attribute, True  # +1 or -1, and the episode ends
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
