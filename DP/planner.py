"""Day2: planning with dynamic programming — Value Iteration and Policy Iteration.

When the transition function and the reward function are known, the agent can plan without
moving at all (model-based). Both planners here solve the Bellman equation on the maze of
``DP/environment.py``:

- Value Iteration repeats V(s) ← max_a Σ_s' T(s'|s,a) (R(s') + γ V(s')) until nothing moves.
  The policy is implicit: act greedily with respect to V.
- Policy Iteration alternates two steps: evaluate the current policy (an *expectation* over
  the policy's actions, never a max), then make the policy greedy with respect to those
  values. It stops when the policy no longer changes.

Deviation from the book: the book loops over a dict of states. Here one sweep over all states
is one NumPy expression on the arrays of ``GridMDP`` (``action_values``), which is what makes
a 40×40 maze plan in milliseconds. Each sweep reads the previous sweep's values (a
synchronous sweep); the book's loop overwrites values as it goes. Both reach the same fixed
point. ``log`` starts with the all-zero grid, so ``iterations = len(log) - 1`` and
``log[-1]`` is the final value grid (for Policy Iteration, one entry per evaluated policy).
"""

import argparse
import json
import sys
from pathlib import Path

from common import exit_with_error, set_seed

import numpy as np

from DP.environment import ACTIONS, Action, Environment

SAMPLE_GRID = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
ARROWS = {Action.UP: "↑", Action.DOWN: "↓", Action.LEFT: "←", Action.RIGHT: "→"}
# Actions whose values differ by less than this are ties: the greedy policy keeps all of them.
TIE_TOLERANCE = 1e-6


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
                      reward=None):
    """V^π by repeated expectation sweeps: V(s) ← Σ_a π(a|s) Q(s, a). ``policy`` is (S, 4)."""
    V = np.zeros(mdp.n_states)
    for _ in range(max_iterations):
        new_V = (policy * mdp.action_values(V, gamma, reward)).sum(axis=1)
        delta = np.abs(new_V - V).max()
        V = new_V
        if delta < threshold:
            return V
    raise PlanningDidNotConverge(f"policy evaluation did not converge in {max_iterations} sweeps")


def greedy_mask(Q, tolerance=TIE_TOLERANCE):
    """Boolean (S, 4): True for every action whose value is within ``tolerance`` of the best."""
    return Q >= Q.max(axis=1, keepdims=True) - tolerance


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

    def reward_vector(self):
        """The reward on arrival at each state used for planning; ``None`` means the maze's own.

        Inverse RL (``IM/planner.py``) overrides this to plan with an estimated reward.
        """
        return None

    def plan(self, gamma=0.9, threshold=0.0001):
        raise NotImplementedError("Planner subclasses must implement plan(gamma, threshold)")

    def transitions_at(self, state, action):
        """Yield ``(probability, next_state, reward)`` for each outcome of ``action``."""
        transition_probs = self.env.transit_func(state, action)
        for next_state, prob in transition_probs.items():
            reward, _ = self.env.reward_func(next_state)
            yield prob, next_state, reward

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


class PolicyIterationPlanner(Planner):
    def __init__(self, env):
        super().__init__(env)
        self.policy_probs = None
        self.policy_log = []

    def initialize(self):
        super().initialize()
        # Start from the uniformly random policy, as the book does.
        self.policy_probs = np.full((self.mdp.n_states, len(ACTIONS)), 1 / len(ACTIONS))
        self.policy_log = []

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
        ``policy_log`` keeps the chosen action index of each cell after every step.
        """
        self.initialize()
        self.gamma = gamma
        self.log = [self.dict_to_grid(np.zeros(self.mdp.n_states))]
        reward = self.reward_vector()
        for _ in range(max_iterations):
            self.V = policy_evaluation(self.mdp, self.policy_probs, gamma, threshold,
                                       max_iterations, reward=reward)
            self.log.append(self.dict_to_grid(self.V))
            Q = self.mdp.action_values(self.V, gamma, reward)
            # Trap: keep the current action when it is still (one of) the best. Switching
            # between equally good actions would make the policy "change" forever.
            current = self.policy_probs.argmax(axis=1)
            keep = greedy_mask(Q)[np.arange(len(current)), current]
            best = np.where(keep, current, Q.argmax(axis=1))
            improved = np.eye(len(ACTIONS))[best]
            stable = np.array_equal(improved, self.policy_probs)
            self.policy_probs = improved
            self.policy_log.append(best.reshape(self.mdp.n_rows, self.mdp.n_columns).tolist())
            if stable:
                return self.dict_to_grid(self.V)
        raise PlanningDidNotConverge(f"Policy Iteration did not converge in {max_iterations} steps")


def format_grid(value_grid, planner=None):
    """Values as aligned text, with the greedy arrows after each value when a planner is given."""
    arrows = planner.greedy_actions() if planner is not None else None
    lines = []
    for r, row in enumerate(value_grid):
        cells = []
        for c, value in enumerate(row):
            mark = "".join(ARROWS[a] for a in arrows[r][c]) if arrows else ""
            cells.append(f"{value:7.3f}{mark:<4}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def load_maze(path):
    """Read a maze saved by the web simulator: ``{"grid": [[...]], "prob": 0.8, ...}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        exit_with_error(f"no maze file at {path}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        exit_with_error(f"could not read {path} as JSON: {error}")
    if isinstance(data, list):
        data = {"grid": data}
    if not isinstance(data, dict) or "grid" not in data:
        exit_with_error(f"{path} must hold a grid, or an object with a \"grid\" key")
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Plan the book's 3x4 maze (or your own) with Value and Policy Iteration."
    )
    parser.add_argument("--grid", help="a maze JSON file saved by the web simulator "
                        "(default: the book's sample grid)")
    parser.add_argument("--gamma", type=float, default=0.9, help="discount factor γ (default 0.9)")
    parser.add_argument("--threshold", type=float, default=0.0001,
                        help="stop when no value moves more than this (default 0.0001)")
    parser.add_argument("--move-prob", type=float, default=None,
                        help="probability of moving as intended (default 0.8, or the file's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    set_seed(args.seed)

    grid, move_prob = SAMPLE_GRID, 0.8
    if args.grid:
        maze = load_maze(args.grid)
        grid, move_prob = maze["grid"], maze.get("prob", move_prob)
    if args.move_prob is not None:
        move_prob = args.move_prob
    if not 0.0 <= args.gamma <= 1.0:
        exit_with_error(f"--gamma must be in [0, 1], got {args.gamma}")
    if not args.threshold > 0:
        exit_with_error(f"--threshold must be positive, got {args.threshold}")
    try:
        env = Environment(grid, move_prob=move_prob)
    except ValueError as error:
        exit_with_error(f"invalid maze: {error}")

    for name, planner in (("Value Iteration", ValueIterationPlanner(env)),
                          ("Policy Iteration", PolicyIterationPlanner(env))):
        try:
            value_grid = planner.plan(gamma=args.gamma, threshold=args.threshold)
        except PlanningDidNotConverge as error:
            exit_with_error(str(error))
        print(f"{name} (γ={args.gamma}, move_prob={move_prob}): {planner.iterations} iterations")
        print(format_grid(value_grid, planner))
        print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
