"""Day2: the fast planners — Value and Policy Iteration as NumPy sweeps over the whole maze.

The server (``DP/application.py``), the learning pages, the benchmarks and inverse RL plan
with this module: the maze's dynamics as arrays (``GridMDP``), and one sweep over every state
as one sparse matrix-vector product, so a 20×20 maze plans in milliseconds. It keeps what the
simulator draws: each sweep's values (``log``) and arrows (``actions_log``), Policy
Iteration's every evaluation sweep and improvement (``steps``) and rewards per cell.

    python -m DP.vectorized_planner --grid maze.json   # a maze saved by the simulator

``DP/planner.py`` is the book's readable form; a test keeps the two equal. Departures from
it: a sweep reads the previous sweep's values (the book overwrites them as it goes), and each
evaluation of Policy Iteration starts from the previous policy's values (doc/day2.md).
"""

import argparse
import sys
from dataclasses import dataclass

from common import exit_with_error, positive_float, probability, seed_value, set_seed

import numpy as np
from scipy import sparse

from DP import environment
from DP.environment import (
    ACTIONS,
    BLOCK,
    DANGER,
    MOVES,
    SAMPLE_GRID,
    TREASURE,
    Action,
    State,
)

# A maze's checks and its file live in DP/maze_file.py; the server and the tests take them here.
from DP.maze_file import MAZE_HINT as MAZE_HINT
from DP.maze_file import REWARD_LIMIT as REWARD_LIMIT
from DP.maze_file import MazeTooLarge as MazeTooLarge
from DP.maze_file import check_maze as check_maze
from DP.maze_file import load_maze as load_maze
from DP.maze_file import validate_grid as validate_grid
from DP.maze_file import validate_rewards as validate_rewards

ARROWS = {Action.UP: "↑", Action.DOWN: "↓", Action.LEFT: "←", Action.RIGHT: "→"}
# Actions whose values differ by less than this are ties: the greedy policy keeps all of them.
TIE_TOLERANCE = 1e-6


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


class Environment(environment.Environment):
    """The book's maze (``DP/environment.py``), checked, with its dynamics also as arrays.

    ``mdp`` is the ``GridMDP`` the fast planners sweep; the book's ``transit_func``,
    ``reward_func`` and ``step`` are unchanged. An invalid grid raises ``ValueError``.
    """

    def __init__(self, grid, move_prob=0.8, rewards=None):
        self.mdp = GridMDP(grid, move_prob, -0.04, rewards)
        super().__init__(grid, move_prob, rewards)


class PlanningDidNotConverge(RuntimeError):
    """Raised when a sweep limit is reached first (for example γ = 1 with no reachable goal)."""


def value_iteration(mdp, gamma=0.9, threshold=0.0001, max_iterations=100_000, reward=None):
    """Vectorized Value Iteration on a ``GridMDP``: returns ``(V, history)``.

    ``V`` has one entry per cell (0 for blocks and for cells where the episode ends) and
    ``history`` is the list of V after each sweep, starting with the zero vector.
    ``reward`` optionally replaces the maze's reward on arrival (used by inverse RL).
    """
    V = np.zeros(mdp.n_states)
    history = [V]
    acting = mdp.prob.sum(axis=(1, 2)) > 0
    for _ in range(max_iterations):
        new_V = np.where(acting, mdp.action_values(V, gamma, reward).max(axis=1), 0.0)
        delta = np.abs(new_V - V).max()
        V = new_V
        history.append(V)
        if delta < threshold:
            return V, history
    raise PlanningDidNotConverge(f"Value Iteration did not converge in {max_iterations} sweeps")


