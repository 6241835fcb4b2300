"""Day2: the DP maze simulator's web server (Tornado).

Draw a maze in the browser, and watch Value Iteration or Policy Iteration solve it, sweep by
sweep. ``python DP/run_server.py`` starts this application. The book's names stay:

- ``Application`` (a ``tornado.web.Application``) serves the page and the JSON API;
- ``IndexHandler`` answers ``GET /`` with the page (``DP/templates/index.html``, whose script
  and style live in ``DP/static``: no CDN, no build step, it works offline);
- ``PlanningHandler`` answers ``POST /plan``.

``POST /plan`` takes the book's JSON, ``{"plan": "value"|"policy", "prob": 0.8, "grid": [[...]]}``,
plus an optional ``"gamma"`` (default 0.9) and an optional ``"rewards"``: a grid of numbers of
the maze's shape, the reward on arriving at each cell (from -10 to 10; blocks are ignored).
Without it the defaults by kind apply: +1 (Treasure), -1 (Danger), -0.04 (any other cell).
It answers with everything the page plays back:

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

The arrows of each sweep and Policy Iteration's steps come from ``DP/planner.py``; this module
only checks the request and turns the planner's results into JSON.

Deviation from the book: the book's server accepted any body and let errors reach the
client as tracebacks. Here every request is validated first. Malformed or wrong-typed input
gets 400 with ``{"error": "..."}``, a grid larger than 20 × 20 or a body over 64 KiB gets 413,
a body not sent as ``application/json`` gets 415, and a plan that does not converge within
the iteration cap (or the time limit) gets 422. Planning runs in a thread pool, so the
server keeps answering other requests while it plans, and it never runs in debug mode.

It is also careful about who is asking (see ``host_is_allowed``): it answers only requests
addressed to a loopback name or address, or to the ``--host`` it was started with, and it
drops connections whose headers or body stall (``http_server_options``). Every answer, the
errors included, carries the security headers, and ``HEAD`` is answered wherever ``GET`` is.
"""

import asyncio
import ipaddress
import json
import math
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tornado.web

from DP.environment import ACTIONS
from DP.vectorized_planner import (
    REWARD_LIMIT,
    Environment,
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    validate_rewards,
)

HERE = Path(__file__).resolve().parent
TEMPLATE_PATH = HERE / "templates"
STATIC_PATH = HERE / "static"

PLANNERS = {"value": ValueIterationPlanner, "policy": PolicyIterationPlanner}
PLAN_NAMES = {"value": "Value Iteration", "policy": "Policy Iteration"}
DEFAULT_PROB = 0.8
DEFAULT_GAMMA = 0.9
THRESHOLD = 0.0001
# The page edits grids from 2 x 2 to 20 x 20; the API accepts 1 to 20 rows and columns.
MAX_SIDE = 20
# A 20 x 20 grid is about 2 KB of JSON, so 64 KiB leaves room for any formatting.
MAX_BODY_BYTES = 64 * 1024
BODY_TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES} bytes"
# A /plan body larger than MAX_BODY_BYTES but at most this is still read to its end (and thrown
# away as it arrives) before the 413 is sent. A client usually sends its whole body before it
# reads the answer; if the server closed the connection with part of the body unread, the
# client's system would see a reset and the client might never read the 413. Above this
# limit the 413 is sent at once and the connection closed: only a client that waits for
# "100 Continue" (curl does for large bodies) is then sure to read it.
CONNECTION_BODY_LIMIT = 1024 * 1024
# A connection must deliver its request headers within this time (Tornado applies the same
# limit to an idle keep-alive connection waiting for its next request), and a body within
# BODY_TIMEOUT_S. Otherwise a client that opens connections and sends nothing, or one byte
# now and then ("slowloris"), would hold them open for as long as it likes.
IDLE_TIMEOUT_S = 30.0
BODY_TIMEOUT_S = 10.0


def http_server_options(idle_timeout=IDLE_TIMEOUT_S, body_timeout=BODY_TIMEOUT_S):
    """The keyword arguments for Tornado's ``HTTPServer``: size limits and timeouts.

    Tests pass small timeouts to see stalled connections dropped quickly.
    """
    return {
        # Bodies above this are refused by the HTTP layer (``/plan`` answers them itself).
        "max_body_size": CONNECTION_BODY_LIMIT,
        # Bytes of one connection held in memory at most (a few bodies' worth).
        "max_buffer_size": 4 * CONNECTION_BODY_LIMIT,
        # Headers, and idle keep-alive connections: closed after this many seconds.
        "idle_connection_timeout": idle_timeout,
        "body_timeout": body_timeout,
    }


