"""Day2: the DP maze simulator's web server (Tornado).

Draw a maze in the browser, and watch Value Iteration or Policy Iteration solve it, sweep by
sweep. ``python DP/run_server.py`` starts this application. The book's names stay:

- ``Application`` (a ``tornado.web.Application``) serves the page and the JSON API;
- ``IndexHandler`` answers ``GET /`` with the page (``DP/templates/index.html``, whose script
  and style live in ``DP/static``: no CDN, no build step, it works offline);
- ``PlanningHandler`` answers ``POST /plan``.

``POST /plan`` takes the book's JSON, ``{"plan": "value"|"policy", "prob": 0.8, "grid": [[...]]}``,
plus an optional ``"gamma"`` (default 0.9), and answers with everything the page plays back:

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
  improvement step (``null`` where nothing is chosen).

Deviation from the book: the book's server accepted any body and let errors reach the
client as tracebacks. Here every request is validated first. Malformed or wrong-typed input
gets 400 with ``{"error": "..."}``, a grid larger than 20 × 20 or a body over 64 KiB gets 413,
a body not sent as ``application/json`` gets 415, and a plan that does not converge within
the iteration cap (or the time limit) gets 422. Planning runs in a thread pool, so the
server keeps answering other requests while it plans, and it never runs in debug mode.
"""

import asyncio
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tornado.web

from DP.environment import ACTIONS, Environment
from DP.planner import (
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    greedy_mask,
)

HERE = Path(__file__).resolve().parent
TEMPLATE_PATH = HERE / "templates"
STATIC_PATH = HERE / "static"

PLANNERS = {"value": ValueIterationPlanner, "policy": PolicyIterationPlanner}
PLAN_NAMES = {"value": "Value Iteration", "policy": "Policy Iteration"}
REQUEST_KEYS = ("plan", "prob", "gamma", "grid")
DEFAULT_PROB = 0.8
DEFAULT_GAMMA = 0.9
THRESHOLD = 0.0001
# The page edits grids from 2 x 2 to 20 x 20; the API accepts 1 to 20 rows and columns.
MAX_SIDE = 20
# A 20 x 20 grid is about 2 KB of JSON, so 64 KiB leaves room for any formatting.
MAX_BODY_BYTES = 64 * 1024
# Bodies above this are refused by the HTTP layer before they are read at all.
CONNECTION_BODY_LIMIT = 1024 * 1024
HTTP_SERVER_OPTIONS = {"max_body_size": CONNECTION_BODY_LIMIT}
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


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _number(data, key, default):
    value = data.get(key, default)
    # bool is a subclass of int in Python, but true/false are not numbers in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f'"{key}" must be a number between 0 and 1, got {json.dumps(value)}')
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value <= 1:
        raise BadRequest(f'"{key}" must be between 0 and 1, got {value!r}')
    return float(value)


def _grid(data):
    if "grid" not in data:
        raise BadRequest('the body has no "grid": send a list of rows of cells')
    grid = data["grid"]
    if not isinstance(grid, list) or not all(isinstance(row, list) for row in grid):
        raise BadRequest('"grid" must be a list of rows, each a list of cells')
    if not grid or not grid[0]:
        raise BadRequest('"grid" must have at least one row and one column')
    if len(grid) > MAX_SIDE or any(len(row) > MAX_SIDE for row in grid):
        raise BadRequest(f"the grid is larger than {MAX_SIDE} x {MAX_SIDE} cells", status=413)
    for row in grid:
        for cell in row:
            if isinstance(cell, bool) or not isinstance(cell, int):
                raise BadRequest(
                    f"unknown cell value {json.dumps(cell)}: use 0 (ordinary), 1 (treasure), "
                    "-1 (danger) or 9 (block)"
                )
    return grid


def parse_plan_request(body):
    """Validate a ``/plan`` body (bytes) and return a ``PlanRequest``; raise ``BadRequest``.

    Everything is checked before any planning starts: the size, the JSON itself (NaN and
    Infinity are refused although Python's parser would accept them), the keys, the types,
    the ranges and the maze (rectangular, known cell values, a free start cell).
    """
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"the body is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object like {"plan": "value", "grid": [[0, 1]]}')
    unknown = sorted(set(data) - set(REQUEST_KEYS))
    if unknown:
        raise BadRequest(f"unknown key {json.dumps(unknown[0])}: use {', '.join(REQUEST_KEYS)}")
    plan = data.get("plan")
    if plan not in PLANNERS:
        raise BadRequest(f'unknown plan {json.dumps(plan)}: use "value" or "policy"')
    prob = _number(data, "prob", DEFAULT_PROB)
    gamma = _number(data, "gamma", DEFAULT_GAMMA)
    grid = _grid(data)
    try:
        Environment(grid, move_prob=prob)  # validate_grid: rectangular, known cells, free start
    except ValueError as error:
        raise BadRequest(f"invalid maze: {error}") from None
    return PlanRequest(plan=plan, grid=grid, prob=prob, gamma=gamma)


def _cells(flat, n_columns):
    return [flat[i:i + n_columns] for i in range(0, len(flat), n_columns)]


