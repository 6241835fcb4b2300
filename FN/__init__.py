"""Day4 and Day5: function approximation — the FN framework, DQN, policy gradient, A2C."""
