"""The Day3 page's server side: /learn and its WebSocket, in process (tornado.testing)."""

import asyncio
import json
import time
from unittest import mock

from common import set_seed

import numpy as np
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.testing import AsyncHTTPTestCase, gen_test
from tornado.websocket import websocket_connect

from DP import learning_socket
from DP.http_safety import HTTP_SERVER_OPTIONS, SECURITY_HEADERS
from DP.learning import LEARNERS, LearningSettings, MazeLearning, learn_maze
from DP.learning_app import LearningApplication as Application
from DP.learning_session import LearningSession
from DP.learning_socket import MAX_EPISODES, MAX_SESSIONS, MAX_SIDE, parse_message
from DP.vectorized_planner import GridMDP, value_iteration

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
CLIFF = [[0] * 8, [0] * 8, [0] * 8, [0, -1, -1, -1, -1, -1, -1, 1]]
TIMEOUT = 120


def big_maze(size=20):
    grid = [[0] * size for _ in range(size)]
    grid[0][size - 1], grid[1][size - 1] = 1, -1
    return grid


def table_of(message):
    """The streamed Q grid (rows, columns, 4) as a flat (S, 4) array."""
    return np.asarray(message["q"], dtype=float).reshape(-1, 4)


class LearningSocketTestCase(AsyncHTTPTestCase):
    def get_app(self):
        return Application()

    def get_httpserver_options(self):
        return dict(HTTP_SERVER_OPTIONS)

    def tearDown(self):
        self._app.close()
        super().tearDown()

    def socket_url(self):
        return self.get_url("/learn/socket").replace("http://", "ws://")

    async def connect(self, **headers):
        request = HTTPRequest(self.socket_url(), headers=headers)
        socket = await websocket_connect(request)
        ready = await self.receive(socket)
        assert ready["type"] == "ready"
        return socket

    async def receive(self, socket):
        text = await asyncio.wait_for(socket.read_message(), TIMEOUT)
        assert text is not None, "the server closed the socket"
        return json.loads(text)

    async def until(self, socket, predicate):
        """Read messages until one satisfies ``predicate``; return all of them."""
        seen = []
        while True:
            message = await self.receive(socket)
            seen.append(message)
            if predicate(message):
                return seen

    async def learn_to_the_end(self, socket, **start):
        socket.write_message(json.dumps({"type": "start", **start}))
        return await self.until(socket, lambda m: m.get("status") == "done"
                                or m["type"] == "error")

    def progress(self, messages):
        return [m for m in messages if m["type"] == "progress"]

    def episodes(self, messages):
        return [e for m in self.progress(messages) for e in m["episodes"]]

    def live_sessions(self):
        return [socket.session for socket in self._app.learning_sessions.sockets]

    # ------------------------------------------------------------------ the stream

    @gen_test(timeout=TIMEOUT)
    async def test_ready_lists_the_learners_and_the_limits(self):
        socket = await websocket_connect(self.socket_url())
        ready = await self.receive(socket)
        assert set(ready["learners"]) == set(LEARNERS)
        assert ready["learners"]["sarsa"]["episodes"] == 500
        assert ready["learners"]["actor_critic"]["uses_epsilon"] is False
        assert ready["limits"]["max_episodes"] == MAX_EPISODES
        assert ready["limits"]["max_side"] == MAX_SIDE

    @gen_test(timeout=TIMEOUT)
    async def test_q_learning_streams_every_episode_and_ends_on_value_iterations_path(self):
        socket = await self.connect()
        messages = await self.learn_to_the_end(socket, learner="q_learning", grid=SAMPLE,
                                               prob=1.0, episodes=300, seed=0)
        started = messages[0]
        assert started["type"] == "started" and started["learner"] == "q_learning"
        assert started["actions"] == ["UP", "DOWN", "LEFT", "RIGHT"]
        assert (started["rows"], started["columns"]) == (3, 4)
        assert started["settings"]["epsilon"] == 0.1 and started["settings"]["episodes"] == 300
        # The reference is Value Iteration's V* on the same maze.
        V, _ = value_iteration(learn_maze(LearningSettings("q_learning", SAMPLE, prob=1.0,
                                                           episodes=1))[0].mdp, 0.9)
        assert np.allclose(np.ravel(started["reference"]), V, atol=1e-4)
        # Every episode arrives, once, in order, with its reward, length and end.
        episodes = self.episodes(messages)
        assert [e["n"] for e in episodes] == list(range(1, 301))
        assert all(e["end"] in ("treasure", "danger", "limit") for e in episodes)
        last = messages[-1]
        assert last["status"] == "done" and last["episode"] == 300
        assert last["route_reaches_treasure"] is True
        assert len(last["route"]) - 1 == 5  # the shortest route round the block
        assert len(last["path"]) == episodes[-1]["steps"] + 1 and last["path"][0] == 8
        assert np.asarray(last["visits"]).sum() == sum(e["steps"] + 1 for e in episodes)
        assert 0 <= last["gap"] < 0.2
        # Fewer messages than episodes: the stream sends at most every FLUSH_S seconds.
        assert len(self.progress(messages)) < 300

    @gen_test(timeout=TIMEOUT)
    async def test_the_streamed_table_is_the_one_learn_maze_learns_with_the_same_seed(self):
        settings = dict(learner="sarsa", grid=SAMPLE, prob=0.8, episodes=120, seed=7,
                        epsilon=0.2, learning_rate=0.3, gamma=0.95)
        socket = await self.connect()
        messages = await self.learn_to_the_end(socket, **settings)
        learning, episodes = learn_maze(LearningSettings(**settings))
        assert np.allclose(table_of(messages[-1]), learning.snapshot()["table"], atol=1e-4)
        assert [e["reward"] for e in self.episodes(messages)] == [
            round(e.reward, 6) for e in episodes]

    @gen_test(timeout=TIMEOUT)
    async def test_q_learning_and_sarsa_side_by_side_each_learn_their_own_table(self):
        """Two learners at once, with the same seed: each gets its own random numbers, so
        each streams exactly what it learns alone, and on the cliff they disagree."""
        common = dict(grid=CLIFF, prob=1.0, epsilon=0.3, episodes=500, seed=0)
        sockets = [await self.connect(), await self.connect()]
        names = ("q_learning", "sarsa")
        results = await asyncio.gather(*(self.learn_to_the_end(socket, learner=name, **common)
                                         for socket, name in zip(sockets, names)))
        routes = {}
        for name, messages in zip(names, results):
            learning, _ = learn_maze(LearningSettings(name, **common))
            assert np.allclose(table_of(messages[-1]), learning.snapshot()["table"], atol=1e-4)
            routes[name] = messages[-1]["route"]
        assert len(routes["q_learning"]) - 1 == 9 and len(routes["sarsa"]) - 1 == 11

    @gen_test(timeout=TIMEOUT)
    async def test_actor_critic_streams_its_preferences_and_the_critics_values(self):
        socket = await self.connect()
        messages = await self.learn_to_the_end(socket, learner="actor_critic", grid=SAMPLE,
                                               episodes=20)
        started, last = messages[0], messages[-1]
        assert started["preferences"] is True and started["settings"]["epsilon"] is None
        assert np.asarray(last["q"]).shape == (3, 4, 4)
        assert np.asarray(last["values"]).shape == (3, 4)

    # ------------------------------------------------------------------ the controls

    @gen_test(timeout=TIMEOUT)
    async def test_pause_step_resume_and_reset(self):
        socket = await self.connect()
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": SAMPLE, "episodes": 40, "paused": True}))
        first = await self.until(socket, lambda m: m["type"] == "progress"
                                 and m["status"] == "paused")
        assert first[0]["type"] == "started" and first[-1]["episode"] == 0
        for expected in (1, 2):  # one episode, then paused again
            socket.write_message('{"type": "step"}')
            seen = await self.until(socket, lambda m, n=expected: m.get("episode") == n
                                    and m["status"] == "paused")
            assert [e["n"] for e in self.episodes(seen)] == [expected]
        # Nothing more happens while paused.
        await asyncio.sleep(0.3)
        assert self.live_sessions()[0].episodes_done == 2
        socket.write_message('{"type": "resume"}')
        rest = await self.until(socket, lambda m: m.get("status") == "done")
        assert [e["n"] for e in self.episodes(rest)] == list(range(3, 41))
        # Reset: the same learner from scratch, paused; it has no Q table before it plays.
        socket.write_message('{"type": "reset"}')
        again = await self.until(socket, lambda m: m["type"] == "progress"
                                 and m["status"] == "paused")
        assert again[0]["type"] == "started" and again[-1]["episode"] == 0
        assert "q" not in again[-1] and not np.any(again[-1]["visits"])

    @gen_test(timeout=TIMEOUT)
    async def test_pause_stops_a_running_learner_between_episodes(self):
        socket = await self.connect()
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": big_maze(), "episodes": MAX_EPISODES}))
        await self.until(socket, lambda m: m.get("episode", 0) > 0)
        socket.write_message('{"type": "pause"}')
        paused = await self.until(socket, lambda m: m.get("status") == "paused")
        done = paused[-1]["episode"]
        await asyncio.sleep(0.3)
        session = self.live_sessions()[0]
        assert session.episodes_done == done and session.status == "paused"

    @gen_test(timeout=TIMEOUT)
    async def test_the_speed_control_limits_the_episodes_per_second(self):
        socket = await self.connect()
        start = time.monotonic()
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": SAMPLE, "episodes": 200, "speed": 10}))
        await asyncio.sleep(0.6)
        session = self.live_sessions()[0]
        # At 10 episodes a second, 0.6 s (and the time to get here) allow a handful at most:
        # a busy machine can only make it fewer.
        assert session.episodes_done <= 10 * (time.monotonic() - start) + 1
        socket.write_message('{"type": "speed", "speed": 0}')  # full speed: to the end
        await self.until(socket, lambda m: m.get("status") == "done")

    @gen_test(timeout=TIMEOUT)
    async def test_a_new_start_replaces_the_running_learner(self):
        socket = await self.connect()
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": big_maze(), "episodes": MAX_EPISODES}))
        await self.until(socket, lambda m: m.get("episode", 0) > 0)
        first = self.live_sessions()[0]
        messages = await self.learn_to_the_end(socket, learner="sarsa", grid=SAMPLE,
                                               episodes=5)
        assert first.outcome == "stopped" and not first._thread.is_alive()
        started = [m for m in messages if m["type"] == "started"]
        assert started[-1]["learner"] == "sarsa" and messages[-1]["episode"] == 5

    # ------------------------------------------------------------------ changes while learning

    async def learn_with_a_change(self, socket, start, after, change):
        """Start a learner, send ``change`` once ``after`` episodes are done, learn to the end.
        Returns (every message, the "changed" message)."""
        socket.write_message(json.dumps({"type": "start", **start}))
        messages = await self.until(socket, lambda m: m.get("episode", 0) >= after)
        socket.write_message(json.dumps(change))
        messages += await self.until(socket, lambda m: m["type"] == "changed")
        changed = messages[-1]
        messages += await self.until(socket, lambda m: m.get("status") == "done")
        return messages, changed

    @staticmethod
    def learn_offline(settings, episode, change):
        """What ``MazeLearning`` learns with ``change(learning)`` before ``episode``."""
        rewards = []

        def on_episode(done, more):
            rewards.append(round(done.reward, 6))
            if done.number == episode - 1:
                change(learning)

        set_seed(settings.seed)
        learning = MazeLearning(settings, on_episode)
        learning.run()
        return learning, rewards

    @gen_test(timeout=TIMEOUT)
    async def test_epsilon_changed_mid_run_rules_from_the_next_episode(self):
        start = dict(learner="q_learning", grid=CLIFF, prob=1.0, epsilon=0.05, episodes=300,
                     seed=2, speed=200)
        socket = await self.connect()
        messages, changed = await self.learn_with_a_change(
            socket, start, 100, {"type": "tune", "epsilon": 1})
        n = changed["episode"]
        assert changed["settings"] == {"epsilon": 1} and changed["maze"] is False
        episodes = self.episodes(messages)
        assert [e["n"] for e in episodes] == list(range(1, 301))  # nothing started again
        ends = [e["end"] for e in episodes]
        assert ends[n - 51:n - 1].count("danger") < 20  # ε = 0.05: few falls
        assert ends[n - 1:n + 49].count("danger") > 40  # ε = 1: a random walk falls in
        # Exactly what MazeLearning learns when ε changes before episode n.
        settings = LearningSettings(**{k: v for k, v in start.items() if k != "speed"})
        learning, rewards = self.learn_offline(settings, n, lambda run: run.tune(epsilon=1.0))
        assert [e["reward"] for e in episodes] == rewards
        assert np.allclose(table_of(messages[-1]), learning.snapshot()["table"], atol=1e-4)
        # A reset starts again from the settings as they are now.
        socket.write_message('{"type": "reset"}')
        again = await self.until(socket, lambda m: m["type"] == "started")
        assert again[-1]["settings"]["epsilon"] == 1

    @gen_test(timeout=TIMEOUT)
    async def test_a_reward_edit_mid_run_keeps_the_table_and_the_agent_re_routes(self):
        swapped = [[-0.04, -0.04, -0.04, -1], [-0.04, 0, -0.04, 1], [-0.04] * 4]
        start = dict(learner="q_learning", grid=SAMPLE, prob=1.0, episodes=600, seed=0,
                     speed=300)
        socket = await self.connect()
        messages, changed = await self.learn_with_a_change(
            socket, start, 250, {"type": "maze", "grid": SAMPLE, "prob": 1.0,
                                 "rewards": swapped})
        n = changed["episode"]
        assert changed["maze"] is True and changed["settings"] == {}
        V, _ = value_iteration(GridMDP(SAMPLE, 1.0, -0.04, swapped), 0.9)
        assert np.allclose(np.ravel(changed["reference"]), V, atol=1e-4)
        episodes = self.episodes(messages)
        assert [e["n"] for e in episodes] == list(range(1, 601))
        # Before the edit the greedy route led to the Treasure; now to the cell paying +1.
        before = [m for m in self.progress(messages) if "route" in m and m["episode"] < n]
        assert before[-1]["route"][-1] == 3
        assert messages[-1]["route"][-1] == 7
        learning, rewards = self.learn_offline(
            LearningSettings(**{k: v for k, v in start.items() if k != "speed"}), n,
            lambda run: run.change_maze(SAMPLE, 1.0, swapped))
        assert [e["reward"] for e in episodes] == rewards
        assert np.allclose(table_of(messages[-1]), learning.snapshot()["table"], atol=1e-4)

    @gen_test(timeout=TIMEOUT)
    async def test_lambda_and_planning_steps_reach_their_learners(self):
        socket = await self.connect()
        messages = await self.learn_to_the_end(socket, learner="sarsa_lambda", grid=SAMPLE,
                                               episodes=5, **{"lambda": 0.4})
        assert messages[0]["settings"]["lambda"] == 0.4
        messages = await self.learn_to_the_end(socket, learner="dyna", grid=SAMPLE,
                                               episodes=5, planning_steps=7)
        started = [m for m in messages if m["type"] == "started"][-1]
        assert started["settings"]["planning_steps"] == 7
        assert started["settings"]["lambda"] is None

    @gen_test(timeout=TIMEOUT)
    async def test_changes_that_cannot_be_made_are_refused(self):
        socket = await self.connect()
        socket.write_message('{"type": "tune", "epsilon": 0.5}')
        assert (await self.receive(socket))["status"] == 409  # nothing runs yet
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": SAMPLE, "paused": True}))
        await self.until(socket, lambda m: m.get("status") == "paused")
        bad = [
            ({"type": "tune"}, 400, '"tune" needs one of'),
            ({"type": "tune", "lambda": 0.5}, 400, '"lambda" is not a setting of q_learning'),
            ({"type": "tune", "epsilon": 2}, 400, "between 0 and 1"),
            ({"type": "tune", "learning_rate": 0}, 400, "above 0"),
            ({"type": "tune", "seed": 1}, 400, "unknown key"),
            ({"type": "maze", "grid": CLIFF}, 409, "another size"),
            ({"type": "maze", "grid": [[0, 1], [9, 0]]}, 400, "start"),
            ({"type": "start", "learner": "sarsa", "grid": SAMPLE, "planning_steps": 3}, 400,
             '"planning_steps" is not a setting of sarsa'),
            ({"type": "start", "learner": "dyna", "grid": SAMPLE, "planning_steps": 10**6},
             400, "planning_steps"),
            ({"type": "start", "learner": "sarsa", "grid": SAMPLE, "lambda": 0.5}, 400,
             '"lambda" is not a setting of sarsa'),
        ]
        for message, status, words in bad:
            socket.write_message(json.dumps(message))
            error = await self.until(socket, lambda m: m["type"] == "error")
            assert (error[-1]["status"], words in error[-1]["error"]) == (status, True), error
        socket.write_message(json.dumps({"type": "start", "learner": "actor_critic",
                                         "grid": SAMPLE, "paused": True}))
        await self.until(socket, lambda m: m["type"] == "started")
        socket.write_message('{"type": "tune", "epsilon": 0.5}')
        error = await self.until(socket, lambda m: m["type"] == "error")
        assert '"epsilon" is not a setting of actor_critic' in error[-1]["error"]

    # ------------------------------------------------------------------ bad messages

    @gen_test(timeout=TIMEOUT)
    async def test_bad_messages_get_errors_and_the_socket_keeps_working(self):
        socket = await self.connect()
        bad = [
            ("not json", 400, "not valid JSON"),
            ('{"type": "start", "learner": "q_learning", "grid": [[0, 1]], "prob": NaN}',
             400, "NaN is not valid JSON"),
            ("[1, 2]", 400, "JSON object"),
            ('{"type": "jump"}', 400, 'unknown "type"'),
            ('{"type": "pause", "speed": 1}', 400, "unknown key"),
            ('{"type": "start", "grid": [[0, 1]]}', 400, '"start" needs "learner"'),
            ('{"type": "start", "learner": "dqn", "grid": [[0, 1]]}', 400, "unknown learner"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "epsilon": "0.1"}',
             400, '"epsilon" must be a number'),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "epsilon": 1.5}',
             400, "between 0 and 1"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "learning_rate": 0}',
             400, "above 0"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "episodes": 2.5}',
             400, "a whole number"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "episodes": 1000000}',
             400, f"1 to {MAX_EPISODES}"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "seed": -1}', 400, "seed"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "paused": 1}',
             400, "true or false"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1], [0]]}', 400, "rectangular"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1], [9, 0]]}', 400, "start"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 7]]}', 400, "unknown cell"),
            (json.dumps({"type": "start", "learner": "sarsa", "grid": big_maze(MAX_SIDE + 1)}),
             413, "larger than"),
            ('{"type": "start", "learner": "sarsa", "grid": [[0, 1]], "rewards": [[0]]}',
             400, "rewards"),
            ('{"type": "speed", "speed": -1}', 400, '"speed" must be a number from 0'),
            ('{"type": "speed"}', 400, '"speed" needs "speed"'),
            ('{"type": "pause"}', 409, 'send "start" first'),
            ('{"type": "step"}', 409, 'send "start" first'),
        ]
        for text, status, words in bad:
            socket.write_message(text)
            error = await self.receive(socket)
            assert error["type"] == "error", text
            assert error["status"] == status, (text, error)
            assert words in error["error"], (text, error)
        socket.write_message(b"\x00binary", binary=True)
        error = await self.receive(socket)
        assert error["status"] == 400 and "text messages" in error["error"]
        messages = await self.learn_to_the_end(socket, learner="sarsa", grid=[[0, 1]],
                                               episodes=3)
        assert messages[-1]["status"] == "done"

    def test_parse_message_applies_each_learners_defaults(self):
        command = parse_message(json.dumps({"type": "start", "learner": "actor_critic_off_policy",
                                            "grid": SAMPLE}))
        settings = command.settings
        assert (settings.episodes, settings.epsilon, settings.learning_rate) == (3000, 0.3, 0.1)
        assert (settings.prob, settings.gamma, settings.seed) == (0.8, 0.9, 0)
        assert command.paused is False and command.speed is None

    @gen_test(timeout=TIMEOUT)
    async def test_a_message_over_the_size_limit_closes_the_socket(self):
        socket = await self.connect()
        socket.write_message("x" * (learning_socket.MAX_MESSAGE_BYTES + 1))
        assert await asyncio.wait_for(socket.read_message(), TIMEOUT) is None
        assert socket.close_code == 1009  # "message too big"

    # ------------------------------------------------------------------ bounds and safety

    @gen_test(timeout=TIMEOUT)
    async def test_the_number_of_learning_pages_is_limited(self):
        sockets = [await self.connect() for _ in range(MAX_SESSIONS)]
        refused = await websocket_connect(self.socket_url())
        error = json.loads(await asyncio.wait_for(refused.read_message(), TIMEOUT))
        assert error["status"] == 503
        assert await asyncio.wait_for(refused.read_message(), TIMEOUT) is None
        assert refused.close_code == 1013
        # Closing one page frees its place.
        sockets[0].close()
        for _ in range(100):
            if len(self._app.learning_sessions.sockets) < MAX_SESSIONS:
                break
            await asyncio.sleep(0.05)
        await self.connect()

    @gen_test(timeout=TIMEOUT)
    async def test_the_learner_stops_when_its_page_closes(self):
        socket = await self.connect()
        socket.write_message(json.dumps({"type": "start", "learner": "q_learning",
                                         "grid": big_maze(), "episodes": MAX_EPISODES}))
        await self.until(socket, lambda m: m.get("episode", 0) > 0)
        session = self.live_sessions()[0]
        socket.close()
        for _ in range(200):
            if not session._thread.is_alive():
                break
            await asyncio.sleep(0.05)
        assert session.outcome == "stopped" and not session._thread.is_alive()
        assert session.episodes_done < MAX_EPISODES
        assert not self._app.learning_sessions.sockets

    @gen_test(timeout=TIMEOUT)
    async def test_a_page_open_too_long_is_told_and_closed(self):
        with mock.patch.object(learning_socket, "SESSION_LIMIT_S", 0.2):
            socket = await self.connect()
        error = await self.receive(socket)
        assert error["status"] == 408
        assert await asyncio.wait_for(socket.read_message(), TIMEOUT) is None

    @gen_test(timeout=TIMEOUT)
    async def test_the_server_answers_the_page_and_plans_while_learners_run(self):
        sockets = [await self.connect(), await self.connect()]
        for socket, name in zip(sockets, ("q_learning", "sarsa")):
            socket.write_message(json.dumps({"type": "start", "learner": name,
                                             "grid": big_maze(), "episodes": MAX_EPISODES}))
            await self.until(socket, lambda m: m.get("episode", 0) > 0)
        page = await self.http_client.fetch(self.get_url("/"))
        learn = await self.http_client.fetch(self.get_url("/learn"))
        plan = await self.http_client.fetch(
            self.get_url("/plan"), method="POST", headers={"Content-Type": "application/json"},
            body=json.dumps({"plan": "value", "grid": big_maze()}))
        assert page.code == learn.code == plan.code == 200
        assert json.loads(plan.body)["iterations"] > 0
        # ... and the learners were still at work all along.
        assert all(s.status == "running" for s in self.live_sessions())

    @gen_test(timeout=TIMEOUT)
    async def test_a_page_of_another_origin_cannot_open_the_socket(self):
        own = self.get_url("").rstrip("/")
        for origin in ("http://evil.example", "null", own.replace("127.0.0.1", "localhost")):
            try:
                await websocket_connect(HTTPRequest(self.socket_url(),
                                                    headers={"Origin": origin}))
            except HTTPClientError as error:
                assert error.code == 403, origin
            else:
                raise AssertionError(f"the origin {origin} was let in")
        await self.connect(Origin=own)  # this server's own page

    @gen_test(timeout=TIMEOUT)
    async def test_a_foreign_host_gets_nothing(self):
        for path in ("/learn", "/learn/socket"):
            try:
                await self.http_client.fetch(self.get_url(path), headers={"Host": "evil.example"})
            except HTTPClientError as error:
                assert error.code == 421, path
            else:
                raise AssertionError(f"{path} answered a foreign Host")
        try:
            await websocket_connect(HTTPRequest(self.socket_url(),
                                                headers={"Host": "evil.example"}))
        except HTTPClientError as error:
            assert error.code == 421
        else:
            raise AssertionError("the socket opened for a foreign Host")

    def test_the_page_has_the_learners_and_the_security_headers(self):
        response = self.fetch("/learn")
        assert response.code == 200
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        text = response.body.decode()
        for name in LEARNERS:
            assert f'value="{name}"' in text
        assert "learn.js" in text and "://" not in text  # its own files only, no CDN


def test_a_session_gives_each_learner_its_own_random_numbers():
    """Two sessions of the same learner and seed, running at once, learn the same table."""
    settings = LearningSettings("q_learning", SAMPLE, episodes=60, seed=5)

    async def both():
        done = asyncio.get_running_loop().create_future()
        ended = []

        def on_end(session):
            ended.append(session)
            if len(ended) == 2:
                done.set_result(None)

        sessions = [LearningSession(settings, on_end=on_end) for _ in range(2)]
        for session in sessions:
            session.start()
        await asyncio.wait_for(done, TIMEOUT)
        return [s.take_messages()[-1] for s in sessions]

    first, second = asyncio.run(both())
    expected = learn_maze(settings)[0].snapshot()["table"]
    assert np.allclose(table_of(first), expected, atol=1e-4)
    assert np.allclose(table_of(second), expected, atol=1e-4)
