"""Day3: planning from experience — bandits, Monte Carlo, Q-learning, SARSA, Actor-Critic."""
