"""Day6: evolution strategies."""