HTTP_SERVER_OPTIONS = http_server_options()
# Bounds on one request's work. Sweeps cost about 20 µs on a 20 x 20 grid, but the log of a
# long run is what gets heavy (one grid per sweep), so a thousand is the cap; γ up to 0.99
# converges well within it. Policy Iteration applies the cap to its improvement steps and to
# each evaluation. The time limit is a second guard in case the machine is overloaded.
MAX_ITERATIONS = 1000
PLAN_TIMEOUT_S = 10.0
# One planning thread: planning holds Python's interpreter lock most of the time, so a second
# thread would not plan any faster, it would only make the event loop wait longer for the
# lock (measured: the page's p95 under load roughly doubles). Plans queue up instead.
PLANNING_THREADS = 1
LOG_DECIMALS = 4
ACTION_BITS = 1 << np.arange(len(ACTIONS))

SECURITY_HEADERS = {
    # Only this server's own scripts, styles and API; no inline code, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


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


def _grid(grid):
    if not all(isinstance(row, list) for row in grid):
        raise BadRequest('"grid" must be a list of rows, each a list of cells')
    if not grid or not grid[0]:
        raise BadRequest('"grid" must have at least one row and one column')
    if len(grid) > MAX_SIDE or any(len(row) > MAX_SIDE for row in grid):
        raise BadRequest(f"the grid is larger than {MAX_SIDE} x {MAX_SIDE} cells", status=413)
    for row in grid:
        for cell in row:
            if not _has_json_type(cell, int):
                raise BadRequest(
                    f"unknown cell value {_show(cell)}: use 0 (ordinary), 1 (treasure), "
                    "-1 (danger) or 9 (block)"
                )
    return grid


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
    if plan not in PLANNERS:
        raise BadRequest(f'unknown plan {_show(plan)}: use "value" or "policy"')
    prob = _probability(data, "prob", DEFAULT_PROB)
    gamma = _probability(data, "gamma", DEFAULT_GAMMA)
    grid, rewards = parse_maze(data, prob)
    return PlanRequest(plan=plan, grid=grid, prob=prob, gamma=gamma, rewards=rewards)


def parse_maze(data, prob):
    """The ``grid`` and ``rewards`` of a type-checked request, checked as a maze; both pages
    (/plan and the Day3 socket) send a maze this way. Returns ``(grid, rewards or None)``."""
    grid = _grid(data["grid"])
    try:
        env = Environment(grid, move_prob=prob)  # validate_grid: rectangular, known cells, start
    except ValueError as error:
        raise BadRequest(f"invalid maze: {error}") from None
    rewards = data.get("rewards")
    if rewards is not None:
        try:
            validate_rewards(rewards, env.mdp.grid.shape)
        except ValueError as error:
            raise BadRequest(f'invalid "rewards": {error}') from None
    return grid, rewards


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
    """What to change when planning ``request`` hit the iteration cap (a true sentence).

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
    if request.gamma < 1:
        return ("values settle slowly when γ (gamma) is close to 1: lower it "
                f"({safe} or lower always converges with these rewards)")
    ordinary = ~(mdp.terminal | mdp.blocked)
    if (mdp.reward[ordinary] > 0).any():
        return (f"at γ = 1 a positive reward on an ordinary cell can be collected again and "
                f"again, so values grow without end: {lower}, or make those rewards negative")
    if not (cells_that_can_end(mdp) | mdp.blocked).all():
        return (f"at γ = 1 a cell that can never reach a Treasure or Danger loses value without "
                f"end: {lower}, or make a Treasure or Danger reachable from every cell")
    if request.plan == "policy":
        return ("at γ = 1 Policy Iteration's evaluation of a wandering policy (such as the "
                f"uniformly random one it starts from) takes too many sweeps: {lower}, "
                "or try Value Iteration")
    return lower


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


def _cells(flat, n_columns):
    return [flat[i:i + n_columns] for i in range(0, len(flat), n_columns)]


def _policy_iteration_steps(planner, arrows_of):
    """Policy Iteration's ``steps`` as JSON-ready dicts (see the module docstring).

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


def solve(request):
    """Plan the maze of ``request`` and return the JSON text of the answer (see the docstring).

    Runs in a worker thread. Raises ``PlanningDidNotConverge`` when the iteration cap is hit.
    """
    start = time.perf_counter()
    env = Environment(request.grid, move_prob=request.prob, rewards=request.rewards)
    planner = PLANNERS[request.plan](env)
    planner.plan(gamma=request.gamma, threshold=THRESHOLD, max_iterations=MAX_ITERATIONS)
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
    answer["elapsed_ms"] = (time.perf_counter() - start) * 1000
    return json.dumps(answer, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------- who may ask

# DNS rebinding: a page on another site (say attacker.example) can make its own name point at
# 127.0.0.1 a moment after the browser loaded it. Its script then talks to "attacker.example",
# which is now this server, and the browser allows it, because to the browser that is the
# page's own origin. The one thing the attacker cannot change is the name the browser puts in
# the Host header, so the server answers only requests addressed to a name that cannot be an
# attacker's: loopback names and addresses, and the --host it was started with.
LOOPBACK_NAMES = {"localhost"}
# Listening on every interface: other machines reach the server by this machine's address.
WILDCARD_HOSTS = {"", "0.0.0.0", "::"}
# "name", "name:port", "[IPv6]" or "[IPv6]:port", in lower case.
HOST_HEADER = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{0,5})?")


def _host_name(host):
    """The name or address in a Host header (no port, no brackets, no final dot), or None."""
    match = HOST_HEADER.fullmatch(host.strip().lower())
    if not match:
        return None
    return (match["ipv6"] or match["name"]).rstrip(".")


def _ip_address(name):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None  # a name, not an address


def host_is_allowed(host_header, server_host=None):
    """True if a request whose Host header is ``host_header`` may be answered.

    Always allowed: ``localhost`` and the loopback addresses (127.x.x.x, ::1), with or without
    a port. ``server_host`` is the ``--host`` the server listens on: that name is allowed too.
    When it listens on every interface (``""``, ``0.0.0.0``, ``::``), any IP address and this
    machine's own host name are allowed as well: an address typed into the browser involves
    no DNS, so there is nothing to rebind.
    """
    name = _host_name(host_header)
    if not name:
        return False
    address = _ip_address(name)
    if name in LOOPBACK_NAMES or (address is not None and address.is_loopback):
        return True
    if server_host is None:
        return False
    if server_host in WILDCARD_HOSTS:
        return address is not None or name == socket.gethostname().lower()
    own = _host_name(server_host)
    own_address = _ip_address(own) if own else None
    if address is not None and own_address is not None:
        return address == own_address  # "::1" and "0:0:0:0:0:0:0:1" are the same address
    return name == own


# ---------------------------------------------------------------------- handlers


class SecureHeadersMixin:
    """Security headers on every answer, and errors as JSON: pages, API, static files alike."""

    def set_default_headers(self):
        self.clear_header("Server")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)

    def write_error(self, status_code, **kwargs):
        """Errors as ``{"error": "..."}``; never a traceback (and never debug mode).

        ``send_error`` clears the headers first and then sets the default ones again, so the
        security headers are on every error too.
        """
        message = self._reason
        exception = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exception, tornado.web.HTTPError) and exception.log_message:
            message = exception.log_message
        if status_code >= 500:
            message = "internal server error"
        self.answer_error(status_code, message)

    def answer_error(self, status, message):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": message}))


