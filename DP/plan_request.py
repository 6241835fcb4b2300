"""Day2: the checks of a ``POST /plan`` body, before any planning starts.

``parse_plan_request`` turns the body into a ``PlanRequest`` or raises ``BadRequest`` with
the 4xx status and a sentence that says what to fix. ``parse_maze`` checks the maze part (the
grid and its rewards, through ``check_maze``); the Day3 socket checks its mazes with it too.

Departure from the book: its server read the body as it came and let a bad one end in a
traceback; here malformed or wrong-typed input gets 400, a grid over 20 x 20 or a body over
64 KiB gets 413.
"""

import json
import math
from dataclasses import dataclass

from DP.http_safety import BODY_TOO_LARGE, MAX_BODY_BYTES
from DP.vectorized_planner import MazeTooLarge, check_maze

PLAN_NAMES = {"value": "Value Iteration", "policy": "Policy Iteration"}
DEFAULT_PROB = 0.8
DEFAULT_GAMMA = 0.9
# The page edits grids from 2 x 2 to 20 x 20; the API accepts 1 to 20 rows and columns.
MAX_SIDE = 20


class BadRequest(Exception):
    """Input the API refuses: ``status`` is the 4xx code, ``message`` says what to fix."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PlanRequest:
    plan: str
    grid: list
    prob: float
    gamma: float
    rewards: list = None  # the reward on arrival at each cell; None: the defaults by kind


# The JSON type each field of /plan must have, checked for every field before any value is
# used: a list where a string belongs must get a 400, not a TypeError deep in the code.
# "plan" and "grid" are required; "prob" and "gamma" have defaults, "rewards" defaults by kind.
FIELD_TYPES = {
    "plan": ("a string", str),
    "prob": ("a number", (int, float)),
    "gamma": ("a number", (int, float)),
    "grid": ("a list of rows", list),
    "rewards": ("a list of rows", list),
}
REQUIRED_FIELDS = {
    "plan": 'use "value" or "policy"',
    "grid": "send a list of rows of cells",
}


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _show(value, limit=40):
    """``value`` as short JSON text, for an error message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _has_json_type(value, python_types):
    # bool is a subclass of int in Python, but true and false are not numbers in JSON.
    if isinstance(value, bool):
        return python_types is bool
    return isinstance(value, python_types)


def _check_field_types(data):
    """Raise ``BadRequest`` unless every key is known and every field has its JSON type."""
    unknown = sorted(set(data) - set(FIELD_TYPES))
    if unknown:
        raise BadRequest(f"unknown key {_show(unknown[0])}: use {', '.join(FIELD_TYPES)}")
    for key, hint in REQUIRED_FIELDS.items():
        if key not in data:
            raise BadRequest(f'the body has no "{key}": {hint}')
    for key, (type_name, python_types) in FIELD_TYPES.items():
        if key in data and not _has_json_type(data[key], python_types):
            raise BadRequest(f'"{key}" must be {type_name}, got {_show(data[key])}')


def _probability(data, key, default):
    value = data.get(key, default)  # a number already (see _check_field_types)
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value <= 1:
        raise BadRequest(f'"{key}" must be between 0 and 1, got {_show(value)}')
    return float(value)


def parse_plan_request(body):
    """Validate a ``/plan`` body (bytes) and return a ``PlanRequest``; raise ``BadRequest``.

    Everything is checked before any planning starts: the size, the JSON itself (NaN and
    Infinity are refused although Python's parser would accept them), the keys and the JSON
    type of every field (all in ``_check_field_types``), then the ranges, the maze
    (rectangular, known cell values, a free start cell) and the rewards (the maze's shape,
    numbers from -10 to 10: a number too large for a float, like 1e400, is refused too).
    """
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(BODY_TOO_LARGE, status=413)
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object like {"plan": "value", "grid": [[0, 1]]}')
    _check_field_types(data)
    plan = data["plan"]
    if plan not in PLAN_NAMES:
        raise BadRequest(f'unknown plan {_show(plan)}: use "value" or "policy"')
    prob = _probability(data, "prob", DEFAULT_PROB)
    gamma = _probability(data, "gamma", DEFAULT_GAMMA)
    grid, rewards = parse_maze(data, prob)
    return PlanRequest(plan=plan, grid=grid, prob=prob, gamma=gamma, rewards=rewards)


def parse_maze(data, prob):
    """The ``grid`` and ``rewards`` of a type-checked request, checked as a maze; both pages
    (/plan and the Day3 socket) send a maze this way. Returns ``(grid, rewards or None)``."""
    grid, rewards = data["grid"], data.get("rewards")
    try:
        check_maze(grid, prob, max_side=MAX_SIDE)
    except MazeTooLarge as error:
        raise BadRequest(str(error), status=413) from None
    except ValueError as error:
        raise BadRequest(f"invalid maze: {error}") from None
    if rewards is not None:
        try:
            check_maze(grid, prob, rewards)
        except ValueError as error:
            raise BadRequest(f'invalid "rewards": {error}') from None
    return grid, rewards
