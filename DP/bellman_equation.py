"""Day2: the Bellman equation, computed by plain recursion.

A tiny game: make five moves, each "up" or "down". A move goes the chosen way with
probability 0.9 and the other way with 0.1. After five moves the game ends: with at least
four "up" it is a happy end (+1), otherwise a bad end (−1). States are strings that record the
moves so far, such as ``"state_up_up"``.

The value of a state is its reward plus the discounted value of the best next move, where
"value of a move" is an expectation over where the move may actually lead:

    V(s) = R(s) + γ max_a Σ_s' T(s'|s, a) V(s')

This is the Bellman equation. Writing it recursively lets us postpone what we cannot know yet
(the future) to the next call.
"""

import argparse
from functools import cache

from common import probability, seed_value

LIMIT_GAME_COUNT = 5
HAPPY_END_BORDER = 4
MOVE_PROB = 0.9


@cache
def V(s, gamma=0.99):
    # The cache is dynamic programming in one line: each state's value is computed once, even
    # though many move sequences lead to it through the recursion.
    return R(s) + gamma * max_V_on_next_state(s, gamma)


def R(s):
    """Reward of a state: only the end states pay."""
    if s == "happy_end":
        return 1
    if s == "bad_end":
        return -1
    return 0


def max_V_on_next_state(s, gamma=0.99):
    """The best expected value over the actions; 0 once the game has ended."""
    if s in ("happy_end", "bad_end"):
        return 0
    values = []
    for a in ("up", "down"):
        transition_probs = transit_func(s, a)
        values.append(sum(prob * V(next_state, gamma)
                          for next_state, prob in transition_probs.items()))
    return max(values)


def transit_func(s, a):
    """``{next_state: probability}`` for action ``a`` in state ``s``.

    A move appends to the state's name: ``transit_func("state_up", "down")`` can lead to
    ``"state_up_down"`` (0.9) or ``"state_up_up"`` (0.1). After five moves, the only next
    state is the end the moves have earned.
    """
    moves = s.split("_")[1:]
    if len(moves) == LIMIT_GAME_COUNT:
        ups = moves.count("up")
        return {"happy_end" if ups >= HAPPY_END_BORDER else "bad_end": 1.0}
    opposite = "down" if a == "up" else "up"
    return {f"{s}_{a}": MOVE_PROB, f"{s}_{opposite}": 1 - MOVE_PROB}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Print the Bellman values of the five-move up/down game."
    )
    parser.add_argument("--gamma", type=probability, default=0.99,
                        help="discount factor from 0 to 1 (default 0.99)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="accepted for uniformity; this computation is deterministic")
    args = parser.parse_args(argv)
    for state in ("state", "state_up_up", "state_down_down"):
        print(f'V("{state}") = {V(state, args.gamma):.6f}')


if __name__ == "__main__":
    main()
