"""Day2: what the simulator tells a reader about a maze beyond its values.

``maze_warnings`` flags a maze that plans but may surprise (no Treasure or Danger, or none
reachable from the start); ``convergence_hint`` says what to change when planning hit the
iteration cap. Both rest on ``cells_that_can_end``: which cells some run of moves can take to
a Treasure or Danger. Each comes with a ``code`` the page words in Japanese. The book's
simulator had neither.
"""

import numpy as np

from DP.vectorized_planner import Environment


def cells_that_can_end(mdp):
    """Boolean (S,): True where some run of moves can reach a Treasure or Danger.

    Starts from the cells where the episode ends and repeatedly adds every cell with an
    action that may land on a cell already found, until nothing changes.
    """
    found = mdp.terminal.copy()
    possible = mdp.prob > 0  # (S, 4, 3): the outcomes that can happen
    while True:
        grown = found | (possible & found[mdp.next_state]).any(axis=(1, 2))
        if np.array_equal(grown, found):
            return found
        found = grown


def convergence_hint(request):
    """What to change when planning ``request`` hit the iteration cap, as ``{"code",
    "safe_gamma", "text"}``: a code for the page, the γ that always converges with these
    rewards, and a true sentence.

    Measured on this maze simulator: with rewards from -1 to 1 (the defaults), γ = 0.99 or
    lower always converges within the cap. A sweep shrinks the remaining error by γ, so
    larger rewards need a few more sweeps: with rewards up to ±10, γ = 0.98 or lower
    converges (0.98^k · 10 falls below the threshold within 600 sweeps). At γ = 1 nothing is
    discounted, so a cell that can never end the episode loses 0.04 per step forever (or,
    with a positive reward, gains it forever), and no planner converges. Even when every cell
    can end it, Policy Iteration first evaluates the uniformly random policy, whose random
    walk needs far more sweeps than the cap on all but small mazes; Value Iteration follows
    the best moves instead and usually converges there.
    """
    mdp = Environment(request.grid, move_prob=request.prob, rewards=request.rewards).mdp
    safe = "0.99" if np.abs(mdp.reward).max() <= 1 else "0.98"
    lower = f"lower γ (gamma) below 1 ({safe} or lower always converges)"

    def hint(code, text):
        return {"code": code, "safe_gamma": float(safe), "text": text}

    if request.gamma < 1:
        return hint("gamma_close_to_1", "values settle slowly when γ (gamma) is close to 1: "
                    f"lower it ({safe} or lower always converges with these rewards)")
    ordinary = ~(mdp.terminal | mdp.blocked)
    if (mdp.reward[ordinary] > 0).any():
        return hint("positive_reward", "at γ = 1 a positive reward on an ordinary cell can be "
                    "collected again and again, so values grow without end: "
                    f"{lower}, or make those rewards negative")
    if not (cells_that_can_end(mdp) | mdp.blocked).all():
        return hint("never_ends", "at γ = 1 a cell that can never reach a Treasure or Danger "
                    f"loses value without end: {lower}, or make a Treasure or Danger "
                    "reachable from every cell")
    if request.plan == "policy":
        return hint("random_policy", "at γ = 1 Policy Iteration's evaluation of a wandering "
                    "policy (such as the uniformly random one it starts from) takes too many "
                    f"sweeps: {lower}, or try Value Iteration")
    return hint("gamma_1", lower)


def maze_warnings(mdp):
    """Warnings for a maze that plans but may surprise a learner: ``[{"code", "message"}]``."""
    if not mdp.terminal.any():
        return [{"code": "no_terminal", "message": (
            "the maze has no Treasure or Danger, so no episode ever ends: every value is the "
            "discounted sum of the rewards of wandering forever")}]
    start = mdp.n_states - mdp.n_columns  # the lower-left cell
    if not cells_that_can_end(mdp)[start]:
        return [{"code": "unreachable", "message": (
            "no Treasure or Danger can be reached from the start, so an episode from there "
            "never ends")}]
    return []
