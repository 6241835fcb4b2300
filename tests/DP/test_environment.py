import numpy as np
import pytest

from DP import vectorized_planner
from DP.environment import Action, Environment, State
from DP.vectorized_planner import GridMDP

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]


def test_state_is_hashable_comparable_and_clonable():
    a, b = State(1, 2), State(1, 2)
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != State(2, 1) and State() == State(-1, -1)
    assert a.clone() == a and a.clone() is not a
    assert repr(a) == "<State: [1, 2]>"


def test_move_is_the_books_rule_and_refuses_to_leave_an_end():
    env = Environment(SAMPLE)
    assert env._move(State(2, 0), Action.UP) == State(1, 0)
    assert env._move(State(2, 0), Action.LEFT) == State(2, 0)  # the edge: stay
    assert env._move(State(0, 1), Action.DOWN) == State(0, 1)  # the block: stay
    assert env._move(State(2, 3), Action.UP) == State(1, 3)  # onto the danger
    start = State(2, 0)
    env._move(start, Action.RIGHT)
    assert start == State(2, 0)  # the move works on a clone
    with pytest.raises(ValueError, match="episode has ended"):
        env._move(State(0, 3), Action.LEFT)


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
        ([[0, True]], 0.8, "unknown cell value"),
        ([0, 1], 0.8, "list of rows"),
        ("01", 0.8, "list of rows"),
        ({"grid": [[0, 1]]}, 0.8, "list of rows"),
        ([[0, 1]], True, "move_prob"),
        ([[0, 1]], "0.8", "move_prob"),
    ],
)
def test_invalid_grids_raise_value_error(grid, move_prob, message):
    with pytest.raises(ValueError, match=message):
        vectorized_planner.Environment(grid, move_prob=move_prob)


# A maze that is not square, with blocks, both ends and edges. move_prob 0.7: the two sideways
# slips get 0.15 each. Every expected outcome below is worked out by hand from the rule.
MAZE = [[0, 0, 0, 1, 0],
        [0, 9, 0, -1, 0],
        [0, 0, 0, 0, 9]]
HAND_TRANSITIONS = [
    # UP reaches (0, 0); the LEFT slip bumps the edge and the RIGHT slip the block: both stay.
    (State(1, 0), Action.UP, {State(0, 0): 0.7, State(1, 0): 0.3}),
    # DOWN reaches (1, 2); the slips go left to (0, 1) and right onto the treasure.
    (State(0, 2), Action.DOWN, {State(1, 2): 0.7, State(0, 1): 0.15, State(0, 3): 0.15}),
    # DOWN into the block stays; the slips go left and right.
    (State(0, 1), Action.DOWN, {State(0, 1): 0.7, State(0, 0): 0.15, State(0, 2): 0.15}),
    # RIGHT into the block stays, UP slips onto the danger, DOWN bumps the edge and stays.
    (State(2, 3), Action.RIGHT, {State(2, 3): 0.85, State(1, 3): 0.15}),
    # LEFT onto the danger; UP slips to (0, 4); DOWN into the block stays.
    (State(1, 4), Action.LEFT, {State(1, 3): 0.7, State(0, 4): 0.15, State(1, 4): 0.15}),
    # LEFT bumps the edge; UP slips to (1, 0); DOWN bumps the edge too.
    (State(2, 0), Action.LEFT, {State(2, 0): 0.85, State(1, 0): 0.15}),
    # The opposite move never happens: from (2, 2) UP can slip left or right, never down.
    (State(2, 2), Action.UP, {State(1, 2): 0.7, State(2, 1): 0.15, State(2, 3): 0.15}),
    # Nothing follows the end of an episode.
    (State(0, 3), Action.DOWN, {}),
    (State(1, 3), Action.UP, {}),
]


@pytest.mark.parametrize("state, action, expected", HAND_TRANSITIONS,
                         ids=[f"{s.row}{s.column}-{a.name}" for s, a, _ in HAND_TRANSITIONS])
def test_transit_func_by_hand(state, action, expected):
    probs = Environment(MAZE, move_prob=0.7).transit_func(state, action)
    assert probs.keys() == expected.keys()
    for next_state, prob in expected.items():
        assert probs[next_state] == pytest.approx(prob, abs=1e-12)


def test_grid_mdp_arrays_by_hand():
    mdp = GridMDP(MAZE, move_prob=0.7)
    assert (mdp.n_rows, mdp.n_columns, mdp.n_states) == (3, 5, 15)
    up, down, left, right = range(4)
    # State (1, 0) is number 5. UP: intended (0, 0) = 0, then the LEFT and RIGHT slips.
    assert mdp.next_state[5, up].tolist() == [0, 5, 5]
    assert mdp.prob[5, up].tolist() == pytest.approx([0.7, 0.15, 0.15])
    # State (2, 3) is number 13. RIGHT: the block (2, 4) keeps it at 13; slips UP to 8, DOWN 13.
    assert mdp.next_state[13, right].tolist() == [13, 8, 13]
    # State (0, 2) is number 2. DOWN: 7, then the LEFT and RIGHT slips, 1 and 3.
    assert mdp.next_state[2, down].tolist() == [7, 1, 3]
    assert mdp.next_state[2, left].tolist() == [1, 2, 7]
    # The ends (3: treasure, 8: danger) and the blocks (6, 14) have no outcomes at all.
    assert np.flatnonzero(mdp.prob.sum(axis=(1, 2)) == 0).tolist() == [3, 6, 8, 14]
    assert np.flatnonzero(mdp.terminal).tolist() == [3, 8]
    assert np.flatnonzero(mdp.blocked).tolist() == [6, 14]
    expected_reward = np.full(15, -0.04)
    expected_reward[3], expected_reward[8] = 1.0, -1.0
    np.testing.assert_allclose(mdp.reward, expected_reward)
    # One backup by hand: Q(5, UP) = 0.7 (R(0) + γ V(0)) + 0.3 (R(5) + γ V(5)).
    V = np.arange(15, dtype=float)
    Q = mdp.action_values(V, gamma=0.5)
    assert Q[5, up] == pytest.approx(0.7 * (-0.04 + 0.0) + 0.3 * (-0.04 + 2.5))
