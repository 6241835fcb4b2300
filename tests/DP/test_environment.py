import numpy as np
import pytest

from DP.environment import Action, Environment, GridMDP, State

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]


def test_state_is_hashable_comparable_and_clonable():
    a, b = State(1, 2), State(1, 2)
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert State(0, 5) < State(1, 0)
    assert a.clone() == a and a.clone() is not a
    assert repr(a) == "<State: [1, 2]>"


def test_actions_keep_the_books_values():
    assert [a.value for a in Action] == [1, -1, 2, -2]


@pytest.mark.parametrize("grid", [SAMPLE, [[0, 1]], [[0, 0, 9], [0, -1, 0]], [[0]]])
@pytest.mark.parametrize("move_prob", [0.0, 0.5, 0.8, 1.0])
def test_transition_probabilities_sum_to_one_and_avoid_blocks(grid, move_prob):
    env = Environment(grid, move_prob=move_prob)
    for state in env.states:
        for action in env.actions:
            probs = env.transit_func(state, action)
            if not env.can_action_at(state):
                assert probs == {}
                continue
            assert sum(probs.values()) == pytest.approx(1.0)
            for next_state in probs:
                assert 0 <= next_state.row < env.row_length
                assert 0 <= next_state.column < env.column_length
                assert grid[next_state.row][next_state.column] != 9


def test_moves_follow_the_book_rule():
    env = Environment(SAMPLE, move_prob=0.8)
    # From the start (2, 0), UP goes up with 0.8; LEFT bumps the edge and stays (0.1);
    # RIGHT slips to (2, 1) (0.1); DOWN, the opposite, never happens.
    probs = env.transit_func(State(2, 0), Action.UP)
    assert probs == pytest.approx({State(1, 0): 0.8, State(2, 0): 0.1, State(2, 1): 0.1})
    # From (0, 1), DOWN bumps into the block at (1, 1) and stays.
    probs = env.transit_func(State(0, 1), Action.DOWN)
    assert probs[State(0, 1)] == pytest.approx(0.8)


def test_rewards_and_episode_end():
    env = Environment(SAMPLE)
    assert env.reward_func(State(0, 3)) == (1.0, True)
    assert env.reward_func(State(1, 3)) == (-1.0, True)
    assert env.reward_func(State(0, 0)) == (pytest.approx(-0.04), False)
    assert env.default_reward == pytest.approx(-0.04)


def test_reset_and_step():
    np.random.seed(0)
    env = Environment(SAMPLE)
    assert env.reset() == State(2, 0)
    assert State(1, 1) not in env.states and len(env.states) == 11
    done, steps = False, 0
    while not done:
        state, reward, done = env.step(Action.RIGHT)
        steps += 1
        assert state in env.states
    assert steps < 1000 and reward in (1.0, -1.0)


@pytest.mark.parametrize(
    "grid, move_prob, message",
    [
        ([[0, 0], [0]], 0.8, "rectangular"),
        ([[0, 2], [0, 0]], 0.8, "unknown cell value"),
        ([[0, 1], [9, 0]], 0.8, "start cell"),
        ([[0, 1]], 1.5, "move_prob"),
        ([[0, 1]], float("nan"), "move_prob"),
        ([], 0.8, "at least one row"),
        ([["0", 1]], 0.8, "unknown cell value"),
    ],
)
def test_invalid_grids_raise_value_error(grid, move_prob, message):
    with pytest.raises(ValueError, match=message):
        Environment(grid, move_prob=move_prob)


def test_grid_mdp_arrays_match_the_dict_view():
    env = Environment([[0, 0, 0, 1, 0], [0, 9, 0, -1, 0], [0, 0, 0, 0, 9]], move_prob=0.7)
    mdp = GridMDP(env.grid, 0.7)
    for state in env.states:
        for a, action in enumerate(env.actions):
            expected = np.zeros(mdp.n_states)
            for next_state, prob in env.transit_func(state, action).items():
                expected[mdp.index(next_state)] += prob
            actual = np.zeros(mdp.n_states)
            np.add.at(actual, mdp.next_state[mdp.index(state), a], mdp.prob[mdp.index(state), a])
            np.testing.assert_allclose(actual, expected)
