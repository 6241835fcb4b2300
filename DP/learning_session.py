"""Run a maze learner in the background and steer it: pause, resume, one episode, speed,
changes (ε, α, λ, or a maze of the same size, from the next episode on), stop.

The agents' ``learn`` loops are the book's: once started, they run to the end and never hand
control back. So each learner runs in a thread of its own and waits at the start of every
episode (``EpisodeRecorder`` calls back there) until the event loop lets it play the next one.
Every decision (paused? one episode only? how fast?) is taken on the event loop, in
``LearningSession._next``; the thread only plays the episodes it is given, one at a time, and
hands back what it learned after each. Changes wait for the thread's next turn.

How it keeps the server answering, and why each learner keeps its own random numbers:
``LearningSession``'s docstring.
"""

import asyncio
import dataclasses
import logging
import random
import threading

import numpy as np

from DP.environment import ACTIONS
from DP.learning import (
    LEARNERS,
    LearningStopped,
    MazeLearning,
    greedy_route,
    reaches_treasure,
    reference_values,
    step_limit,
)

logger = logging.getLogger(__name__)

# Held by the learner that is playing an episode (see the module's docstring).
TURN = threading.Lock()
DECIMALS = 4
FINISHED = ("done", "stopped", "failed")


def _grid(flat, n_columns, decimals=None):
    """A flat per-state array as rows of cells (per-state rows of 4 for a table), for JSON."""
    array = np.asarray(flat)
    if decimals is not None:
        array = np.round(array, decimals)
    return array.reshape(-1, n_columns, *array.shape[1:]).tolist()


