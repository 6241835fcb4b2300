"""GridWorldEnv: the maze of Day2 as a gymnasium environment, for inverse RL on Day6.

Inverse RL needs what gymnasium's toy-text environments expose: a transition table
``P[s][a] = [(prob, next_state, reward, terminated), ...]``. The dynamics are not written
again here: they come from ``DP.environment.GridMDP`` (intended move with ``move_prob``, the
two perpendicular slips share the rest, blocks and edges leave the agent in place).
``restart_on`` adds one rule of its own, Day3's cliff: entering one of those cells costs
``restart_reward`` and puts the agent back on the start, and the episode goes on.

The action numbers are the book's for this world: 0 LEFT, 1 DOWN, 2 RIGHT, 3 UP (the order of
gymnasium's FrozenLake, too), so that the book's ``test_grid`` walks where it says. Day2's
``GridMDP`` orders its actions UP, DOWN, LEFT, RIGHT; ``MDP_ACTIONS`` maps one to the other.
"""

import bisect

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from DP.environment import ACTIONS, Action
from DP.vectorized_planner import GridMDP

ENV_ID = "GridWorld-v0"
# The book's inverse-RL demo: +1 at the top right, −1 inside, start at the lower left.
DEFAULT_GRID = [[0, 0, 0, 1], [0, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 0]]
# The book's action numbers, and the GridMDP column that each of them is.
LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
MDP_ACTIONS = [ACTIONS.index(action)
               for action in (Action.LEFT, Action.DOWN, Action.RIGHT, Action.UP)]


