"""DP/environment.py: the contracts the main tests leave open, found by mutation testing.

Every sentence the checks of a maze and of its rewards can end in, the rewards on arrival
that replace the defaults, a maze whose last cell is a block, and the sampling of a step.
"""

import numpy as np
import pytest

from DP.environment import State
from DP.vectorized_planner import (
    REWARD_LIMIT,
    Environment,
    GridMDP,
    validate_grid,
    validate_rewards,
)

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]


def test_validate_grid_defaults_and_returns_an_integer_array():
    np.testing.assert_array_equal(validate_grid(SAMPLE), SAMPLE)
    # A grid may come as a NumPy array, and as floats from JSON (1.0 is a treasure).
    from_array = validate_grid(np.array(SAMPLE))
    np.testing.assert_array_equal(from_array, SAMPLE)
    from_floats = validate_grid([[0.0, 1.0], [0.0, 9.0]])
    assert from_floats.dtype.kind == "i" and from_floats.tolist() == [[0, 1], [0, 9]]


@pytest.mark.parametrize("grid, message", [
    ("0000", "the grid must be a list of rows, each a list of cells"),
    ([[0], 0], "the grid must be a list of rows, each a list of cells"),
    ([], "the grid must have at least one row and one column"),
    ([[]], "the grid must have at least one row and one column"),
    ([[0, 0], [0]], "the grid must be rectangular: row 0 has 2 cells, row 1 has 1"),
    ([[0, 2]], "unknown cell value 2: use 0 (ordinary), 1 (treasure), -1 (danger) or 9 (block)"),
    ([[0, True]], "unknown cell value True: use 0 (ordinary), 1 (treasure), -1 (danger) or "
                  "9 (block)"),
    ([[0], [9]], "the start cell (lower left) must not be a block"),
])
def test_validate_grid_names_what_is_wrong(grid, message):
    with pytest.raises(ValueError) as raised:
        validate_grid(grid)
    assert str(raised.value) == message


@pytest.mark.parametrize("move_prob", [-0.1, 1.1, True, "0.8", float("nan")])
def test_validate_grid_refuses_a_move_probability_outside_0_1(move_prob):
    with pytest.raises(ValueError) as raised:
        validate_grid([[0]], move_prob)
    assert str(raised.value) == f"move_prob must be a number in [0, 1], got {move_prob!r}"


def test_validate_rewards_accepts_the_ends_of_the_range_as_floats():
    rewards = validate_rewards([[-REWARD_LIMIT, 0], [REWARD_LIMIT, 3]], (2, 2))
    assert rewards.dtype == float
    np.testing.assert_array_equal(rewards, [[-10.0, 0.0], [10.0, 3.0]])
    np.testing.assert_array_equal(validate_rewards(((1, 2),), (1, 2)), [[1.0, 2.0]])


@pytest.mark.parametrize("rewards, message", [
    ("oops", "the rewards must be a list of rows, each a list of numbers"),
    ([[0, 0], 0], "the rewards must be a list of rows, each a list of numbers"),
    ([[0, 0]], "the rewards must have the grid's shape, 2 rows of 2 numbers"),
    ([[0, 0], [0, 0], [0, 0]], "the rewards must have the grid's shape, 2 rows of 2 numbers"),
    ([[0, 0], [0]], "the rewards must have the grid's shape, 2 rows of 2 numbers"),
    ([[0, 0], [0, 0, 0]], "the rewards must have the grid's shape, 2 rows of 2 numbers"),
    ([[0, 10.5], [0, 0]], "every reward must be a number from -10 to 10, got 10.5"),
    ([[0, 0], [-10.001, 0]], "every reward must be a number from -10 to 10, got -10.001"),
    ([[0, 0], [0, float("nan")]], "every reward must be a number from -10 to 10, got nan"),
    ([[0, 0], [0, True]], "every reward must be a number from -10 to 10, got True"),
    ([[0, "1"], [0, 0]], "every reward must be a number from -10 to 10, got '1'"),
])
def test_validate_rewards_names_what_is_wrong(rewards, message):
    with pytest.raises(ValueError) as raised:
        validate_rewards(rewards, (2, 2))
    assert str(raised.value) == message


def test_rewards_on_arrival_replace_the_defaults_except_on_blocks():
    rewards = [[0.5, -0.5, 0.25, 3.0], [1.0, 7.0, -1.5, -3.0], [0.0, 0.75, -0.25, 2.0]]
    env = Environment(SAMPLE, rewards=rewards)
    assert env.reward_func(State(0, 3)) == (3.0, True)
    assert env.reward_func(State(2, 1)) == (0.75, False)
    expected = np.array(rewards).ravel()
    expected[5] = -0.04  # the block keeps its default: no one ever arrives there
    np.testing.assert_array_equal(env.mdp.reward, expected)
    np.testing.assert_array_equal(GridMDP(SAMPLE, rewards=rewards).reward, expected)
    with pytest.raises(ValueError, match="the rewards must have the grid's shape"):
        GridMDP(SAMPLE, rewards=[[0.0]])


def test_environment_keeps_its_arguments_and_the_books_defaults():
    env = Environment(SAMPLE, move_prob=0.6)
    assert env.grid is SAMPLE and env.move_prob == 0.6 and env.default_reward == -0.04
    assert env.agent_state == State(2, 0)
    mdp = GridMDP(SAMPLE)
    assert mdp.move_prob == 0.8 and mdp.default_reward == -0.04
    assert mdp.next_state.dtype.kind == "i" and mdp.next_state.shape == (12, 4, 3)


def test_a_maze_whose_last_cells_are_blocks_still_backs_up():
    # No move ever lands on the last state, so the transition matrix must be told its width.
    mdp = GridMDP([[0, 1], [0, 9]])
    assert mdp.transition_matrix.shape == (16, 4)
    Q = mdp.action_values(np.zeros(4), 0.9)
    assert Q.shape == (4, 4)
    assert Q[0, 3] == pytest.approx(0.8 * 1.0 + 0.1 * -0.04 + 0.1 * -0.04)


def test_action_values_use_the_reward_they_are_given():
    mdp = GridMDP([[0, 1]], move_prob=1.0)
    Q = mdp.action_values(np.zeros(2), 0.9, reward=np.array([5.0, -2.0]))
    np.testing.assert_array_equal(Q[0], [5.0, 5.0, 5.0, -2.0])


def test_a_step_follows_the_transition_probabilities():
    env = Environment(SAMPLE, move_prob=0.8)
    np.random.seed(0)
    ends = [env.transit(State(2, 0), env.actions[0])[0] for _ in range(4000)]
    # UP from the lower-left corner: up with 0.8, left is a bump (stay) and right 0.1 each.
    assert ends.count(State(1, 0)) / 4000 == pytest.approx(0.8, abs=0.03)
    assert ends.count(State(2, 0)) / 4000 == pytest.approx(0.1, abs=0.02)
    assert ends.count(State(2, 1)) / 4000 == pytest.approx(0.1, abs=0.02)


def test_nothing_follows_the_end_of_an_episode():
    env = Environment(SAMPLE)
    assert env.transit(State(0, 3), env.actions[0]) == (None, None, True)
    env.agent_state = State(0, 3)
    assert env.step(env.actions[1]) == (None, None, True)
    assert env.agent_state == State(0, 3)
