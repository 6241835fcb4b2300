"""Day6: model-based reinforcement learning (Dyna)."""
