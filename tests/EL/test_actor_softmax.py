"""EL/actor_critic.py: the Actor's softmax with large preferences, and along the book's axis.

Found by mutation testing. Preferences only grow while an action keeps doing better than the
Critic expects, so after a long run they can be large: the Actor must still sample from
exp(Q[s][a]) / Σ exp(Q[s][·]) without overflowing.
"""

from common import set_seed

import numpy as np

from EL.actor_critic import Actor
from envs.frozen_lake import make_frozen_lake


def test_the_policy_samples_the_softmax_of_large_preferences():
    set_seed(0)
    actor = Actor(make_frozen_lake())
    actor.Q[0] = [1000.0, 1000.0 + np.log(3.0), -1000.0, 1000.0]
    draws = np.bincount([actor.policy(0) for _ in range(10000)], minlength=4) / 10000
    np.testing.assert_allclose(draws, [0.2, 0.6, 0.0, 0.2], atol=0.02)


def test_softmax_normalizes_along_the_first_axis_as_the_books():
    actor = Actor(make_frozen_lake())
    columns = actor.softmax([[0.0, 5.0], [np.log(3.0), 5.0]])
    np.testing.assert_allclose(columns, [[0.25, 0.5], [0.75, 0.5]])
