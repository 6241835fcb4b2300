"""Day2: the fast planners — Value and Policy Iteration as NumPy sweeps over the whole maze.

This is the module the web simulator (``DP/application.py``), the learning pages, the
benchmarks and inverse RL plan with: one sweep over every state is one sparse matrix-vector
product on the maze's arrays (``GridMDP``), so a 20×20 maze plans in milliseconds. It also
keeps what the simulator draws: each sweep's values (``log``) and arrows (``actions_log``),
Policy Iteration's every evaluation sweep and improvement (``steps``), rewards per cell and
the checks of a maze (``validate_grid``, ``validate_rewards``, ``load_maze``).

    python -m DP.vectorized_planner --grid maze.json   # plan a maze saved by the simulator

The planners are defined in ``DP/planner.py`` and the maze's arrays in ``DP/environment.py``;
this is the name the server, the learning pages and the benchmark import them by.
Departures from the book and measurements: doc/day2.md.
"""

from DP.environment import (
    REWARD_LIMIT,
    Environment,
    GridMDP,
    validate_grid,
    validate_rewards,
)
from DP.planner import (
    ARROWS,
    MAZE_HINT,
    SAMPLE_GRID,
    TIE_TOLERANCE,
    Planner,
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    PolicyIterationStep,
    ValueIterationPlanner,
    backup,
    format_grid,
    greedy_mask,
    load_maze,
    main,
    policy_evaluation,
    value_iteration,
)

__all__ = [
    "ARROWS", "MAZE_HINT", "REWARD_LIMIT", "SAMPLE_GRID", "TIE_TOLERANCE", "Environment",
    "GridMDP", "Planner", "PlanningDidNotConverge", "PolicyIterationPlanner",
    "PolicyIterationStep", "ValueIterationPlanner", "backup", "format_grid", "greedy_mask",
    "load_maze", "main", "policy_evaluation", "validate_grid", "validate_rewards",
    "value_iteration",
]

if __name__ == "__main__":
    main()
