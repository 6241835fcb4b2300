"""FrozenLakeEasy: gymnasium's 4x4 FrozenLake without the slippery ice (Day3 and Day6).

On the slippery lake an agent moves where it meant only a third of the time, which makes the
first tabular methods hard to watch. The book uses the deterministic lake to start with;
``--slippery`` in the Day3 scripts switches back to the real one.
"""

import gymnasium as gym

ENV_ID = "FrozenLakeEasy-v0"


def register_frozen_lake_easy():
    """Register ``FrozenLakeEasy-v0``. Safe to call any number of times."""
    if ENV_ID not in gym.envs.registry:
        gym.register(
            id=ENV_ID,
            entry_point="gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv",
            kwargs={"map_name": "4x4", "is_slippery": False},
            max_episode_steps=100,
        )


def make_frozen_lake(slippery=False, **kwargs):
    """The lake Day3 and Day6 use: ``FrozenLakeEasy-v0``, or the slippery ``FrozenLake-v1``."""
    register_frozen_lake_easy()
    if slippery:
        return gym.make("FrozenLake-v1", is_slippery=True, **kwargs)
    return gym.make(ENV_ID, **kwargs)