class BaseHandler(SecureHeadersMixin, tornado.web.RequestHandler):
    pass


class NotFoundHandler(BaseHandler):
    def prepare(self):
        raise tornado.web.HTTPError(404, "no such page")


class WrongHostHandler(BaseHandler):
    """Answers every request addressed to a name this server does not answer for."""

    def prepare(self):
        # 421 Misdirected Request: "this server does not serve that name".
        raise tornado.web.HTTPError(
            421, "this server answers only requests addressed to localhost, 127.0.0.1 or the "
            "--host it was started with"
        )


class SecureStaticFileHandler(SecureHeadersMixin, tornado.web.StaticFileHandler):
    def parse_url_path(self, url_path):
        # A NUL byte cannot be in a file name: the operating system would refuse the path
        # with a ValueError, which would become a 500.
        if "\x00" in url_path:
            raise tornado.web.HTTPError(404, "no such file")
        return super().parse_url_path(url_path)

    def validate_absolute_path(self, root, absolute_path):
        try:
            return super().validate_absolute_path(root, absolute_path)
        except (ValueError, OSError):  # a path the operating system cannot even look up
            raise tornado.web.HTTPError(404, "no such file") from None


class IndexHandler(BaseHandler):
    def get(self):
        self.render(
            "index.html",
            max_side=MAX_SIDE,
            reward_limit=REWARD_LIMIT,
            default_prob=DEFAULT_PROB,
            default_gamma=DEFAULT_GAMMA,
        )

    # HEAD is GET without the body: Tornado sends the headers (Content-Length included) only.
    head = get


def _content_length(headers):
    """The declared body length, or None (none declared, or not a number: Tornado refuses it)."""
    text = headers.get("Content-Length", "")
    return int(text) if text.isascii() and text.isdigit() else None


