"""Day2: the DP maze simulator's web server (Tornado); ``python DP/run_server.py`` starts it.

The book's names and order: ``IndexHandler`` (``GET /``, the page ``DP/templates/index.html``;
script and style in ``DP/static``, no CDN), ``PlanningHandler`` (``POST /plan``: the book's
JSON ``{"plan", "prob", "grid"}`` plus optional ``"gamma"`` and ``"rewards"``, answered with
every sweep to play back) and ``Application``.

Departures from the book:
- every request is checked first (``DP/plan_request.py``): a bad one gets a 4xx with
  ``{"error": "..."}``, a plan that does not converge in time 422 (with a ``hint`` code);
- the answer carries more than the value log (``DP/plan_answer.py``, ``DP/maze_advice.py``);
- planning runs in a worker thread, so the server answers other requests meanwhile;
- HTTP hardening (``DP/http_safety.py``): host check, security headers, body limits, timeouts;
- Day3's live page ``/learn`` is mounted from ``DP/learning_app.py``, not here.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tornado.web

from DP.http_safety import BODY_TOO_LARGE, BaseHandler, LimitedBodyMixin, SecureApplication
from DP.maze_advice import convergence_hint
from DP.plan_answer import MAX_ITERATIONS, THRESHOLD, answer_json
from DP.plan_request import (
    DEFAULT_GAMMA,
    DEFAULT_PROB,
    MAX_SIDE,
    BadRequest,
    parse_plan_request,
)
from DP.vectorized_planner import (
    REWARD_LIMIT,
    Environment,
    PlanningDidNotConverge,
    PolicyIterationPlanner,
    ValueIterationPlanner,
)

HERE = Path(__file__).resolve().parent
PLANNERS = {"value": ValueIterationPlanner, "policy": PolicyIterationPlanner}
# A second guard besides MAX_ITERATIONS, in case the machine is overloaded.
PLAN_TIMEOUT_S = 10.0
# One planning thread: planning holds Python's interpreter lock most of the time, so a second
# thread would not plan any faster, it would only make the event loop wait longer for the
# lock (measured: the page's p95 under load roughly doubles). Plans queue up instead.
PLANNING_THREADS = 1


class IndexHandler(BaseHandler):
    def get(self):
        self.render("index.html", max_side=MAX_SIDE, reward_limit=REWARD_LIMIT,
                    default_prob=DEFAULT_PROB, default_gamma=DEFAULT_GAMMA)

    # HEAD is GET without the body: Tornado sends the headers (Content-Length included) only.
    head = get


@tornado.web.stream_request_body
class PlanningHandler(LimitedBodyMixin, BaseHandler):
    """``POST /plan``: the body (received piece by piece, see ``LimitedBodyMixin``) becomes a
    ``PlanRequest``, the request a plan (``solve``), the plan JSON."""

    async def post(self):
        content_type = self.request.headers.get("Content-Type", "")
        # Requiring JSON also means a page on another site cannot post here with a plain
        # HTML form: a cross-origin JSON request needs the browser's CORS permission first.
        if content_type.split(";")[0].strip().lower() != "application/json":
            return self.answer_error(415, "send the body as Content-Type: application/json")
        if self.body_too_large():
            return self.answer_error(413, BODY_TOO_LARGE)
        try:
            request = parse_plan_request(bytes(self.body))
        except BadRequest as error:
            return self.answer_error(error.status, error.message)
        # Planning and encoding run in a worker thread: the event loop stays free to answer
        # other requests (the page, its files, other plans) in the meantime.
        work = asyncio.get_running_loop().run_in_executor(self.application.executor, solve,
                                                          request)
        try:
            text = await asyncio.wait_for(work, self.application.plan_timeout)
        except PlanningDidNotConverge as error:
            hint = convergence_hint(request)
            text = hint.pop("text")
            return self.answer_error(422, f"{error}: {text}", hint=hint)
        except asyncio.TimeoutError:
            seconds = self.application.plan_timeout
            return self.answer_error(
                422, f"planning took longer than {seconds:g} s and was stopped: try a smaller "
                "maze or a lower γ (gamma)", hint={"code": "timeout", "seconds": seconds}
            )
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


def solve(request):
    """Plan the maze of ``request`` (a ``PlanRequest``) and return the answer's JSON text.

    Runs in a worker thread. Raises ``PlanningDidNotConverge`` when the iteration cap is hit.
    """
    started = time.perf_counter()
    env = Environment(request.grid, move_prob=request.prob, rewards=request.rewards)
    planner = PLANNERS[request.plan](env)
    planner.plan(gamma=request.gamma, threshold=THRESHOLD, max_iterations=MAX_ITERATIONS)
    return answer_json(planner, request, started)


class Application(SecureApplication):
    """The simulator: ``/`` (the page), ``/plan`` (the API) and ``/static/...`` (its files).

    ``host`` is the ``--host`` the server listens on (see ``SecureApplication``);
    ``handlers`` are more routes to serve (Day3's, from ``DP/learning_app.py``). ``executor``
    runs the planning (``PLANNING_THREADS`` threads unless one is given); ``close()`` shuts it
    down.
    """

    def __init__(self, executor=None, plan_timeout=PLAN_TIMEOUT_S, host=None, handlers=(),
                 **settings):
        routes = [(r"/", IndexHandler), (r"/plan", PlanningHandler), *handlers]
        super().__init__(routes, host=host, template_path=str(HERE / "templates"),
                         static_path=str(HERE / "static"), **settings)
        self.executor = executor or ThreadPoolExecutor(
            max_workers=PLANNING_THREADS, thread_name_prefix="planner"
        )
        self.plan_timeout = plan_timeout

    def close(self):
        self.executor.shutdown(wait=False, cancel_futures=True)