class LearningSession:
    """One learner of ``DP.learning.LEARNERS`` in a thread of its own, steered from the event loop.

    Create it inside the event loop, then ``start()``. Controls: ``pause()``, ``resume()``,
    ``step()`` (one episode, then paused), ``set_speed(episodes_per_second)`` (0: as fast as it
    goes), ``change(tune, maze)`` (ε, α, λ or a maze of the same size, from the next episode
    on: the thread applies them as it takes its next turn) and ``stop()``. ``take_messages()``
    returns what happened since its last call, as a list of dicts ready for JSON
    (``"started"`` once, ``"changed"`` when a change has been applied, then ``"progress"``).
    ``on_end`` is called on the event loop when the thread has ended (``status`` is then
    "done", "stopped" or "failed").

    What keeps the server answering while learners run:

    - a learner holds ``TURN`` while it plays an episode, so at most one learner computes at a
      time, however many pages are open: learning takes one core at most, and the event loop
      competes with a single thread for Python's interpreter lock;
    - an episode is short (``DP.learning.step_limit``), and between episodes the thread waits;
    - the grid, the agent and the Value Iteration reference are built in the thread too.

    Random numbers: the agents draw from Python's ``random`` and NumPy's global generator, which
    every learner in the process shares. A learner's episodes would then depend on what other
    learners drew in between, and two learners started with the same seed (Q-learning and SARSA
    side by side) would not see the same random numbers. So each session keeps its own states of
    both generators: it puts them in place when it takes ``TURN`` and saves them when it gives
    ``TURN`` back. Nothing else in the server draws from these generators. A session therefore
    learns exactly what ``DP.learning.learn_maze`` learns with the same settings.
    """

    def __init__(self, settings, paused=False, speed=0.0, on_end=None):
        self.settings = settings
        self.learner = LEARNERS[settings.learner]
        self.paused = paused
        self.speed = speed
        self.on_end = on_end
        self.episodes_done = 0
        self.outcome = None  # "done", "stopped" or "failed" once the thread has ended
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._play, daemon=True,
                                        name=f"learner {settings.learner}")
        # -- shared with the thread
        self._grants = threading.Semaphore(0)  # one permit per episode the thread may play
        self._stopping = False
        self._learning = None
        self._pending = threading.Lock()  # guards the two changes below
        self._pending_tune = {}
        self._pending_maze = None
        # -- the thread's own
        self._thread_learning = None
        self._holding = False
        self._random_states = (random.Random(settings.seed).getstate(),
                               np.random.RandomState(settings.seed).get_state())
        # -- the event loop's own
        self._in_play = False  # an episode has been granted and not yet reported
        self._steps = 0        # episodes "one episode" still allows while paused
        self._next_at = 0.0    # loop time before which no episode starts (speed)
        self._timer = None
        self._reference = None
        self._mdp = None       # the maze the agent is in now (the loop's own reference)
        self._acting = None    # the cells where the agent chooses an action
        self._live = {"epsilon": settings.epsilon, "learning_rate": settings.learning_rate,
                      "lambda_": settings.lambda_, "grid": settings.grid,
                      "prob": settings.prob, "rewards": settings.rewards}
        self._started = None   # the "started" message, until it has been taken
        self._notes = []       # the "changed" messages not yet taken
        self._new_episodes = []
        self._snapshot = None
        self._path = None
        self._changed = True

    # ------------------------------------------------------------------ the event loop's side

    @property
    def status(self):
        if self.outcome:
            return self.outcome
        if self._learning is None:
            return "starting"
        return "paused" if self.paused and not self._in_play else "running"

    @property
    def alive(self):
        return self.outcome is None

    def start(self):
        self._thread.start()
        self._next()

    def pause(self):
        self.paused = True
        self._steps = 0
        self._changed = True

    def resume(self):
        self.paused = False
        self._steps = 0
        self._changed = True
        self._next()

    def step(self):
        """Play one episode, then stay paused (an episode already in play is that one)."""
        self.paused = True
        self._steps = 0 if self._in_play else 1
        self._cancel_timer()  # one episode now, whatever the speed
        self._changed = True
        self._next()

    def set_speed(self, speed):
        self.speed = speed
        self._next_at = 0.0
        self._cancel_timer()
        self._next()

    def change(self, tune=None, maze=None):
        """From the next episode on: ``tune`` (a dict of ``epsilon``, ``learning_rate``,
        ``lambda_``) and ``maze`` (a dict of ``grid``, ``prob``, ``rewards``, of the same size;
        the agent keeps its table). A "changed" message says when they took effect."""
        with self._pending:
            self._pending_tune.update(tune or {})
            if maze is not None:
                self._pending_maze = maze
        self._live.update(tune or {})
        self._live.update(maze or {})

    def current_settings(self):
        """The settings with every change so far: what a reset starts again from."""
        live = self._live
        return dataclasses.replace(
            self.settings, epsilon=live["epsilon"], learning_rate=live["learning_rate"],
            lambda_=live["lambda_"], grid=live["grid"], prob=live["prob"],
            rewards=live["rewards"])

    def stop(self):
        """Stop the learner at once (mid-episode too); its thread ends by itself."""
        self._stopping = True
        if self._learning is not None:
            self._learning.recorder.stopping = True
        self._cancel_timer()
        self._grants.release()  # wakes the thread if it waits for an episode

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _next(self):
        """Let the thread play one more episode, if the controls allow one now."""
        if (self._stopping or self.outcome or self._in_play or self._timer is not None
                or self.episodes_done >= self.settings.episodes):
            return
        if self.paused and self._steps == 0:
            return
        if self.speed > 0:
            now = self._loop.time()
            if now < self._next_at:
                self._timer = self._loop.call_later(self._next_at - now, self._timer_rang)
                return
            self._next_at = now + 1.0 / self.speed
        if self.paused:
            self._steps -= 1
        self._in_play = True
        self._changed = True
        self._grants.release()

    def _timer_rang(self):
        self._timer = None
        self._next()

    def _ready(self, learning, mdp, reference):
        self._learning = learning
        if self._stopping:
            learning.recorder.stopping = True
        self._set_maze(mdp, reference)
        s = self.settings
        self._started = {
            "type": "started",
            "learner": s.learner,
            "title": self.learner.title,
            "file": self.learner.file,
            "preferences": self.learner.preferences,
            "settings": {
                "prob": s.prob, "gamma": s.gamma, "episodes": s.episodes, "seed": s.seed,
                "epsilon": s.epsilon if self.learner.uses_epsilon else None,
                "learning_rate": s.learning_rate if self.learner.uses_learning_rate else None,
                "lambda": s.lambda_, "planning_steps": s.planning_steps,
            },
            "rows": mdp.n_rows,
            "columns": mdp.n_columns,
            "actions": [action.name for action in ACTIONS],
            "step_limit": step_limit(mdp.n_states),
            "reference": None if reference is None else _grid(reference, mdp.n_columns, DECIMALS),
        }
        self._snapshot = learning.snapshot()
        self._changed = True

    def _set_maze(self, mdp, reference):
        self._mdp = mdp
        self._reference = reference
        self._acting = mdp.prob.sum(axis=(1, 2)) > 0

    def _applied(self, episode, tune, maze, mdp, reference):
        """The thread has applied changes before playing ``episode``: tell the page."""
        note = {"type": "changed", "episode": episode,
                "settings": {("lambda" if key == "lambda_" else key): value
                             for key, value in tune.items()},
                "maze": maze}
        if maze:
            self._set_maze(mdp, reference)
            note["reference"] = (None if reference is None
                                 else _grid(reference, mdp.n_columns, DECIMALS))
        self._notes.append(note)
        self._changed = True

    def _arrived(self, episode, snapshot):
        self._in_play = False
        self.episodes_done = episode.number
        # Only a summary waits here: a page that reads slowly must not pile up paths.
        self._new_episodes.append({"n": episode.number, "reward": round(episode.reward, 6),
                                   "steps": episode.steps, "end": episode.end})
        self._path = episode.path
        self._snapshot = snapshot
        self._changed = True
        self._next()

    def _ended(self, outcome):
        self.outcome = outcome
        self._in_play = False
        self._cancel_timer()
        self._changed = True
        if self.on_end is not None:
            self.on_end(self)

    def take_messages(self):
        """The messages that tell what happened since the last call (possibly none)."""
        messages = []
        if self._started is not None:
            messages.append(self._started)
            self._started = None
        messages.extend(self._notes)
        self._notes = []
        if not self._changed:
            return messages
        progress = {"type": "progress", "status": self.status, "episode": self.episodes_done,
                    "episodes": self._new_episodes}
        if self._snapshot is not None:
            progress.update(self._snapshot_fields(self._snapshot))
            self._snapshot = None
        if self._path is not None:
            progress["path"] = self._path
            self._path = None
        self._new_episodes = []
        self._changed = False
        messages.append(progress)
        return messages

    def _snapshot_fields(self, snapshot):
        mdp = self._mdp
        fields = {"visits": _grid(snapshot["visits"], mdp.n_columns)}
        table, values = snapshot["table"], snapshot["values"]
        if table is not None:
            fields["q"] = _grid(table, mdp.n_columns, DECIMALS)
            route = greedy_route(table, mdp)
            fields["route"] = route
            fields["route_reaches_treasure"] = bool(reaches_treasure(route, mdp))
        if values is not None:
            fields["values"] = _grid(values, mdp.n_columns, DECIMALS)
            if self._reference is not None:
                # How far the learner's values still are from what planning with the model
                # gives: the mean over the cells where the agent acts.
                gap = np.abs(values - self._reference)[self._acting]
                fields["gap"] = round(float(gap.mean()), DECIMALS) if gap.size else 0.0
        return fields

    # ------------------------------------------------------------------ the thread's side

    def _tell_loop(self, callback, *args):
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the event loop has been closed: nobody is watching any more
            raise LearningStopped from None

    def _take_turn(self):
        self._grants.acquire()
        if self._stopping:
            raise LearningStopped
        TURN.acquire()
        self._holding = True
        random.setstate(self._random_states[0])
        np.random.set_state(self._random_states[1])
        self._apply_changes()

    def _apply_changes(self):
        """Before the next episode: the changes the page asked for since the last one."""
        with self._pending:
            tune, maze = self._pending_tune, self._pending_maze
            self._pending_tune, self._pending_maze = {}, None
        if not tune and maze is None:
            return
        learning = self._thread_learning
        learning.tune(**tune)
        reference = None
        if maze is not None:
            learning.change_maze(maze["grid"], maze["prob"], maze["rewards"])
            reference = reference_values(learning.mdp, self.settings.gamma)
        self._tell_loop(self._applied, learning.recorder.episodes + 1, tune, maze is not None,
                        learning.mdp, reference)

    def _give_turn(self):
        self._random_states = (random.getstate(), np.random.get_state())
        self._holding = False
        TURN.release()

    def _episode_over(self, episode, more):
        """``EpisodeRecorder``'s callback, in the thread: hand the episode over, then wait."""
        snapshot = self._thread_learning.snapshot()
        self._give_turn()
        self._tell_loop(self._arrived, episode, snapshot)
        if more:
            self._take_turn()

    def _play(self):
        outcome = "done"
        try:
            learning = MazeLearning(self.settings, on_episode=self._episode_over)
            self._thread_learning = learning
            reference = reference_values(learning.mdp, self.settings.gamma)
            self._tell_loop(self._ready, learning, learning.mdp, reference)
            self._take_turn()
            learning.run()
        except LearningStopped:
            outcome = "stopped"
        except Exception:  # a bug in a learner must not take the server down
            logger.exception("the %s learner failed", self.settings.learner)
            outcome = "failed"
        finally:
            if self._holding:
                self._give_turn()
        try:
            self._loop.call_soon_threadsafe(self._ended, outcome)
        except RuntimeError:
            pass  # the event loop has been closed
