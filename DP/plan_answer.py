"""Day2: a plan turned into the JSON the simulator's page plays back.

``answer_json`` encodes a finished planner: the values of every sweep, the arrows of every
sweep, the final Q-values and policy, the transition model for the walking agent, warnings
about the maze and, for Policy Iteration, every evaluation sweep and improvement step
(``_policy_iteration_steps``). The book's server sent only the log of values.
"""

import json
import math
import time

import numpy as np

from DP.environment import ACTIONS
from DP.maze_advice import maze_warnings
from DP.plan_request import PLAN_NAMES

THRESHOLD = 0.0001
# Bounds on one request's work. Sweeps cost about 20 µs on a 20 x 20 grid, but the log of a
# long run is what gets heavy (one grid per sweep), so a thousand is the cap; γ up to 0.99
# converges well within it. Policy Iteration applies the cap to its improvement steps and to
# each evaluation, and a longer plan sends only every n-th evaluation sweep.
MAX_ITERATIONS = 1000
LOG_DECIMALS = 4
ACTION_BITS = 1 << np.arange(len(ACTIONS))


def _cells(flat, n_columns):
    return [flat[i:i + n_columns] for i in range(0, len(flat), n_columns)]


def _policy_iteration_steps(planner, arrows_of):
    """Policy Iteration's ``steps`` as JSON-ready dicts (see ``answer_json``).

    A step carries only what it changes (values, or arrows), so that a 20 x 20 plan of
    some 200 sweeps stays small and quick to encode. A plan of more than ``MAX_ITERATIONS``
    sweeps in all keeps every n-th sweep of each evaluation and its last one (their ``sweep``
    numbers tell which), so that the answer stays about as large as Value Iteration's.
    """
    mdp = planner.mdp
    sweeps = sum(step.kind == "evaluation" for step in planner.steps)
    every = max(1, math.ceil(sweeps / MAX_ITERATIONS))
    kept, sweep = [], 0
    for index, step in enumerate(planner.steps):
        if step.kind == "evaluation":
            sweep += 1
            last = index + 1 == len(planner.steps) or planner.steps[index + 1].kind != "evaluation"
            if sweep % every == 0 or last:
                kept.append((step, sweep))
        else:
            kept.append((step, sweep))
            sweep = 0
    evaluated = [step.V for step, _ in kept if step.kind == "evaluation"]
    values = iter(np.round(np.reshape(evaluated, (-1, mdp.n_rows, mdp.n_columns)),
                           LOG_DECIMALS).tolist())
    answer = []
    for step, sweep in kept:
        entry = {"kind": step.kind, "policy": step.policy_number}
        if step.kind == "evaluation":
            entry.update(sweep=sweep, delta=step.delta, values=next(values))
        else:
            if step.kind == "start":
                entry["values"] = np.zeros((mdp.n_rows, mdp.n_columns)).tolist()
            else:
                entry["changed"] = step.changed
            entry["arrows"] = arrows_of(step.policy > 0)
        answer.append(entry)
    return answer


