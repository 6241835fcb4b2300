"""Day3 in the simulator: the page ``/learn`` and its WebSocket ``/learn/socket``.

The page draws a maze (the same editor, maze JSON, rewards and move probability as Day2),
and a learner of ``EL/`` learns it live on the server (``DP/learning_session.py``). Over the
socket the page sends JSON commands and the server streams what the learner does.

The messages both ways, and the bounds, are in ``LearningSocketHandler``'s docstring.
``DP/learning_app.py`` mounts both routes on Day2's application.

Who may connect: the application answers only requests addressed to a loopback name or its
``--host`` (``DP.http_safety.host_is_allowed``, applied before any routing). A browser sends
the page's origin with every WebSocket request, and browsers let any page open a WebSocket
to any server, so ``check_origin`` accepts only this server's own pages.
"""

import json
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from common import SEED_MAX

import tornado.websocket
from tornado.ioloop import IOLoop, PeriodicCallback

from DP.http_safety import MAX_BODY_BYTES, BaseHandler, SecureHeadersMixin, host_is_allowed
from DP.learning import LEARNERS, LearningSettings
from DP.learning_session import LearningSession
from DP.plan_request import (
    DEFAULT_GAMMA,
    DEFAULT_PROB,
    MAX_SIDE,
    BadRequest,
    _has_json_type,
    _probability,
    _reject_constant,
    _show,
    parse_maze,
)
from DP.vectorized_planner import REWARD_LIMIT

MAX_SESSIONS = 4
MAX_EPISODES = 10_000
MAX_SPEED = 1000  # episodes per second; 0 means no limit
MAX_PLANNING_STEPS = 200  # Dyna-Q's imagined steps after each real one
FLUSH_S = 0.05
SESSION_LIMIT_S = 30 * 60
PING_INTERVAL_S = 20
# A 20 x 20 maze with its rewards is a few KB: /plan's body limit is plenty.
MAX_MESSAGE_BYTES = MAX_BODY_BYTES
DEFAULT_LEARNING_RATE = 0.1

# The JSON type of every field a message may carry, checked before any value is used.
FIELD_TYPES = {
    "type": ("a string", str),
    "learner": ("a string", str),
    "grid": ("a list of rows", list),
    "prob": ("a number", (int, float)),
    "gamma": ("a number", (int, float)),
    "rewards": ("a list of rows", list),
    "epsilon": ("a number", (int, float)),
    "learning_rate": ("a number", (int, float)),
    "episodes": ("a whole number", int),
    "seed": ("a whole number", int),
    "speed": ("a number", (int, float)),
    "paused": ("true or false", bool),
    "lambda": ("a number", (int, float)),
    "planning_steps": ("a whole number", int),
}
# The fields each command may carry besides "type", and those it needs.
COMMAND_FIELDS = {
    "start": set(FIELD_TYPES) - {"type"},
    "pause": set(),
    "resume": set(),
    "step": set(),
    "reset": set(),
    "speed": {"speed"},
    "tune": {"epsilon", "learning_rate", "lambda"},
    "maze": {"grid", "prob", "rewards"},
}
REQUIRED_FIELDS = {
    "start": {"learner": f"use one of {', '.join(LEARNERS)}",
              "grid": "send a list of rows of cells"},
    "speed": {"speed": f"episodes per second, 0 to {MAX_SPEED} (0: as fast as it goes)"},
    "maze": {"grid": "send a list of rows of cells"},
}
# The settings a running learner takes from its next episode on ("tune"), and which learners
# have them: the key in a message, the name in Python, and the learner's test.
TUNABLE = {
    "epsilon": ("epsilon", lambda learner: learner.uses_epsilon),
    "learning_rate": ("learning_rate", lambda learner: learner.uses_learning_rate),
    "lambda": ("lambda_", lambda learner: learner.lambda_ is not None),
}


@dataclass(frozen=True)
class Command:
    """One validated message: ``kind`` is its "type"; a start carries its ``settings``."""

    kind: str
    settings: LearningSettings = None
    speed: float = None
    paused: bool = False
    tune: dict = None  # "tune": the values to change, by their Python names
    maze: dict = None  # "maze": grid, prob and rewards


