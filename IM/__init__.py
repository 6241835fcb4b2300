"""Day6: imitation learning (DAgger) and inverse reinforcement learning."""