def answer_json(planner, request, started):
    """The JSON text of the answer to ``request`` (a ``PlanRequest``), planned by ``planner``;
    ``started`` is the ``time.perf_counter()`` of the start, for ``elapsed_ms``.

    The answer holds everything the page plays back:

    - ``log``: the value grid after every sweep (Value Iteration) or after every policy
      evaluation (Policy Iteration), starting with the all-zero grid, rounded to 4 decimals;
    - ``values`` (the final values, full precision), ``iterations`` (``len(log) - 1``) and
      ``deltas`` (the largest change of a value at each iteration: how convergence goes);
    - ``policy``: every greedy action of each cell (ties kept), ``[]`` where nothing is chosen;
    - ``q_values``: the final Q(s, a) of each cell, in the order of ``actions``, ``null`` where
      the episode has ended or on a block;
    - ``arrows_log``: for every entry of ``log``, the arrows to draw, one bit per action
      (bit ``i`` is ``actions[i]``). Value Iteration: the greedy actions of that sweep's values.
      Policy Iteration: the uniformly random start policy (all four), then the policy after
      each improvement step;
    - ``policy_log`` (Policy Iteration only): the action each cell takes after each
      improvement step (``null`` where nothing is chosen);
    - ``steps`` (Policy Iteration only): every step on the way, for playing it back sweep by
      sweep. Each step carries what it changes: ``{"kind": "start", "policy": 0, "values",
      "arrows"}`` (the random policy), ``{"kind": "evaluation", "policy": k, "sweep": j,
      "delta", "values"}`` (sweep j of evaluating policy k; ``delta`` is its largest change of
      a value) and ``{"kind": "improvement", "policy": k, "changed", "arrows"}`` (policy k made
      greedy; ``changed`` cells changed their action, 0 means the plan is done). A plan of more
      than ``MAX_ITERATIONS`` sweeps sends every n-th sweep of each evaluation and its last;
    - ``rewards``: the reward on arriving at each cell that was planned with (``null`` on blocks);
    - ``model``: the transition table the planner used, for the page's walking agent:
      ``next_state[s][a]`` and ``prob[s][a]`` list the (up to three) outcomes of action ``a`` in
      cell ``s = row * columns + column``; ``start`` is the start cell ``[row, column]``;
    - ``warnings``: ``{"code", "message"}`` for a maze that plans but may surprise: one with no
      Treasure or Danger, or where none can be reached from the start.
    """
    mdp, gamma = planner.mdp, request.gamma
    n_rows, n_columns, n_states = mdp.n_rows, mdp.n_columns, mdp.n_states
    history = np.asarray(planner.log, dtype=float).reshape(len(planner.log), n_states)
    acting = planner.acting

    def arrows_of(mask):
        """One bit per action (bit i is actions[i]) for each acting cell, as a grid."""
        return ((mask & acting[:, None]) @ ACTION_BITS).reshape(n_rows, n_columns).tolist()

    names = [action.name for action in ACTIONS]
    Q = mdp.action_values(planner.V, gamma)
    q_values = [q if act else None for q, act in zip(Q.tolist(), acting)]
    greedy = [[[action.name for action in cell] for cell in row]
              for row in planner.greedy_actions()]
    answer = {
        "plan": request.plan,
        "name": PLAN_NAMES[request.plan],
        "gamma": gamma,
        "prob": request.prob,
        "threshold": THRESHOLD,
        "rows": n_rows,
        "columns": n_columns,
        "actions": names,
        "iterations": planner.iterations,
        "log": np.round(history, LOG_DECIMALS).reshape(-1, n_rows, n_columns).tolist(),
        "deltas": np.abs(np.diff(history, axis=0)).max(axis=1, initial=0.0).tolist(),
        "values": history[-1].reshape(n_rows, n_columns).tolist(),
        "policy": greedy,
        "q_values": _cells(q_values, n_columns),
        "arrows_log": [arrows_of(mask) for mask in planner.actions_log()],
        "rewards": _cells([None if block else r
                           for r, block in zip(mdp.reward.tolist(), mdp.blocked)], n_columns),
        "model": {
            "next_state": mdp.next_state.tolist(),
            # 12 decimals: 0.1 rather than 0.09999999999999998, half the text, same draws.
            "prob": np.round(mdp.prob, 12).tolist(),
            "start": [n_rows - 1, 0],
        },
        "warnings": maze_warnings(mdp),
    }
    if request.plan == "policy":
        steps = np.asarray(planner.policy_log, dtype=int).reshape(-1, n_states).tolist()
        answer["policy_log"] = [
            _cells([names[a] if act else None for a, act in zip(step, acting)], n_columns)
            for step in steps
        ]
        answer["steps"] = _policy_iteration_steps(planner, arrows_of)
    answer["elapsed_ms"] = (time.perf_counter() - started) * 1000
    return json.dumps(answer, separators=(",", ":"), allow_nan=False)