def policy_evaluation(mdp, policy, gamma=0.9, threshold=0.0001, max_iterations=100_000,
                      reward=None, V=None, sweeps=None):
    """V^π by repeated expectation sweeps: V(s) ← Σ_a π(a|s) Q(s, a). ``policy`` is (S, 4).

    The sweeps start from ``V`` (default: all 0, as in the book); every sweep's values are
    appended to the list ``sweeps`` when one is given.
    """
    V = np.zeros(mdp.n_states) if V is None else V
    for _ in range(max_iterations):
        new_V = (policy * mdp.action_values(V, gamma, reward)).sum(axis=1)
        delta = np.abs(new_V - V).max()
        V = new_V
        if sweeps is not None:
            sweeps.append(V)
        if delta < threshold:
            return V
    raise PlanningDidNotConverge(f"policy evaluation did not converge in {max_iterations} sweeps")


def greedy_mask(Q, tolerance=TIE_TOLERANCE):
    """Boolean (S, 4): True for every action whose value is within ``tolerance`` of the best."""
    return Q >= Q.max(axis=1, keepdims=True) - tolerance


def backup(mdp, V, gamma, s, a, reward=None):
    """Q(s, a) = Σ_s' T(s'|s, a) (R(s') + γ V(s')) for one state ``s`` and action index ``a``.

    The readable form of the Bellman backup: a sum over the (up to three) cells the move can
    end in, the intended one and the two slips. ``GridMDP.action_values`` computes the very
    same sum for every state and action at once, which is what the planners call.
    """
    reward = mdp.reward if reward is None else reward
    return sum(prob * (reward[next_s] + gamma * V[next_s])
               for next_s, prob in zip(mdp.next_state[s, a], mdp.prob[s, a]))


@dataclass(frozen=True)
class PolicyIterationStep:
    """One step of Policy Iteration, as the web simulator plays it back.

    ``kind`` is "start" (the uniformly random policy, every value 0), "evaluation" (one
    expectation sweep of the current policy) or "improvement" (the policy made greedy).
    ``policy_number`` counts the policies: 0 is the random one, improvement k makes policy k.
    ``V`` and ``policy`` (π(a|s), shape (S, 4)) are what holds after the step. ``delta`` is an
    evaluation sweep's largest change of a value, ``changed`` the number of cells whose action
    an improvement changed (0 means the policy is stable: the plan is done).
    """

    kind: str
    policy_number: int
    V: np.ndarray
    policy: np.ndarray
    delta: float = 0.0
    changed: int = 0


class Planner:
    """Base class: holds the environment, the value log and the grid helpers."""

    def __init__(self, env):
        self.env = env
        self.log = []
        self.V = None
        self.gamma = None

    @property
    def mdp(self):
        return self.env.mdp

    def initialize(self):
        self.env.reset()
        self.log = []

    @property
    def iterations(self):
        """How many sweeps (or, for Policy Iteration, improvement steps) the plan took."""
        return len(self.log) - 1

    @property
    def acting(self):
        """Boolean (S,): the cells where the agent chooses an action (not blocks, not the end)."""
        return self.mdp.prob.sum(axis=(1, 2)) > 0

    def reward_vector(self):
        """The reward on arrival at each state used for planning; ``None`` means the maze's own.

        Inverse RL (``IM/planner.py``) overrides this to plan with an estimated reward.
        """
        return None

    def plan(self, gamma=0.9, threshold=0.0001):
        raise NotImplementedError("Planner subclasses must implement plan(gamma, threshold)")

    def dict_to_grid(self, state_reward_dict):
        """Lay values out as rows × columns lists. Accepts ``{State: value}`` or a flat array."""
        if isinstance(state_reward_dict, dict):
            flat = np.zeros(self.mdp.n_states)
            for state, value in state_reward_dict.items():
                flat[self.mdp.index(state)] = value
        else:
            flat = np.asarray(state_reward_dict, dtype=float)
        return flat.reshape(self.mdp.n_rows, self.mdp.n_columns).tolist()

    def greedy_actions(self, V=None, gamma=None):
        """Every best action for each cell, as a grid of lists of ``Action``.

        Uses the planned values and γ unless given others. Cells where the episode has ended,
        and blocks, get an empty list.
        """
        V = self.V if V is None else np.asarray(V, dtype=float).ravel()
        gamma = self.gamma if gamma is None else gamma
        if V is None or gamma is None:
            raise RuntimeError("call plan() first, or pass V and gamma")
        mask = greedy_mask(self.mdp.action_values(V, gamma, self.reward_vector()))
        acting = self.mdp.prob.sum(axis=(1, 2)) > 0
        actions = [[a for a, best in zip(ACTIONS, row) if best] if act else []
                   for row, act in zip(mask, acting)]
        return [actions[r * self.mdp.n_columns:(r + 1) * self.mdp.n_columns]
                for r in range(self.mdp.n_rows)]


