"""Worlds shared by several days, as gymnasium environments.

Importing ``envs`` registers them with gymnasium (idempotently), so
``gym.make("FrozenLakeEasy-v0")`` works after ``import envs``.
``Catcher-v0`` also has a vector entry point: ``gym.make_vec("Catcher-v0", num_envs=16)``
steps 16 games at once in NumPy.
"""

from envs.catcher import register_catcher
from envs.frozen_lake import register_frozen_lake_easy
from envs.gridworld import register_gridworld

register_catcher()
register_frozen_lake_easy()
register_gridworld()
