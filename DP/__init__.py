"""Day2: planning from the environment — Bellman equation, maze MDP, DP planners, simulator."""
