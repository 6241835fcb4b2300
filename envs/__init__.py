"""Worlds shared by several days, as gymnasium environments.

Importing ``envs`` registers them with gymnasium (idempotently), so
``gym.make("FrozenLakeEasy-v0")`` works after ``import envs``.
"""

from envs.frozen_lake import register_frozen_lake_easy
from envs.gridworld import register_gridworld

register_frozen_lake_easy()
register_gridworld()