# The book derived this class from gym's ``discrete.DiscreteEnv``, which gymnasium no longer has:
# ``gym.Env`` with the same transition table ``P`` takes its place.
class GridWorldEnv(gym.Env):
    """A grid of cells in which the agent walks from the lower-left cell to an end cell.

    ## Description
    Cells use the codes of ``DP/environment.py``: 0 ordinary, 1 treasure (+1, ends),
    −1 danger (−1, ends), 9 block (cannot be entered). States are numbered row by row:
    ``s = row * ncol + column``, which holds for grids that are not square.

    ## Action Space
    ``Discrete(4)``: 0 left, 1 down, 2 right, 3 up, as in the book (not the UP, DOWN, LEFT,
    RIGHT of ``DP.environment.Action``; ``MDP_ACTIONS`` translates).

    ## Observation Space
    ``Discrete(nrow * ncol)``: the agent's state number.

    ## Rewards
    The reward of the cell arrived at: ±1 on the end cells, ``default_reward`` elsewhere;
    ``restart_reward`` for stepping into a ``restart_on`` cell.

    ## Episode End
    Terminated on an end cell (never on a ``restart_on`` cell: the agent starts again).
    Registered as ``GridWorld-v0`` with 100 steps before truncation.

    ## Arguments
    - ``grid`` (default: the book's 4x4 demo grid): the cells, rows of equal length;
    - ``move_prob`` (0.8): probability that a move goes the intended way;
    - ``default_reward`` (0.0): reward for arriving at an ordinary cell;
    - ``rewards`` (None): the reward on arrival at every cell, a grid of numbers of the maze's
      shape as in Day2's simulator (``DP.environment.validate_rewards``); None: by kind;
    - ``restart_on`` (None): ``(row, column)`` cells that send the agent back to the start,
      such as the cliff of Sutton & Barto's Example 6.6 (``EL/cliff_walking.py``); ordinary
      cells only (not the start, an end cell or a block);
    - ``restart_reward`` (-100.0): the reward for stepping into a ``restart_on`` cell;
    - ``render_mode`` (None or ``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, grid=None, move_prob=0.8, default_reward=0.0, render_mode=None,
                 rewards=None, restart_on=None, restart_reward=-100.0):
        self.mdp = GridMDP(DEFAULT_GRID if grid is None else grid, move_prob, default_reward,
                           rewards)
        self.grid = self.mdp.grid
        self.move_prob = move_prob
        self.default_reward = default_reward
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.mdp.n_states)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.start_state = self.coordinate_to_state(self.nrow - 1, 0)
        self.restart_states = self._restart_states(restart_on)
        self.restart_reward = float(restart_reward)
        self.P = self._transition_table()
        if self.restart_states:
            self._send_back_to_start()
        self._cumulative = self._cumulative_table()
        self.state = self.start_state

    @property
    def nrow(self):
        return self.mdp.n_rows

    @property
    def ncol(self):
        return self.mdp.n_columns

    @property
    def shape(self):
        return self.grid.shape

    @property
    def actions(self):
        return list(range(len(ACTIONS)))

    @property
    def states(self):
        """Every state the agent can occupy (blocks and ``restart_on`` cells excluded)."""
        return [int(s) for s in np.flatnonzero(~self.mdp.blocked)
                if int(s) not in self.restart_states]

    def _restart_states(self, cells):
        """The state numbers of the ``restart_on`` cells; ``ValueError`` for a bad cell."""
        states = set()
        for cell in cells or ():
            row, column = cell
            if not (0 <= row < self.nrow and 0 <= column < self.ncol):
                raise ValueError(f"restart cell {tuple(cell)} is outside the "
                                 f"{self.nrow}x{self.ncol} grid")
            s = self.coordinate_to_state(row, column)
            if s == self.start_state or self.grid[row, column] != 0:
                raise ValueError(f"restart cell {tuple(cell)} must be an ordinary cell "
                                 "other than the start (lower left)")
            states.add(s)
        return frozenset(states)

    def _transition_table(self):
        P = {}
        for s in range(self.mdp.n_states):
            P[s] = {}
            for a, m in enumerate(MDP_ACTIONS):
                outcomes = {}
                for next_state, prob in zip(self.mdp.next_state[s, m], self.mdp.prob[s, m]):
                    if prob > 0:
                        outcomes[int(next_state)] = outcomes.get(int(next_state), 0.0) + prob
                if not outcomes:
                    # An end cell (or a block, which is never reached) absorbs with no reward.
                    P[s][a] = [(1.0, s, 0.0, True)]
                    continue
                P[s][a] = [(prob, n, float(self.mdp.reward[n]), bool(self.mdp.terminal[n]))
                           for n, prob in outcomes.items()]
        return P

    def _send_back_to_start(self):
        """Rewrite ``P`` so that entering a ``restart_on`` cell lands on the start, costs
        ``restart_reward`` and does not end the episode (outcomes that meet are merged)."""
        for row in self.P.values():
            for a, outcomes in row.items():
                merged = {}
                for prob, n, reward, terminated in outcomes:
                    if n in self.restart_states:
                        n, reward, terminated = self.start_state, self.restart_reward, False
                    key = (n, reward, terminated)
                    merged[key] = merged.get(key, 0.0) + prob
                row[a] = [(prob, n, reward, terminated)
                          for (n, reward, terminated), prob in merged.items()]

    def state_to_coordinate(self, s):
        # Row by row with ``ncol`` cells a row (the book divided by ``nrow``: wrong unless square).
        return divmod(int(s), self.ncol)

    def coordinate_to_state(self, row, col):
        return int(row * self.ncol + col)

    def state_to_feature(self, s):
        """One-hot vector of state ``s`` (the feature inverse RL weighs)."""
        feature = np.zeros(self.observation_space.n)
        feature[s] = 1.0
        return feature

    def transit_func(self, state, action):
        """``{next_state: probability}`` for ``action`` in ``state``."""
        return {n: prob for prob, n, _, _ in self.P[state][action]}

    def reward_func(self, state):
        return float(self.mdp.reward[state])

    def has_done(self, state):
        return bool(self.mdp.terminal[state])

    def _move(self, state, action):
        """The cell ``action`` leads to when it does not slip (a wall or a block: stay put)."""
        # GridMDP lists the intended move first among a move's outcomes.
        return int(self.mdp.next_state[state, MDP_ACTIONS[action], 0])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.start_state
        return self.state, {}

    def _cumulative_table(self):
        """For each ``P[s][a]``, the cumulative probabilities ``np_random.choice`` would use."""
        table = {}
        for s, row in self.P.items():
            table[s] = {}
            for a, outcomes in row.items():
                probs = np.array([prob for prob, _, _, _ in outcomes])
                cumulative = (probs / probs.sum()).cumsum()
                table[s][a] = (cumulative / cumulative[-1]).tolist()
        return table

    def step(self, action):
        outcomes = self.P[self.state][int(action)]
        # What np_random.choice(len(outcomes), p=...) does, without its cost per call (tens of
        # microseconds, most of a step): one uniform number, then a search of the cumulative
        # probabilities. Same number drawn, same outcome picked; Day3's learners step a lot.
        cumulative = self._cumulative[self.state][int(action)]
        choice = bisect.bisect_right(cumulative, self.np_random.random())
        prob, self.state, reward, terminated = outcomes[choice]
        return self.state, reward, terminated, False, {"prob": float(prob)}

    def render(self):
        if self.render_mode != "ansi":
            return None
        symbols = {0: ".", 1: "T", -1: "D", 9: "#"}
        rows = [[symbols[int(cell)] for cell in row] for row in self.grid]
        for s in self.restart_states:
            row, col = self.state_to_coordinate(s)
            rows[row][col] = "C"  # a cliff: back to the start
        row, col = self.state_to_coordinate(self.state)
        rows[row][col] = "A"
        return "\n".join("".join(row) for row in rows)

    def plot_on_grid(self, values, ax=None, title=None, cmap="RdYlGn", norm=None):
        """Draw one value per state on the grid as a heatmap with the numbers written in.

        ``norm`` (a matplotlib norm) fixes the colour scale, so that several grids share one.
        """
        import matplotlib.pyplot as plt

        values = np.asarray(values, dtype=float).reshape(self.shape)
        if ax is None:
            _, ax = plt.subplots()
        image = ax.imshow(values, cmap=cmap, norm=norm)
        for (row, col), value in np.ndenumerate(values):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(self.ncol))
        ax.set_yticks(range(self.nrow))
        if title:
            ax.set_title(title)
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        return ax


def register_gridworld():
    """Register ``GridWorld-v0`` (the book's 4x4 demo grid). Safe to call any number of times."""
    if ENV_ID not in gym.envs.registry:
        gym.register(id=ENV_ID, entry_point="envs.gridworld:GridWorldEnv", max_episode_steps=100)


# The name this project used before it took the book's.
GridWorld = GridWorldEnv