def solve(request):
    """Plan the maze of ``request`` and return the JSON text of the answer (see the docstring).

    Runs in a worker thread. Raises ``PlanningDidNotConverge`` when the iteration cap is hit.
    """
    start = time.perf_counter()
    env = Environment(request.grid, move_prob=request.prob)
    planner = PLANNERS[request.plan](env)
    planner.plan(gamma=request.gamma, threshold=THRESHOLD, max_iterations=MAX_ITERATIONS)
    mdp, gamma = planner.mdp, request.gamma
    n_rows, n_columns, n_states = mdp.n_rows, mdp.n_columns, mdp.n_states
    history = np.asarray(planner.log, dtype=float).reshape(len(planner.log), n_states)
    acting = mdp.prob.sum(axis=(1, 2)) > 0  # cells where the agent still chooses an action

    if request.plan == "value":
        # The greedy actions of every sweep's values: the policy implied at that moment.
        masks = np.stack([greedy_mask(mdp.action_values(V, gamma)) for V in history])
    else:
        steps = np.asarray(planner.policy_log, dtype=int).reshape(-1, n_states)
        uniform = np.ones((1, n_states, len(ACTIONS)), dtype=bool)
        masks = np.concatenate([uniform, np.eye(len(ACTIONS), dtype=bool)[steps]])
    arrows = (masks & acting[None, :, None]) @ ACTION_BITS

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
        "arrows_log": arrows.reshape(-1, n_rows, n_columns).tolist(),
    }
    if request.plan == "policy":
        answer["policy_log"] = [
            _cells([names[a] if act else None for a, act in zip(step, acting)], n_columns)
            for step in steps.tolist()
        ]
    answer["elapsed_ms"] = (time.perf_counter() - start) * 1000
    return json.dumps(answer, separators=(",", ":"), allow_nan=False)


class SecureHeadersMixin:
    """Security headers on every answer, pages, API, static files and errors alike."""

    def set_default_headers(self):
        self.clear_header("Server")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)


class BaseHandler(SecureHeadersMixin, tornado.web.RequestHandler):
    def write_error(self, status_code, **kwargs):
        """Errors as ``{"error": "..."}``; never a traceback (and never debug mode)."""
        message = self._reason
        exception = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exception, tornado.web.HTTPError) and exception.log_message:
            message = exception.log_message
        if status_code >= 500:
            message = "internal server error"
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": message}))


class NotFoundHandler(BaseHandler):
    def prepare(self):
        raise tornado.web.HTTPError(404, "no such page")


class SecureStaticFileHandler(SecureHeadersMixin, tornado.web.StaticFileHandler):
    pass


class IndexHandler(BaseHandler):
    def get(self):
        self.render(
            "index.html",
            max_side=MAX_SIDE,
            default_prob=DEFAULT_PROB,
            default_gamma=DEFAULT_GAMMA,
        )


class PlanningHandler(BaseHandler):
    async def post(self):
        content_type = self.request.headers.get("Content-Type", "")
        # Requiring JSON also means a page on another site cannot post here with a plain
        # HTML form: a cross-origin JSON request needs the browser's CORS permission first.
        if content_type.split(";")[0].strip().lower() != "application/json":
            return self._answer_error(415, "send the body as Content-Type: application/json")
        try:
            request = parse_plan_request(self.request.body)
        except BadRequest as error:
            return self._answer_error(error.status, error.message)
        loop = asyncio.get_running_loop()
        # Planning and encoding run in a worker thread: the event loop stays free to answer
        # other requests (the page, its files, other plans) in the meantime.
        work = loop.run_in_executor(self.application.executor, solve, request)
        try:
            text = await asyncio.wait_for(work, self.application.plan_timeout)
        except PlanningDidNotConverge as error:
            hint = "lower γ (gamma), or give the maze a reachable Treasure or Danger"
            if request.plan == "policy":
                hint += " (Value Iteration may still solve it)"
            return self._answer_error(422, f"{error}: {hint}")
        except asyncio.TimeoutError:
            return self._answer_error(
                422, f"planning took longer than {self.application.plan_timeout:g} s and was "
                "stopped: try a smaller maze or a lower γ (gamma)"
            )
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)

    def _answer_error(self, status, message):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": message}))


class Application(tornado.web.Application):
    """The simulator: ``/`` (the page), ``/plan`` (the API) and ``/static/...`` (its files).

    ``executor`` runs the planning (a pool of ``PLANNING_THREADS`` thread unless one is
    given); ``close()`` shuts it down. ``listen()`` applies the body limit to the HTTP server.
    Debug mode, autoreload and tracebacks are always off, whatever ``settings`` say.
    """

    def __init__(self, executor=None, plan_timeout=PLAN_TIMEOUT_S, **settings):
        handlers = [
            (r"/", IndexHandler),
            (r"/plan", PlanningHandler),
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

    def listen(self, port, address=None, **kwargs):
        return super().listen(port, address, **{**HTTP_SERVER_OPTIONS, **kwargs})

    def close(self):
        self.executor.shutdown(wait=False, cancel_futures=True)
