"""The maze simulator's server: the page, the /plan API, its validation, and run_server.py."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tornado.testing import gen_test

from DP import application, plan_request, run_server
from DP.application import Application
from DP.environment import ACTIONS
from DP.http_safety import MAX_BODY_BYTES
from DP.plan_request import BadRequest, parse_plan_request
from DP.vectorized_planner import Environment, PolicyIterationPlanner, ValueIterationPlanner
from tests.DP.server_case import JSON_HEADERS, PlanningServerCase

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]


def big_maze(size=20):
    grid = [[0] * size for _ in range(size)]
    grid[0][size - 1], grid[1][size - 1] = 1, -1
    for column in range(3, size - 4):
        grid[size // 4][column] = 9
    return grid


class ServerTestCase(PlanningServerCase):
    def plan(self, **fields):
        response = self.post({"plan": "value", "prob": 0.8, "grid": SAMPLE, **fields})
        assert response.code == 200, response.body
        return json.loads(response.body)

    def assert_error(self, response, status):
        assert response.code == status, (response.code, response.body)
        assert response.headers["Content-Type"].startswith("application/json")
        body = json.loads(response.body)
        assert isinstance(body["error"], str) and body["error"]
        return body["error"]


class TestPage(ServerTestCase):
    def test_index_page_links_its_own_script_and_style(self):
        response = self.fetch("/")
        assert response.code == 200
        html = response.body.decode()
        assert "Value Iteration" in html and "Policy Iteration" in html
        assert "価値反復法" in html and "方策反復法" in html
        assert '/static/app.js?v=' in html and '/static/style.css?v=' in html
        # No CDN, no inline code: everything comes from this server.
        assert "http://" not in html and "https://" not in html
        assert "<script>" not in html and "style=" not in html

    def test_security_headers_on_page_static_files_api_and_errors(self):
        answers = [
            self.fetch("/"),
            self.fetch("/static/app.js"),
            self.fetch("/static/style.css"),
            self.post({"plan": "value", "grid": SAMPLE}),
            self.post(b"{"),
            self.fetch("/no-such-page"),
        ]
        for response in answers:
            csp = response.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert "Server" not in response.headers

    def test_static_files_have_the_right_types(self):
        assert "javascript" in self.fetch("/static/app.js").headers["Content-Type"]
        assert "text/css" in self.fetch("/static/style.css").headers["Content-Type"]
        assert "svg" in self.fetch("/static/favicon.svg").headers["Content-Type"]

    def test_unknown_page_and_wrong_method_are_json_errors(self):
        self.assert_error(self.fetch("/no-such-page"), 404)
        self.assert_error(self.fetch("/plan"), 405)
        self.assert_error(self.fetch("/", method="POST", body=b"{}"), 405)

    def test_the_application_never_runs_in_debug_mode(self):
        app = Application(debug=True, autoreload=True)
        try:
            assert not app.settings["debug"] and not app.settings["autoreload"]
            assert not app.settings["serve_traceback"]
        finally:
            app.close()


class TestPlans(ServerTestCase):
    def test_value_iteration_gives_the_books_values_and_a_full_log(self):
        answer = self.plan()
        log, values = answer["log"], answer["values"]
        assert answer["plan"] == "value" and answer["gamma"] == 0.9 and answer["prob"] == 0.8
        assert answer["iterations"] == len(log) - 1 == len(answer["deltas"]) > 1
        assert log[0] == [[0.0] * 4] * 3
        np.testing.assert_allclose(log[-1], values, atol=1e-4)
        assert values[0][:3] == pytest.approx([0.610, 0.766, 0.928], abs=1e-3)
        assert values[2][0] == pytest.approx(0.374, abs=1e-3)
        assert answer["deltas"][-1] < answer["threshold"] <= answer["deltas"][-2]

    def test_values_satisfy_the_bellman_equation_and_the_policy_is_greedy(self):
        grid = [[0, 0, 0, 0, 1], [0, 9, 9, 0, -1], [0, 0, 0, 0, 0]]
        answer = self.plan(grid=grid, gamma=0.95, prob=0.7)
        mdp = Environment(grid, move_prob=0.7).mdp
        V = np.array(answer["values"]).ravel()
        Q = mdp.action_values(V, 0.95)
        acting = mdp.prob.sum(axis=(1, 2)) > 0
        np.testing.assert_allclose(Q.max(axis=1)[acting], V[acting], atol=1e-3)
        for s in range(mdp.n_states):
            r, c = divmod(s, mdp.n_columns)
            chosen = answer["policy"][r][c]
            if not acting[s]:
                assert chosen == [] and answer["q_values"][r][c] is None
                continue
            best = {a.name for a, q in zip(ACTIONS, Q[s]) if q >= Q[s].max() - 1e-6}
            assert set(chosen) == best
            np.testing.assert_allclose(answer["q_values"][r][c], Q[s], atol=1e-9)
            # The last frame's arrows are the greedy actions (bit i is ACTIONS[i]).
            bits = answer["arrows_log"][-1][r][c]
            assert {a.name for i, a in enumerate(ACTIONS) if bits >> i & 1} == best

    def test_every_tied_action_is_kept(self):
        # Mirror-symmetric maze: between the two treasures, LEFT and RIGHT are equally good.
        grid = [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
        answer = self.plan(grid=grid)
        assert set(answer["policy"][0][1]) == {"LEFT", "RIGHT"}
        assert answer["arrows_log"][-1][0][1] == 0b1100  # bits 2 and 3: LEFT and RIGHT
        assert answer["arrows_log"][0][1][1] == 0b1111  # at V = 0, every move costs the same

    def test_policy_iteration_reports_each_improvement_step(self):
        answer = self.plan(plan="policy")
        reference = PolicyIterationPlanner(Environment(SAMPLE))
        reference.plan(gamma=0.9)
        assert answer["iterations"] == reference.iterations == len(answer["policy_log"])
        assert len(answer["log"]) == answer["iterations"] + 1
        np.testing.assert_allclose(answer["values"], reference.log[-1], atol=1e-9)
        value_answer = self.plan(plan="value")
        np.testing.assert_allclose(answer["values"], value_answer["values"], atol=1e-3)
        names = [a.name for a in ACTIONS]
        for step, expected in zip(answer["policy_log"], reference.policy_log):
            for r, row in enumerate(step):
                for c, chosen in enumerate(row):
                    if SAMPLE[r][c] == 0:
                        assert chosen == names[expected[r][c]]
                    else:
                        assert chosen is None
        # Arrows: the uniformly random policy first, then one action per cell.
        assert answer["arrows_log"][0][2][0] == 0b1111 and answer["arrows_log"][0][0][3] == 0
        final = answer["policy_log"][-1]
        assert answer["arrows_log"][-1][2][0] == 1 << names.index(final[2][0])
        assert final[2][0] in answer["policy"][2][0]

    def test_gamma_and_prob_change_the_plan(self):
        default = self.plan()
        explicit = self.plan(gamma=0.9, prob=0.8)
        assert default["log"] == explicit["log"] and default["values"] == explicit["values"]
        far_sighted = self.plan(gamma=0.99)
        assert far_sighted["values"][2][0] > default["values"][2][0]
        assert self.plan(prob=1.0)["values"][2][0] > default["values"][2][0]
        assert self.plan(gamma=0)["iterations"] < default["iterations"]

    def test_a_20_by_20_maze_and_a_one_by_one_maze_are_planned(self):
        for plan in ("value", "policy"):
            answer = self.plan(plan=plan, grid=big_maze())
            assert np.array(answer["log"]).shape == (answer["iterations"] + 1, 20, 20)
            assert answer["values"][0][18] > 0.5
        assert self.plan(grid=[[0]])["values"] == [[pytest.approx(-0.4, abs=1e-3)]]


BAD_BODIES = {
    # Not JSON, or JSON of the wrong shape or types: 400.
    "empty body": (b"", 400),
    "truncated JSON": (b'{"plan": "value", "grid": [[0, 1]', 400),
    "not UTF-8": (b"\xff\xfe\xfa", 400),
    "NaN literal": (b'{"plan": "value", "prob": NaN, "grid": [[0, 1]]}', 400),
    "Infinity literal": (b'{"plan": "value", "gamma": Infinity, "grid": [[0, 1]]}', 400),
    "overflowing number": (b'{"plan": "value", "prob": 1e400, "grid": [[0, 1]]}', 400),
    "deep nesting": (b"[" * 20000 + b"]" * 20000, 400),
    "a list": ([{"plan": "value"}], 400),
    "a string": ("value", 400),
    "null": (None, 400),
    "no plan": ({"grid": [[0, 1]]}, 400),
    "no grid": ({"plan": "value"}, 400),
    "unknown key": ({"plan": "value", "grid": [[0, 1]], "gama": 0.9}, 400),
    "plan is a number": ({"plan": 1, "grid": [[0, 1]]}, 400),
    "plan is a list": ({"plan": ["value"], "grid": [[0, 1]]}, 400),
    "plan is an object": ({"plan": {"value": 1}, "grid": [[0, 1]]}, 400),
    "plan is null": ({"plan": None, "grid": [[0, 1]]}, 400),
    "unknown plan": ({"plan": "q-learning", "grid": [[0, 1]]}, 400),
    "plan in capitals": ({"plan": "VALUE", "grid": [[0, 1]]}, 400),
    "grid is a dict": ({"plan": "value", "grid": {"0": [0, 1]}}, 400),
    "grid is a string": ({"plan": "value", "grid": "[[0, 1]]"}, 400),
    "a row is an object": ({"plan": "value", "grid": [{"0": 0}]}, 400),
    "a cell is a list": ({"plan": "value", "grid": [[[0], 1]]}, 400),
    "a cell is an object": ({"plan": "value", "grid": [[{}, 1]]}, 400),
    "a huge integer cell": ({"plan": "value", "grid": [[10 ** 300, 1]]}, 400),
    "rows are numbers": ({"plan": "value", "grid": [0, 1]}, 400),
    "no rows": ({"plan": "value", "grid": []}, 400),
    "no columns": ({"plan": "value", "grid": [[]]}, 400),
    "non-rectangular": ({"plan": "value", "grid": [[0, 0, 1], [0, 0]]}, 400),
    "unknown cell value": ({"plan": "value", "grid": [[0, 2], [0, 0]]}, 400),
    "string cell": ({"plan": "value", "grid": [["0", 1]]}, 400),
    "float cell": ({"plan": "value", "grid": [[0.0, 1]]}, 400),
    "boolean cell": ({"plan": "value", "grid": [[False, True]]}, 400),
    "null cell": ({"plan": "value", "grid": [[None, 1]]}, 400),
    "blocked start": ({"plan": "value", "grid": [[0, 1], [9, 0]]}, 400),
    "prob is a string": ({"plan": "value", "prob": "0.8", "grid": [[0, 1]]}, 400),
    "prob is a boolean": ({"plan": "value", "prob": True, "grid": [[0, 1]]}, 400),
    "prob is false": ({"plan": "value", "prob": False, "grid": [[0, 1]]}, 400),
    "prob is a list": ({"plan": "value", "prob": [0.8], "grid": [[0, 1]]}, 400),
    "gamma is true": ({"plan": "value", "gamma": True, "grid": [[0, 1]]}, 400),
    "gamma is an object": ({"plan": "value", "gamma": {"value": 0.9}, "grid": [[0, 1]]}, 400),
    "prob below 0": ({"plan": "value", "prob": -0.1, "grid": [[0, 1]]}, 400),
    "prob above 1": ({"plan": "value", "prob": 1.5, "grid": [[0, 1]]}, 400),
    "huge integer prob": ({"plan": "value", "prob": 10 ** 400, "grid": [[0, 1]]}, 400),
    "gamma is null": ({"plan": "value", "gamma": None, "grid": [[0, 1]]}, 400),
    "gamma above 1": ({"plan": "value", "gamma": 2, "grid": [[0, 1]]}, 400),
    "gamma below 0": ({"plan": "value", "gamma": -1e-9, "grid": [[0, 1]]}, 400),
    "rewards is null": ({"plan": "value", "grid": [[0, 1]], "rewards": None}, 400),
    "rewards is a number": ({"plan": "value", "grid": [[0, 1]], "rewards": -0.04}, 400),
    "rewards of another shape": ({"plan": "value", "grid": [[0, 1]], "rewards": [[0]]}, 400),
    "rewards with a string": ({"plan": "value", "grid": [[0, 1]], "rewards": [["0", 1]]}, 400),
    "rewards with a boolean": ({"plan": "value", "grid": [[0, 1]], "rewards": [[True, 1]]}, 400),
    "reward out of range": ({"plan": "value", "grid": [[0, 1]], "rewards": [[-20, 1]]}, 400),
    "reward overflows": (b'{"plan": "value", "grid": [[0, 1]], "rewards": [[1e400, 1]]}', 400),
    "reward is NaN": (b'{"plan": "value", "grid": [[0, 1]], "rewards": [[NaN, 1]]}', 400),
    # Too large: 413.
    "21 rows": ({"plan": "value", "grid": [[0]] * 21}, 413),
    "21 columns": ({"plan": "value", "grid": [[0] * 21]}, 413),
    "21 x 21": ({"plan": "value", "grid": [[0] * 21] * 21}, 413),
    "body over the cap": (b" " * MAX_BODY_BYTES + b'{"plan": "value", "grid": [[0]]}', 413),
    # Valid, but it would never converge: the iteration cap stops it (422).
    "no goal and gamma 1": ({"plan": "value", "gamma": 1, "grid": [[0, 0], [0, 0]]}, 422),
    "policy, no goal, gamma 1": ({"plan": "policy", "gamma": 1, "grid": [[0, 0], [0, 0]]}, 422),
}


class TestBadInput(ServerTestCase):
    def test_every_kind_of_bad_input_gets_a_clear_4xx_json_answer(self):
        for name, (body, status) in BAD_BODIES.items():
            with self.subTest(name):
                if not isinstance(body, bytes):
                    body = json.dumps(body)
                self.assert_error(self.post(body), status)
        # The server is still serving after all of that.
        assert self.plan()["iterations"] > 1

    def test_the_messages_say_what_is_wrong(self):
        def message(body):
            return json.loads(self.post(body).body)["error"]

        assert "rectangular" in message({"plan": "value", "grid": [[0, 0, 1], [0, 0]]})
        assert "start" in message({"plan": "value", "grid": [[0, 1], [9, 0]]})
        assert '"value" or "policy"' in message({"plan": "dp", "grid": [[0, 1]]})
        assert "prob" in message({"plan": "value", "prob": 2, "grid": [[0, 1]]})
        assert "gamma" in message({"plan": "value", "gamma": -1, "grid": [[0, 1]]})
        assert "20 x 20" in message({"plan": "value", "grid": [[0] * 21]})
        assert "not valid JSON" in message(b"{plan: value}")
        assert "converge" in message({"plan": "value", "gamma": 1, "grid": [[0, 0]]})

    def test_only_json_bodies_are_accepted(self):
        body = json.dumps({"plan": "value", "grid": SAMPLE})
        self.assert_error(self.post(body, headers={}), 415)
        self.assert_error(self.post(body, headers={"Content-Type": "text/plain"}), 415)
        self.assert_error(
            self.post(body, headers={"Content-Type": "application/x-www-form-urlencoded"}), 415
        )
        response = self.post(body, headers={"Content-Type": "application/json; charset=utf-8"})
        assert response.code == 200

    def test_a_plan_that_takes_too_long_is_stopped_with_an_error(self):
        release = threading.Event()

        def stuck(request):
            release.wait(10)
            return "{}"

        self._app.plan_timeout = 0.05
        try:
            with mock.patch.object(application, "solve", stuck):
                response = self.post({"plan": "value", "grid": SAMPLE})
                error = self.assert_error(response, 422)
        finally:
            release.set()
        assert "longer than" in error
        assert json.loads(response.body)["hint"] == {"code": "timeout", "seconds": 0.05}
        self._app.plan_timeout = application.PLAN_TIMEOUT_S
        assert self.plan()["iterations"] > 1

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda children: st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=6), children, max_size=4),
            max_leaves=12,
        )
    )
    def test_random_json_gets_only_200_or_4xx(self, value):
        response = self.post(json.dumps(value))
        assert response.code == 200 or 400 <= response.code < 500
        if response.code != 200:
            assert "error" in json.loads(response.body)

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        plan=st.sampled_from(["value", "policy", "other", 0, None]),
        prob=st.one_of(st.floats(allow_nan=False), st.integers(-2, 2), st.text(max_size=2)),
        gamma=st.one_of(st.floats(-0.5, 1.5), st.none(), st.booleans()),
        grid=st.lists(
            st.lists(st.sampled_from([0, 0, 0, 1, -1, 9, 2, "x", 0.5]), min_size=0, max_size=5),
            min_size=0, max_size=5,
        ),
        rewards=st.lists(st.lists(st.one_of(st.floats(-12, 12), st.integers(-12, 12)),
                                  min_size=0, max_size=5), min_size=0, max_size=5),
        drop=st.sets(st.sampled_from(["plan", "prob", "gamma", "grid", "rewards"])),
    )
    def test_nearly_valid_requests_get_only_200_or_4xx(self, plan, prob, gamma, grid, rewards,
                                                        drop):
        body = {"plan": plan, "prob": prob, "gamma": gamma, "grid": grid, "rewards": rewards}
        body = {k: v for k, v in body.items() if k not in drop}
        response = self.post(json.dumps(body))
        assert response.code == 200 or 400 <= response.code < 500
        answer = json.loads(response.body)
        if response.code == 200:
            assert answer["iterations"] == len(answer["log"]) - 1
        else:
            assert answer["error"]


class TestConcurrency(ServerTestCase):
    @gen_test(timeout=20)
    async def test_the_page_is_answered_while_a_plan_runs(self):
        started, release = threading.Event(), threading.Event()
        real_solve = application.solve

        def slow_solve(request):
            started.set()
            release.wait(10)
            return real_solve(request)

        body = json.dumps({"plan": "policy", "grid": big_maze(), "gamma": 0.95})
        with mock.patch.object(application, "solve", slow_solve):
            planning = asyncio.ensure_future(self.http_client.fetch(
                self.get_url("/plan"), method="POST", body=body, headers=JSON_HEADERS
            ))
            for _ in range(1000):
                if started.is_set():
                    break
                await asyncio.sleep(0.01)
            assert started.is_set()
            # The plan is still running in the worker thread: the page must be answered anyway.
            page = await self.http_client.fetch(self.get_url("/"))
            assert page.code == 200 and not planning.done()
            release.set()
            answer = await planning
        assert answer.code == 200 and json.loads(answer.body)["values"][0][18] > 0.5

    @gen_test(timeout=30)
    async def test_large_plans_and_pages_are_served_together(self):
        def fetch_plan(plan):
            body = json.dumps({"plan": plan, "grid": big_maze(), "gamma": 0.99})
            return self.http_client.fetch(
                self.get_url("/plan"), method="POST", body=body, headers=JSON_HEADERS
            )

        answers = await asyncio.gather(
            fetch_plan("policy"), fetch_plan("value"),
            *[self.http_client.fetch(self.get_url("/")) for _ in range(3)],
        )
        assert [a.code for a in answers] == [200] * 5
        policy, value = (json.loads(a.body) for a in answers[:2])
        np.testing.assert_allclose(policy["values"], value["values"], atol=1e-2)


def test_parse_plan_request_validates_before_planning():
    request = parse_plan_request(b'{"plan": "policy", "grid": [[0, 1]], "prob": 1}')
    assert (request.plan, request.prob, request.gamma) == ("policy", 1.0, 0.9)
    with pytest.raises(BadRequest) as error:
        parse_plan_request(json.dumps({"plan": "value", "grid": [[0] * 25]}).encode())
    assert error.value.status == 413


def test_the_server_matches_the_planners():
    grid = big_maze(12)
    env = Environment(grid, move_prob=0.9)
    request = plan_request.PlanRequest(plan="value", grid=grid, prob=0.9, gamma=0.9)
    answer = json.loads(application.solve(request))
    planner = ValueIterationPlanner(env)
    planner.plan(gamma=0.9, threshold=application.THRESHOLD)
    assert answer["iterations"] == planner.iterations
    np.testing.assert_allclose(answer["log"], planner.log, atol=1e-4)


# ---------------------------------------------------------------------- run_server.py


def test_run_server_rejects_bad_ports(monkeypatch, capsys):
    for argv in (["--port", "70000"], ["--port", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            run_server.main(argv)
        assert exit_info.value.code == 2
    assert "between 0 and 65535" in capsys.readouterr().err
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit) as exit_info:
        run_server.main([])
    assert exit_info.value.code == 2
    assert "PORT" in capsys.readouterr().err


def test_run_server_port_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert run_server.default_port() == 8888
    monkeypatch.setenv("PORT", "8123")
    assert run_server.default_port() == 8123
    assert run_server.url_for("127.0.0.1", 8123) == "http://127.0.0.1:8123/"
    # A wildcard address is not one to open: the loopback address reaches it.
    assert run_server.url_for("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert run_server.url_for("", 80) == "http://127.0.0.1:80/"
    assert run_server.url_for("::", 80) == "http://[::1]:80/"
    assert run_server.url_for("::1", 80) == "http://[::1]:80/"


def test_run_server_says_so_when_the_port_is_taken(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as exit_info:
            run_server.main(["--port", str(taken.getsockname()[1])])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT, as Ctrl-C does")
@pytest.mark.parametrize("host", [None, "0.0.0.0"])
def test_run_server_starts_from_another_folder_and_stops_on_ctrl_c(tmp_path, host):
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("PORT", None)
    host_option = [] if host is None else ["--host", host]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "DP" / "run_server.py"), "--port", "0", *host_option],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=environment,
    )
    try:
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        url = line.split("open ", 1)[1].split()[0]
        # Listening on every interface is announced on the next two lines; 127.0.0.1 is not.
        warning = "" if host is None else server.stdout.readline() + server.stdout.readline()
        assert ("reachable from other machines" in warning) == (host is not None)
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and "Value Iteration" in page.read().decode()
        with urllib.request.urlopen(url + "static/app.js", timeout=10) as script:
            assert script.status == 200
        request = urllib.request.Request(
            url + "plan", data=json.dumps({"plan": "value", "grid": SAMPLE}).encode(),
            headers=JSON_HEADERS,
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["iterations"] > 1
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0
    assert "stopped" in output and "Traceback" not in output
    assert "Warning" not in output