@tornado.web.stream_request_body
class PlanningHandler(BaseHandler):
    """``POST /plan``. The body is received piece by piece (``data_received``), so that a body
    over the limit can be answered with a 413 the client can read (see
    ``CONNECTION_BODY_LIMIT``) instead of Tornado's bare "400 Bad Request"."""

    def prepare(self):
        self.body = bytearray()
        self.received = 0
        # /plan enforces its own limits, below; Tornado's would cut in with a bare 400.
        self.request.connection.set_max_body_size(2 ** 63)
        length = _content_length(self.request.headers)
        if length is None or length <= MAX_BODY_BYTES:
            return
        # A client that waits for "100 Continue" has sent nothing yet, so it can read an
        # answer now; a body too large to read to its end is answered now as well.
        waits = self.request.headers.get("Expect", "").lower() == "100-continue"
        if waits or length > CONNECTION_BODY_LIMIT:
            self.answer_error(413, BODY_TOO_LARGE)

    def data_received(self, chunk):
        self.received += len(chunk)
        if self.received <= MAX_BODY_BYTES:
            self.body += chunk
        elif self.received > CONNECTION_BODY_LIMIT:
            # Only a body without Content-Length (chunked) gets here: stop reading it.
            self.answer_error(413, BODY_TOO_LARGE)
        else:
            self.body.clear()  # over the limit: read on to the end, keep nothing

    async def post(self):
        content_type = self.request.headers.get("Content-Type", "")
        # Requiring JSON also means a page on another site cannot post here with a plain
        # HTML form: a cross-origin JSON request needs the browser's CORS permission first.
        if content_type.split(";")[0].strip().lower() != "application/json":
            return self.answer_error(415, "send the body as Content-Type: application/json")
        if self.received > MAX_BODY_BYTES:
            return self.answer_error(413, BODY_TOO_LARGE)
        try:
            request = parse_plan_request(bytes(self.body))
        except BadRequest as error:
            return self.answer_error(error.status, error.message)
        loop = asyncio.get_running_loop()
        # Planning and encoding run in a worker thread: the event loop stays free to answer
        # other requests (the page, its files, other plans) in the meantime.
        work = loop.run_in_executor(self.application.executor, solve, request)
        try:
            text = await asyncio.wait_for(work, self.application.plan_timeout)
        except PlanningDidNotConverge as error:
            return self.answer_error(422, f"{error}: {convergence_hint(request)}")
        except asyncio.TimeoutError:
            return self.answer_error(
                422, f"planning took longer than {self.application.plan_timeout:g} s and was "
                "stopped: try a smaller maze or a lower γ (gamma)"
            )
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


class Application(tornado.web.Application):
    """The simulator: ``/`` (the page), ``/plan`` (the API), ``/static/...`` (its files), and
    Day3's ``/learn`` with its WebSocket ``/learn/socket`` (``DP/learning_socket.py``).

    ``host`` is the address the server listens on (``--host``): requests addressed to it are
    answered besides those addressed to loopback names (see ``host_is_allowed``); ``None``
    allows loopback names only. ``executor`` runs the planning (a pool of
    ``PLANNING_THREADS`` thread unless one is given); ``close()`` shuts it down. ``listen()``
    applies ``HTTP_SERVER_OPTIONS`` (limits and timeouts) to the HTTP server.
    Debug mode, autoreload and tracebacks are always off, whatever ``settings`` say.
    """

    def __init__(self, executor=None, plan_timeout=PLAN_TIMEOUT_S, host=None, **settings):
        # Day3's page /learn and its WebSocket (imported here: that module imports this one).
        from DP.learning_socket import LearningSessions, learning_handlers

        self.learning_sessions = LearningSessions()
        handlers = [
            (r"/", IndexHandler),
            (r"/plan", PlanningHandler),
            *learning_handlers(self.learning_sessions),
        ]
        settings.update(
            template_path=str(TEMPLATE_PATH),
            static_path=str(STATIC_PATH),
            static_handler_class=SecureStaticFileHandler,
            default_handler_class=NotFoundHandler,
            debug=False,
            autoreload=False,
            serve_traceback=False,
            compiled_template_cache=True,
            static_hash_cache=True,
        )
        super().__init__(handlers, **settings)
        self.executor = executor or ThreadPoolExecutor(
            max_workers=PLANNING_THREADS, thread_name_prefix="planner"
        )
        self.plan_timeout = plan_timeout
        self.host = host

    def find_handler(self, request, **kwargs):
        # Checked before any routing, so that no page, file or plan is served to a request
        # addressed to a name this server does not answer for (see host_is_allowed).
        if not host_is_allowed(request.host, self.host):
            return self.get_handler_delegate(request, WrongHostHandler)
        return super().find_handler(request, **kwargs)

    def listen(self, port, address=None, **kwargs):
        return super().listen(port, address, **{**HTTP_SERVER_OPTIONS, **kwargs})

    def close(self):
        self.learning_sessions.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