class ValueIterationPlanner(Planner):
    def plan(self, gamma=0.9, threshold=0.0001, max_iterations=100_000):
        """Plan and return the value grid (rows × columns; blocks and terminal cells are 0)."""
        self.initialize()
        self.gamma = gamma
        self.V, history = value_iteration(self.mdp, gamma, threshold, max_iterations,
                                          reward=self.reward_vector())
        self.log = [self.dict_to_grid(V) for V in history]
        return self.dict_to_grid(self.V)

    def actions_log(self):
        """For each entry of ``log``, the arrows of that moment: boolean (S, 4), True for every
        greedy action (ties kept) with respect to that sweep's values, False where nothing is
        chosen. The policy is implicit in Value Iteration, so it is read off each sweep's V."""
        reward = self.reward_vector()
        history = np.asarray(self.log, dtype=float).reshape(len(self.log), -1)
        return [greedy_mask(self.mdp.action_values(V, self.gamma, reward)) & self.acting[:, None]
                for V in history]


class PolicyIterationPlanner(Planner):
    def __init__(self, env):
        super().__init__(env)
        self.policy_probs = None
        self.policy_log = []
        self.steps = []

    def initialize(self):
        super().initialize()
        # Start from the uniformly random policy, as the book does.
        self.policy_probs = np.full((self.mdp.n_states, len(ACTIONS)), 1 / len(ACTIONS))
        self.policy_log = []
        self.steps = []

    @property
    def policy(self):
        """The policy as the book stores it: ``{State: {Action: probability}}``."""
        return {state: dict(zip(ACTIONS, self.policy_probs[self.mdp.index(state)].tolist()))
                for state in self.env.states}

    def estimate_by_policy(self, gamma, threshold, max_iterations=100_000):
        """Evaluate the current policy: ``{State: value}`` (an expectation, not a max)."""
        V = policy_evaluation(self.mdp, self.policy_probs, gamma, threshold, max_iterations,
                              reward=self.reward_vector())
        return {state: float(V[self.mdp.index(state)]) for state in self.env.states}

    def plan(self, gamma=0.9, threshold=0.0001, max_iterations=100_000):
        """Alternate evaluation and greedy improvement until the policy is stable.

        ``max_iterations`` bounds both the improvement steps and each evaluation's sweeps.
        ``policy_log`` keeps the chosen action index of each cell after every step, and
        ``steps`` every sweep and improvement on the way (see ``PolicyIterationStep``).

        Deviation from the book: each evaluation starts from the values of the policy before
        it, not from 0. It reaches the same V^π (to ``threshold``), in about half the sweeps
        on a 20×20 maze, and played back the values adjust instead of growing from 0 again.
        """
        self.initialize()
        self.gamma = gamma
        V = np.zeros(self.mdp.n_states)
        self.log = [self.dict_to_grid(V)]
        self.steps = [PolicyIterationStep("start", 0, V, self.policy_probs)]
        reward = self.reward_vector()
        for number in range(max_iterations):
            sweeps = []
            self.V = policy_evaluation(self.mdp, self.policy_probs, gamma, threshold,
                                       max_iterations, reward=reward, V=V, sweeps=sweeps)
            deltas = np.abs(np.diff([V, *sweeps], axis=0)).max(axis=1)
            self.steps += [PolicyIterationStep("evaluation", number, swept, self.policy_probs,
                                               delta=float(delta))
                           for swept, delta in zip(sweeps, deltas)]
            V = self.V
            self.log.append(self.dict_to_grid(self.V))
            Q = self.mdp.action_values(self.V, gamma, reward)
            # Trap: keep the current action when it is still (one of) the best. Switching
            # between equally good actions would make the policy "change" forever.
            current = self.policy_probs.argmax(axis=1)
            keep = greedy_mask(Q)[np.arange(len(current)), current]
            best = np.where(keep, current, Q.argmax(axis=1))
            improved = np.eye(len(ACTIONS))[best]
            stable = np.array_equal(improved, self.policy_probs)
            changed = (improved != self.policy_probs).any(axis=1) & self.acting
            self.steps.append(PolicyIterationStep("improvement", number + 1, self.V, improved,
                                                  changed=int(changed.sum())))
            self.policy_probs = improved
            self.policy_log.append(best.reshape(self.mdp.n_rows, self.mdp.n_columns).tolist())
            if stable:
                return self.dict_to_grid(self.V)
        raise PlanningDidNotConverge(f"Policy Iteration did not converge in {max_iterations} steps")

    def actions_log(self):
        """For each entry of ``log``, the arrows of that moment: boolean (S, 4), the actions of
        the uniformly random start policy (all four), then of the policy after each
        improvement; False where nothing is chosen."""
        return [(step.policy > 0) & self.acting[:, None]
                for step in self.steps if step.kind != "evaluation"]