def _number(data, key, default, low, high, low_open=False):
    value = data.get(key, default)  # a number already (see _check_types)
    inside = (isinstance(value, int) or math.isfinite(value)) and low <= value <= high
    if not inside or (low_open and value == low):
        bound = f"above {low}" if low_open else f"from {low}"
        raise BadRequest(f'"{key}" must be a number {bound} to {high}, got {_show(value)}')
    return value


def _check_types(data, kind):
    """Raise ``BadRequest`` unless every key belongs to the command and has its JSON type."""
    allowed = COMMAND_FIELDS[kind]
    unknown = sorted(set(data) - allowed - {"type"})
    if unknown:
        known = ", ".join(sorted(allowed)) or "nothing but \"type\""
        raise BadRequest(f'unknown key {_show(unknown[0])} for "{kind}": use {known}')
    for key, hint in REQUIRED_FIELDS.get(kind, {}).items():
        if key not in data:
            raise BadRequest(f'"{kind}" needs "{key}": {hint}')
    for key, value in data.items():
        type_name, python_types = FIELD_TYPES[key]
        if not _has_json_type(value, python_types):
            raise BadRequest(f'"{key}" must be {type_name}, got {_show(value)}')


def _only_for(data, key, learner_name, has_it):
    """Refuse ``key`` for a learner without that setting (SARSA(λ)'s λ, Dyna-Q's steps)."""
    if key in data and not has_it:
        raise BadRequest(f'"{key}" is not a setting of {learner_name}')


def _tuned(data, learner_name):
    """The values of a "tune" (or a start) as ``MazeLearning.tune`` takes them."""
    learner = LEARNERS[learner_name]
    for key, (_, has_it) in TUNABLE.items():
        _only_for(data, key, learner_name, has_it(learner))
    values = {}
    if "epsilon" in data:
        values["epsilon"] = _probability(data, "epsilon", None)
    if "learning_rate" in data:
        values["learning_rate"] = float(_number(data, "learning_rate", None, 0, 1,
                                                low_open=True))
    if "lambda" in data:
        values["lambda_"] = _probability(data, "lambda", None)
    return values


def _settings(data):
    learner_name = data["learner"]
    if learner_name not in LEARNERS:
        raise BadRequest(f"unknown learner {_show(learner_name)}: use {', '.join(LEARNERS)}")
    learner = LEARNERS[learner_name]
    prob = _probability(data, "prob", DEFAULT_PROB)
    gamma = _probability(data, "gamma", DEFAULT_GAMMA)
    # ε and α are accepted for every learner at the start (a learner without them ignores
    # them); λ and the planning steps only for the learners that have them.
    epsilon = _probability(data, "epsilon", learner.epsilon)
    learning_rate = float(_number(data, "learning_rate", DEFAULT_LEARNING_RATE, 0, 1,
                                  low_open=True))
    _only_for(data, "lambda", learner_name, learner.lambda_ is not None)
    lambda_ = _probability(data, "lambda", learner.lambda_) if "lambda" in data else None
    _only_for(data, "planning_steps", learner_name, learner.planning_steps is not None)
    planning_steps = (_number(data, "planning_steps", None, 0, MAX_PLANNING_STEPS)
                      if "planning_steps" in data else None)
    episodes = _number(data, "episodes", learner.episodes, 1, MAX_EPISODES)
    seed = _number(data, "seed", 0, 0, SEED_MAX)
    grid, rewards = parse_maze(data, prob)
    return LearningSettings(learner=learner_name, grid=grid, prob=prob, gamma=gamma,
                            rewards=rewards, epsilon=epsilon, learning_rate=learning_rate,
                            episodes=episodes, seed=seed, lambda_=lambda_,
                            planning_steps=planning_steps)


