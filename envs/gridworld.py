"""GridWorld: the maze of Day2 as a gymnasium environment, for inverse RL on Day6.

Inverse RL needs what gymnasium's toy-text environments expose: a transition table
``P[s][a] = [(prob, next_state, reward, terminated), ...]``. The dynamics are not written
again here: they come from ``DP.environment.GridMDP`` (intended move with ``move_prob``, the
two perpendicular slips share the rest, blocks and edges leave the agent in place).
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from DP.environment import ACTIONS, GridMDP

ENV_ID = "GridWorld-v0"
# The book's inverse-RL demo: +1 at the top right, −1 inside, start at the lower left.
DEFAULT_GRID = [[0, 0, 0, 1], [0, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 0]]


class GridWorld(gym.Env):
    """A grid of cells in which the agent walks from the lower-left cell to an end cell.

    ## Description
    Cells use the codes of ``DP/environment.py``: 0 ordinary, 1 treasure (+1, ends),
    −1 danger (−1, ends), 9 block (cannot be entered). States are numbered row by row:
    ``s = row * ncol + column``, which holds for grids that are not square.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right (the order of ``DP.environment.Action``).

    ## Observation Space
    ``Discrete(nrow * ncol)``: the agent's state number.

    ## Rewards
    The reward of the cell arrived at: ±1 on the end cells, ``default_reward`` elsewhere.

    ## Episode End
    Terminated on an end cell. Registered as ``GridWorld-v0`` with 100 steps before
    truncation.

    ## Arguments
    - ``grid`` (default: the book's 4x4 demo grid): the cells, rows of equal length;
    - ``move_prob`` (0.8): probability that a move goes the intended way;
    - ``default_reward`` (0.0): reward for arriving at an ordinary cell;
    - ``render_mode`` (None or ``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, grid=None, move_prob=0.8, default_reward=0.0, render_mode=None):
        self.mdp = GridMDP(DEFAULT_GRID if grid is None else grid, move_prob, default_reward)
        self.grid = self.mdp.grid
        self.move_prob = move_prob
        self.default_reward = default_reward
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.mdp.n_states)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.start_state = self.coordinate_to_state(self.nrow - 1, 0)
        self.P = self._transition_table()
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
        """Every state the agent can occupy (blocks excluded)."""
        return [int(s) for s in np.flatnonzero(~self.mdp.blocked)]

    def _transition_table(self):
        P = {}
        for s in range(self.mdp.n_states):
            P[s] = {}
            for a in self.actions:
                outcomes = {}
                for next_state, prob in zip(self.mdp.next_state[s, a], self.mdp.prob[s, a]):
                    if prob > 0:
                        outcomes[int(next_state)] = outcomes.get(int(next_state), 0.0) + prob
                if not outcomes:
                    # An end cell (or a block, which is never reached) absorbs with no reward.
                    P[s][a] = [(1.0, s, 0.0, True)]
                    continue
                P[s][a] = [(prob, n, float(self.mdp.reward[n]), bool(self.mdp.terminal[n]))
                           for n, prob in outcomes.items()]
        return P

    def state_to_coordinate(self, s):
        return divmod(int(s), self.ncol)

    def coordinate_to_state(self, row, col):
        return int(row * self.ncol + col)

    def state_to_feature(self, s):
        """One-hot vector of state ``s`` (the feature inverse RL weighs)."""
        feature = np.zeros(self.observation_space.n)
        feature[s] = 1.0
        return feature

    def reward_func(self, s):
        return float(self.mdp.reward[s])

    def has_done(self, s):
        return bool(self.mdp.terminal[s])

    def transit_func(self, s, a):
        """``{next_state: probability}`` for action ``a`` in state ``s``."""
        return {n: prob for prob, n, _, _ in self.P[s][a]}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.start_state
        return self.state, {}

    def step(self, action):
        outcomes = self.P[self.state][int(action)]
        probs = np.array([prob for prob, _, _, _ in outcomes])
        choice = self.np_random.choice(len(outcomes), p=probs / probs.sum())
        _, self.state, reward, terminated = outcomes[choice]
        return self.state, reward, terminated, False, {"prob": float(probs[choice])}

    def render(self):
        if self.render_mode != "ansi":
            return None
        symbols = {0: ".", 1: "T", -1: "D", 9: "#"}
        rows = [[symbols[int(cell)] for cell in row] for row in self.grid]
        row, col = self.state_to_coordinate(self.state)
        rows[row][col] = "A"
        return "\n".join("".join(row) for row in rows)

    def plot_on_grid(self, values, ax=None, title=None, cmap="RdYlGn"):
        """Draw one value per state on the grid as a heatmap with the numbers written in."""
        import matplotlib.pyplot as plt

        values = np.asarray(values, dtype=float).reshape(self.shape)
        if ax is None:
            _, ax = plt.subplots()
        image = ax.imshow(values, cmap=cmap)
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
        gym.register(id=ENV_ID, entry_point="envs.gridworld:GridWorld", max_episode_steps=100)