def format_grid(value_grid, planner=None):
    """Values as aligned text. With a planner, the greedy arrows follow each value, a Treasure
    or Danger cell shows its reward marked (T) or (D) (its V is 0: nothing follows the end of
    an episode) and a block shows as "block"."""
    arrows = planner.greedy_actions() if planner is not None else None
    lines = []
    for r, row in enumerate(value_grid):
        cells = []
        for c, value in enumerate(row):
            s = r * len(row) + c
            if planner is not None and planner.mdp.blocked[s]:
                cells.append(f"{'block':>7}    ")
                continue
            if planner is not None and planner.mdp.terminal[s]:
                mark = "(T)" if planner.mdp.grid[r, c] == TREASURE else "(D)"
                cells.append(f"{planner.mdp.reward[s]:7.3f}{mark:<4}")
                continue
            mark = "".join(ARROWS[a] for a in arrows[r][c]) if arrows else ""
            cells.append(f"{value:7.3f}{mark:<4}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Plan the book's 3x4 maze (or your own) with Value and Policy Iteration."
    )
    parser.add_argument("--grid", help="a maze JSON file saved by the web simulator "
                        "(default: the book's sample grid)")
    parser.add_argument("--gamma", type=probability, default=None,
                        help="discount factor γ from 0 to 1 (default 0.9, or the file's)")
    parser.add_argument("--threshold", type=positive_float, default=0.0001,
                        help="stop when no value moves more than this (default 0.0001)")
    parser.add_argument("--move-prob", type=probability, default=None,
                        help="probability of moving as intended (default 0.8, or the file's)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    set_seed(args.seed)

    maze = load_maze(args.grid) if args.grid else {"grid": SAMPLE_GRID}
    move_prob = args.move_prob if args.move_prob is not None else maze.get("prob", 0.8)
    gamma = args.gamma if args.gamma is not None else maze.get("gamma", 0.9)
    env = Environment(maze["grid"], move_prob=move_prob, rewards=maze.get("rewards"))

    for name, planner in (("Value Iteration", ValueIterationPlanner(env)),
                          ("Policy Iteration", PolicyIterationPlanner(env))):
        try:
            value_grid = planner.plan(gamma=gamma, threshold=args.threshold)
        except PlanningDidNotConverge as error:
            hint = ("at γ = 1 nothing is discounted, so try --gamma 0.99" if gamma == 1
                    else "try a smaller --gamma or a larger --threshold")
            exit_with_error(f"{error}; {hint}")
        print(f"{name} (γ={gamma}, move_prob={move_prob}): {planner.iterations} 回の反復 "
              "(iterations)")
        print(format_grid(value_grid, planner))
        print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