def _maze(data):
    """A "maze" message: the maze a running learner goes on in (its size is checked later)."""
    prob = _probability(data, "prob", DEFAULT_PROB)
    grid, rewards = parse_maze(data, prob)
    return {"grid": grid, "prob": prob, "rewards": rewards}


def parse_message(message):
    """Validate one message from the page and return a ``Command``; raise ``BadRequest``.

    Everything is checked before anything is done, as for ``/plan``: the JSON itself (NaN and
    Infinity refused), the command, its keys and the JSON type of each field
    (``_check_types``), then the ranges, the maze and the rewards (``_settings``).
    """
    if not isinstance(message, str):
        raise BadRequest("send text messages holding JSON, not binary ones")
    try:
        data = json.loads(message, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the message is nested too deeply") from None
    except ValueError as error:
        raise BadRequest(f"the message is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest('a message must be a JSON object like {"type": "pause"}')
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in COMMAND_FIELDS:
        raise BadRequest(f'unknown "type" {_show(kind)}: use {", ".join(COMMAND_FIELDS)}')
    _check_types(data, kind)
    speed = None
    if "speed" in data:
        speed = float(_number(data, "speed", 0, 0, MAX_SPEED))
    if kind == "start":
        return Command(kind, settings=_settings(data), speed=speed,
                       paused=data.get("paused", False))
    if kind == "tune":
        if not data.keys() & TUNABLE.keys():
            raise BadRequest(f'"tune" needs one of {", ".join(TUNABLE)}')
        # Checked against the running learner in ``LearningSocketHandler.obey``.
        return Command(kind, tune=data)
    if kind == "maze":
        return Command(kind, maze=_maze(data))
    return Command(kind, speed=speed)


def learner_catalogue():
    """What the page needs to know about each learner: its title, file and defaults."""
    return {
        name: {
            "title": learner.title,
            "file": learner.file,
            "uses_epsilon": learner.uses_epsilon,
            "uses_learning_rate": learner.uses_learning_rate,
            "epsilon": learner.epsilon,
            "learning_rate": DEFAULT_LEARNING_RATE,
            "episodes": learner.episodes,
            "preferences": learner.preferences,
            "lambda": learner.lambda_,
            "planning_steps": learner.planning_steps,
        }
        for name, learner in LEARNERS.items()
    }


LIMITS = {"max_side": MAX_SIDE, "max_episodes": MAX_EPISODES, "max_speed": MAX_SPEED,
          "reward_limit": REWARD_LIMIT, "session_limit_s": SESSION_LIMIT_S,
          "max_planning_steps": MAX_PLANNING_STEPS}


class LearningSessions:
    """The sockets of one application that are open, at most ``limit`` of them."""

    def __init__(self, limit=MAX_SESSIONS):
        self.limit = limit
        self.sockets = set()

    def admit(self, socket):
        if len(self.sockets) >= self.limit:
            return False
        self.sockets.add(socket)
        return True

    def leave(self, socket):
        self.sockets.discard(socket)

    def close(self):
        """Close every socket (the server is stopping); each stops its learner."""
        for socket in list(self.sockets):
            socket.close(1001, "the server is stopping")


class LearnPageHandler(BaseHandler):
    def get(self):
        self.render("learn.html", max_side=MAX_SIDE, reward_limit=REWARD_LIMIT,
                    default_prob=DEFAULT_PROB, default_gamma=DEFAULT_GAMMA,
                    learners=LEARNERS, max_episodes=MAX_EPISODES,
                    default_learning_rate=DEFAULT_LEARNING_RATE,
                    max_planning_steps=MAX_PLANNING_STEPS)

    head = get


class LearningSocketHandler(SecureHeadersMixin, tornado.websocket.WebSocketHandler):
    """``/learn/socket``: one page, one learner at a time.

    From the page (one JSON object per message; ``"type"`` says which command):

    - ``{"type": "start", "learner": "q_learning", "grid": [[...]], "prob": 0.8, "gamma": 0.9,
      "rewards": [[...]], "epsilon": 0.1, "learning_rate": 0.1, "episodes": 500, "seed": 0,
      "speed": 0, "paused": false}``: a new learner (``learner`` and ``grid`` are required; the
      maze fields are ``/plan``'s and checked the same way; the others default to the learner's
      script). ``"lambda"`` (SARSA(λ)) and ``"planning_steps"`` (Dyna-Q) only for the learners
      that have them. A learner already running is stopped first;
    - ``{"type": "pause"}``, ``"resume"``, ``"step"`` (one episode, then paused), ``"reset"``
      (the same learner from scratch, paused, with the changes below), ``{"type": "speed",
      "speed": 20}`` (episodes per second, 0 for as fast as it goes);
    - ``{"type": "tune", "epsilon": 0.3, "learning_rate": 0.5, "lambda": 0.9}`` (any of them)
      and ``{"type": "maze", "grid", "prob", "rewards"}`` (a maze of the same size): changes
      for the running learner from its next episode on; it keeps what it has learned.

    From the server:

    - ``{"type": "ready", "learners": {...}, "limits": {...}}`` when the socket opens;
    - ``{"type": "started", ...}``: the learner, its settings, the maze's size, the action order
      (UP, DOWN, LEFT, RIGHT, as ``/plan``), and ``reference``, Value Iteration's V*(s) on the
      same maze (``null`` if it does not converge);
    - ``{"type": "changed", "episode": 42, "settings": {...}, "maze": true, "reference"}``: the
      changes asked for apply from episode 42 on (``reference``: V* of the new maze);
    - ``{"type": "progress", "status", "episode", "episodes": [{"n", "reward", "steps", "end"}],
      "q", "values", "visits", "path", "route", "route_reaches_treasure", "gap"}``: at most
      every ``FLUSH_S`` seconds, the episodes finished since the last message (``reward`` is the
      sum of the episode's rewards, ``end`` "treasure", "danger" or "limit") and the learner's
      tables after the last of them. ``q`` is a grid of four values per cell (the Actor's
      preferences for an Actor-Critic), ``path`` the states of the last episode
      (``row * columns + column``), ``route`` the greedy route from the start, ``gap`` the mean
      |V(s) − V*(s)| over the cells where the agent acts;
    - ``{"type": "error", "status": 400, "error": "..."}`` for a message that cannot be obeyed
      (4xx, as ``/plan`` would answer). The socket stays open, except when the server is full
      (503) or the page's time is up (408).

    Bounds: ``MAX_SESSIONS`` sockets at once (the side-by-side comparison uses two), one learner
    per socket, ``MAX_EPISODES`` episodes per learner, a step limit per episode, messages up to
    ``MAX_MESSAGE_BYTES``, a socket closed after ``SESSION_LIMIT_S`` seconds or when the page
    stops answering pings. The learner stops when its socket closes.
    """

    def initialize(self, sessions):
        self.sessions = sessions
        self.session = None
        self.waiting = None  # a start that waits for the previous learner's thread to end
        self.speed = 0.0
        self.writing = None  # the progress message being sent, for back-pressure
        self.flusher = None
        self.deadline = None
        self.admitted = False

    # Refuse a WebSocket opened by a page of another origin (a site the user visits could
    # otherwise drive this server): the origin must be this very server's address. Tornado
    # 6.6 asks only about origins it already finds cross-origin; older versions ask always.
    def check_origin(self, origin):
        parts = urlsplit(origin)
        same_address = parts.netloc.lower() == self.request.host.lower()
        return (parts.scheme in ("http", "https") and same_address
                and host_is_allowed(parts.netloc, self.application.host))

    @property
    def ping_interval(self):
        return PING_INTERVAL_S  # a page that has gone away without closing is noticed

    @property
    def ping_timeout(self):
        return PING_INTERVAL_S

    @property
    def max_message_size(self):
        return MAX_MESSAGE_BYTES

    def open(self):
        if not self.sessions.admit(self):
            self.send_error_message(503, f"the server already runs {self.sessions.limit} "
                                    "learning pages: close one and try again")
            self.close(1013, "too many learning sessions")
            return
        self.admitted = True
        self.flusher = PeriodicCallback(self.send_progress, FLUSH_S * 1000)
        self.flusher.start()
        self.deadline = IOLoop.current().call_later(SESSION_LIMIT_S, self.time_is_up)
        self.send_json({"type": "ready", "learners": learner_catalogue(), "limits": LIMITS})

    def on_message(self, message):
        try:
            command = parse_message(message)
            self.obey(command)
        except BadRequest as error:
            self.send_error_message(error.status, error.message)

    def obey(self, command):
        if command.speed is not None:
            self.speed = command.speed
        if command.kind == "start":
            self.begin(command.settings, command.paused)
            return
        if command.kind == "speed":
            if self.session is not None:
                self.session.set_speed(self.speed)
            return
        if self.session is None:
            raise BadRequest(f'nothing to {command.kind}: send "start" first', status=409)
        if command.kind in ("tune", "maze"):
            self.change(command)
        elif command.kind == "reset":
            self.begin(self.session.current_settings(), paused=True)
        elif command.kind == "pause":
            self.session.pause()
        elif command.kind == "resume":
            self.session.resume()
        elif command.kind == "step":
            self.session.step()

    def change(self, command):
        """A "tune" or a "maze" for the learner that runs: from its next episode on."""
        session = self.session
        if not session.alive or session.episodes_done >= session.settings.episodes:
            raise BadRequest('the learner has finished: send "start" to learn again',
                             status=409)
        if command.kind == "tune":
            session.change(tune=_tuned(command.tune, session.settings.learner))
            return
        old, new = session.settings.grid, command.maze["grid"]
        if (len(new), len(new[0])) != (len(old), len(old[0])):
            raise BadRequest(f"the maze is {len(new)} x {len(new[0])}, the learner's "
                             f"{len(old)} x {len(old[0])}: send \"start\" for a maze of "
                             "another size", status=409)
        session.change(maze=command.maze)

    def begin(self, settings, paused):
        """Start a learner; one still running is stopped first, and the new one waits for
        its thread to end (so that a page never has more than one learner's thread)."""
        previous = self.session
        self.session = LearningSession(settings, paused=paused, speed=self.speed,
                                       on_end=self.learner_ended)
        if previous is not None and previous.alive:
            previous.stop()
            self.waiting = self.session
        else:
            self.session.start()

    def learner_ended(self, session):
        if self.waiting is not None and session is not self.waiting:
            waiting, self.waiting = self.waiting, None
            if self.admitted:
                waiting.start()
        if session is self.session and session.outcome == "failed":
            self.send_error_message(500, "the learner stopped because of an error in the "
                                    "server (see its log)")

    def send_progress(self):
        """Send what the learner did since the last flush, unless the page is still reading."""
        if self.session is None or self.session is self.waiting:
            return
        if self.writing is not None and not self.writing.done():
            return
        for message in self.session.take_messages():
            self.writing = self.send_json(message)

    def send_json(self, message):
        try:
            return self.write_message(json.dumps(message, separators=(",", ":"),
                                                 allow_nan=False, ensure_ascii=False))
        except tornado.websocket.WebSocketClosedError:
            return None

    def send_error_message(self, status, message):
        self.send_json({"type": "error", "status": status, "error": message})

    def time_is_up(self):
        self.send_error_message(408, f"this learning page has been open for "
                                f"{SESSION_LIMIT_S // 60} minutes: reload it to go on")
        self.close(1000, "time limit")

    def on_close(self):
        if not self.admitted:
            return
        self.admitted = False
        self.sessions.leave(self)
        self.flusher.stop()
        IOLoop.current().remove_timeout(self.deadline)
        for session in (self.session, self.waiting):
            if session is not None:
                session.stop()
        self.waiting = None


def learning_handlers(sessions):
    """The routes of the Day3 page, which ``DP/learning_app.py`` mounts on Day2's application."""
    return [
        (r"/learn", LearnPageHandler),
        (r"/learn/socket", LearningSocketHandler, {"sessions": sessions}),
    ]
