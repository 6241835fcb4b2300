"""The simulator's server under hostile or careless clients: any JSON, path, method or Host,
stalled connections, oversized bodies, HEAD, and the hints and warnings it gives."""

import asyncio
import json
import socket
import time
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tornado.testing import gen_test

from DP import maze_advice, run_server
from DP.application import Application
from DP.http_safety import (
    CONNECTION_BODY_LIMIT,
    MAX_BODY_BYTES,
    host_is_allowed,
    http_server_options,
)
from DP.plan_request import PlanRequest
from DP.vectorized_planner import Environment
from tests.DP.server_case import JSON_HEADERS, PlanningServerCase

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
VALID = {"plan": "value", "prob": 0.8, "gamma": 0.9, "grid": SAMPLE}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value: null, booleans, numbers, strings, and lists and objects of them.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=16,
)


class ServerTestCase(PlanningServerCase):
    def assert_200_or_json_4xx(self, response):
        assert response.code == 200 or 400 <= response.code < 500, (response.code, response.body)
        if response.code != 200:
            assert response.headers["Content-Type"].startswith("application/json")
            error = json.loads(response.body)["error"]
            assert isinstance(error, str) and error
        assert_security_headers(response)

    def assert_error(self, response, status):
        assert response.code == status, (response.code, response.body)
        self.assert_200_or_json_4xx(response)
        return json.loads(response.body)["error"]


def assert_security_headers(response):
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


# ---------------------------------------------------------------------- any input at all


class TestAnyInput(ServerTestCase):
    @FUZZ
    @given(field=st.sampled_from(["plan", "prob", "gamma", "grid", "rewards"]), value=JSON_VALUES)
    def test_any_json_value_in_any_field_gets_200_or_a_json_4xx(self, field, value):
        self.assert_200_or_json_4xx(self.post({**VALID, field: value}))

    @FUZZ
    @given(JSON_VALUES)
    def test_any_json_value_as_the_whole_body_gets_200_or_a_json_4xx(self, value):
        self.assert_200_or_json_4xx(self.post(value))

    @FUZZ
    @given(st.dictionaries(st.sampled_from(sorted(VALID)) | st.text(max_size=4), JSON_VALUES,
                           max_size=5))
    def test_any_object_of_the_known_keys_gets_200_or_a_json_4xx(self, body):
        self.assert_200_or_json_4xx(self.post(body))

    def test_booleans_are_not_numbers(self):
        # true == 1 and false == 0 in Python, but a JSON boolean is not a probability.
        for field in ("prob", "gamma"):
            for value in (True, False):
                error = self.assert_error(self.post({**VALID, field: value}), 400)
                assert f'"{field}" must be a number' in error

    def test_each_field_is_refused_with_its_expected_type_named(self):
        assert "must be a string" in self.assert_error(self.post({**VALID, "plan": []}), 400)
        assert "must be a string" in self.assert_error(self.post({**VALID, "plan": {}}), 400)
        assert "must be a number" in self.assert_error(self.post({**VALID, "prob": [1]}), 400)
        assert "must be a list" in self.assert_error(self.post({**VALID, "grid": {}}), 400)
        assert "must be a list" in self.assert_error(self.post({**VALID, "rewards": "0"}), 400)
        assert self.post(VALID).code == 200

    @FUZZ
    @given(st.lists(
        st.sampled_from(["", ".", "..", "%00", "%ff", "%2e%2e", "%2f", "static", "app.js",
                         "%", "%zz", "\\", "plan", "index.html", "~"])
        | st.text(max_size=6).map(lambda text: urllib.parse.quote(text, safe="")),
        max_size=4,
    ))
    def test_any_path_gets_200_or_a_json_4xx(self, parts):
        for prefix in ("/", "/static/"):
            path = prefix + "/".join(parts)
            self.assert_200_or_json_4xx(self.fetch(path))

    def test_a_nul_byte_in_a_file_name_is_a_404(self):
        for path in ("/static/%00", "/static/app.js%00", "/static/a%00b.css"):
            self.assert_error(self.fetch(path), 404)
        assert self.fetch("/static/app.js").code == 200

    def test_any_method_on_any_path_gets_200_or_a_json_4xx(self):
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"]
        for path in ("/", "/plan", "/static/app.js", "/no-such-page"):
            for method in methods:
                body = None if method in ("GET",) else json.dumps(VALID)
                response = self.fetch(path, method=method, body=body, headers=JSON_HEADERS,
                                      allow_nonstandard_methods=True)
                self.assert_200_or_json_4xx(response)
        assert self.post(VALID).code == 200


# ---------------------------------------------------------------------- HEAD


class TestHead(ServerTestCase):
    def test_head_is_answered_wherever_get_is(self):
        for path in ("/", "/static/app.js", "/static/style.css", "/static/favicon.svg"):
            full = self.fetch(path)
            head = self.fetch(path, method="HEAD")
            assert full.code == head.code == 200, path
            assert head.body == b""
            assert head.headers["Content-Type"] == full.headers["Content-Type"]
            assert int(head.headers["Content-Length"]) == len(full.body)
            assert_security_headers(head)

    def test_head_gets_the_same_status_as_get_elsewhere(self):
        for path, status in (("/plan", 405), ("/no-such-page", 404), ("/static/nope.js", 404)):
            head = self.fetch(path, method="HEAD")
            assert head.code == status and head.body == b""
            assert_security_headers(head)


# ---------------------------------------------------------------------- DNS rebinding


class TestHostHeader(ServerTestCase):
    def test_a_foreign_host_gets_a_json_421_everywhere(self):
        for host in ("attacker.example", f"attacker.example:{self.get_http_port()}",
                     "127.0.0.1.nip.io", "localhost.attacker.example", "192.168.1.5"):
            headers = {"Host": host}
            for response in (
                self.fetch("/", headers=headers),
                self.fetch("/static/app.js", headers=headers),
                self.fetch("/no-such-page", headers=headers),
                self.post(VALID, headers={**JSON_HEADERS, **headers}),
            ):
                error = self.assert_error(response, 421)
                assert "localhost" in error

    def test_loopback_names_and_addresses_are_answered(self):
        port = self.get_http_port()
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", "LOCALHOST",
                     "localhost.", f"127.1.2.3:{port}", f"[::1]:{port}", "[::1]"):
            headers = {"Host": host}
            assert self.fetch("/", headers=headers).code == 200, host
            assert self.post(VALID, headers={**JSON_HEADERS, **headers}).code == 200, host

    def test_host_is_allowed(self):
        for header in ("localhost", "localhost:8888", "127.0.0.1", "127.0.0.1:8888",
                       "127.255.0.9:1", "[::1]", "[::1]:8888", "Localhost.:80"):
            assert host_is_allowed(header), header
        for header in ("attacker.example", "attacker.example:8888", "10.0.0.5:8888",
                       "[::2]:8888", "", ":8888", "[localhost]", "localhost:8888:1"):
            assert not host_is_allowed(header), header
        # The --host the server listens on is allowed as well.
        assert host_is_allowed("mypc.lan:8888", "mypc.lan")
        assert host_is_allowed("192.168.1.5:8888", "192.168.1.5")
        assert host_is_allowed("[0:0:0:0:0:0:0:1]", "::1")
        assert not host_is_allowed("attacker.example:8888", "mypc.lan")
        # On every interface: any address (no DNS, nothing to rebind), but still no names.
        for wildcard in ("", "0.0.0.0", "::"):
            assert host_is_allowed("192.168.1.5:8888", wildcard)
            assert host_is_allowed("[fe80::1]:8888", wildcard)
            assert host_is_allowed(f"{socket.gethostname()}:8888", wildcard)
            assert not host_is_allowed("attacker.example:8888", wildcard)


class TestWildcardHost(ServerTestCase):
    def get_app(self):
        return Application(host="0.0.0.0")

    def test_addresses_are_answered_and_names_refused(self):
        assert self.fetch("/", headers={"Host": "192.168.1.5:8888"}).code == 200
        assert self.fetch("/", headers={"Host": "localhost"}).code == 200
        self.assert_error(self.fetch("/", headers={"Host": "attacker.example"}), 421)


# ---------------------------------------------------------------------- stalled connections

TIMEOUT = 0.5


class TestStalledConnections(ServerTestCase):
    def get_httpserver_options(self):
        return http_server_options(idle_timeout=TIMEOUT, body_timeout=TIMEOUT)

    def wait_for_close(self, data, read_first=False):
        """Send ``data`` on a fresh connection, and return (seconds until the server closed
        it, everything it sent). Blocking: run it in a thread while the server's loop runs."""
        with socket.create_connection(("127.0.0.1", self.get_http_port()), timeout=10) as sock:
            sock.sendall(data)
            start = time.monotonic()
            received = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return time.monotonic() - start, received
                received += chunk

    async def closed_after(self, data):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.wait_for_close, data)

    @gen_test(timeout=20)
    async def test_half_sent_headers_are_dropped(self):
        elapsed, received = await self.closed_after(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        assert received == b"" and elapsed < TIMEOUT + 3

    @gen_test(timeout=20)
    async def test_a_half_sent_body_is_dropped(self):
        request = (b"POST /plan HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                   b"\r\nContent-Length: 1000\r\n\r\n{\"plan\": \"value\"")
        elapsed, received = await self.closed_after(request)
        assert received == b"" and elapsed < TIMEOUT + 3

    @gen_test(timeout=20)
    async def test_an_idle_keep_alive_connection_is_closed(self):
        elapsed, received = await self.closed_after(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert received.startswith(b"HTTP/1.1 200") and elapsed < TIMEOUT + 3
        # The server is still serving.
        answer = await self.http_client.fetch(self.get_url("/"))
        assert answer.code == 200


# ---------------------------------------------------------------------- oversized bodies


class TestOversizedBodies(ServerTestCase):
    def test_a_body_over_the_limit_gets_a_readable_413(self):
        for size in (MAX_BODY_BYTES + 1, CONNECTION_BODY_LIMIT):
            error = self.assert_error(self.post(b" " * size), 413)
            assert str(MAX_BODY_BYTES) in error
        assert self.post(VALID).code == 200

    def test_a_client_that_waits_for_100_continue_gets_the_413_before_sending(self):
        for size in (MAX_BODY_BYTES + 1, 3 * CONNECTION_BODY_LIMIT):
            response = self.post(b" " * size, expect_100_continue=True)
            self.assert_error(response, 413)
        assert self.post(VALID, expect_100_continue=True).code == 200

    def test_a_chunked_body_over_the_limit_gets_a_413(self):
        def producer_of(size):
            async def produce(write):
                for _ in range(size // 65536):
                    await write(b" " * 65536)
            return produce

        # Up to CONNECTION_BODY_LIMIT the body is read to its end: the 413 is sure to arrive.
        response = self.fetch("/plan", method="POST", headers=JSON_HEADERS,
                              body_producer=producer_of(4 * 65536))
        self.assert_error(response, 413)
        # Beyond it the server answers and closes while the client is still sending, so the
        # client's system may report a reset (599 here) instead; never a 5xx from the server.
        response = self.fetch("/plan", method="POST", headers=JSON_HEADERS,
                              body_producer=producer_of(3 * CONNECTION_BODY_LIMIT))
        if response.code != 599:
            self.assert_error(response, 413)
        assert self.post(VALID).code == 200

    def test_the_413_leaves_a_keep_alive_connection_usable(self):
        # The body was read to its end, so the next request on the connection is intact.
        body = b" " * (MAX_BODY_BYTES + 10)
        request = (b"POST /plan HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                   b"\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        plan = json.dumps(VALID).encode()
        request += (b"POST /plan HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                    b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(plan)) + plan

        async def exchange():
            reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
            writer.write(request)
            answer = await reader.read()
            writer.close()
            return answer

        answer = self.io_loop.run_sync(exchange, timeout=20)
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"HTTP/1.1 200" in answer and b'"iterations"' in answer


# ---------------------------------------------------------------------- what it says


class TestConvergenceHints(ServerTestCase):
    """Each 422 hint must be true: what it suggests does converge."""

    def test_a_maze_without_a_goal_at_gamma_1(self):
        for plan in ("value", "policy"):
            body = {"plan": plan, "gamma": 1, "grid": [[0, 0], [0, 0]]}
            error = self.assert_error(self.post(body), 422)
            assert "can never reach a Treasure or Danger" in error and "0.99" in error
            # What the hint says works: γ = 0.99, or a goal reachable from every cell.
            assert self.post({**body, "gamma": 0.99}).code == 200
            assert self.post({**body, "grid": [[0, 1], [0, 0]]}).code == 200

    def test_a_walled_off_region_at_gamma_1(self):
        grid = [[0, 0, 9, 0], [0, 0, 9, 1], [0, 0, 9, 0]]  # the left half cannot get out
        error = self.assert_error(self.post({"plan": "value", "gamma": 1, "grid": grid}), 422)
        assert "can never reach" in error

    def test_policy_iteration_at_gamma_1_on_a_large_maze(self):
        grid = [[0] * 19 + [1]] + [[0] * 20 for _ in range(19)]  # a goal every cell can reach
        body = {"plan": "policy", "gamma": 1, "grid": grid}
        error = self.assert_error(self.post(body), 422)
        assert "random" in error and "Value Iteration" in error
        assert "can never reach" not in error
        assert self.post({**body, "plan": "value"}).code == 200
        assert self.post({**body, "gamma": 0.99}).code == 200

    def test_gamma_close_to_1(self):
        body = {"plan": "value", "gamma": 0.999, "grid": [[0] * 20 for _ in range(20)]}
        error = self.assert_error(self.post(body), 422)
        assert "close to 1" in error
        assert self.post({**body, "gamma": 0.99}).code == 200

    def test_each_hint_has_a_code_for_the_page(self):
        """The page words the hint in Japanese from its code and the γ that is safe."""
        cases = {
            "gamma_close_to_1": {"plan": "value", "gamma": 0.999, "grid": [[0] * 20] * 20},
            "never_ends": {"plan": "value", "gamma": 1, "grid": [[0, 0], [0, 0]]},
            "positive_reward": {"plan": "value", "gamma": 1, "grid": [[0, 1], [0, 0]],
                                "rewards": [[0.5, 1], [-0.04, -0.04]]},
            "random_policy": {"plan": "policy", "gamma": 1,
                              "grid": [[0] * 19 + [1]] + [[0] * 20 for _ in range(19)]},
        }
        for code, body in cases.items():
            with self.subTest(code):
                response = self.post(body)
                self.assert_error(response, 422)
                hint = json.loads(response.body)["hint"]
                assert hint == {"code": code, "safe_gamma": 0.99}

    def test_cells_that_can_end(self):
        request = PlanRequest(plan="value", grid=[[0, 9, 0], [0, 9, 1]], prob=0.8, gamma=1)
        mdp = Environment(request.grid, move_prob=request.prob).mdp
        reach = maze_advice.cells_that_can_end(mdp).reshape(2, 3).tolist()
        assert reach == [[False, False, True], [False, False, True]]


def test_the_startup_message_warns_when_other_machines_can_connect():
    quiet = run_server.startup_message("127.0.0.1", 8888, ["127.0.0.1"])
    assert "http://127.0.0.1:8888/" in quiet and "Warning" not in quiet
    assert "Warning" not in run_server.startup_message("localhost", 8888, ["127.0.0.1", "::1"])
    for host, addresses in (("0.0.0.0", ["0.0.0.0"]), ("", ["0.0.0.0", "::"]),
                            ("192.168.1.5", ["192.168.1.5"])):
        message = run_server.startup_message(host, 8888, addresses)
        assert "Warning" in message and "reachable from other machines" in message
        first_line = message.splitlines()[0]
        opened = "http://192.168.1.5:8888/" if host == "192.168.1.5" else "http://127.0.0.1:8888/"
        assert opened in first_line
    assert "[::1]" in run_server.startup_message("::", 8888, ["::"]).splitlines()[0]


@pytest.mark.parametrize("host", ["0.0.0.0", ""])
def test_start_server_on_every_interface_answers_on_127_0_0_1(host):
    async def check():
        app, server, message = run_server.start_server(host, 0)
        try:
            url = message.split("open ", 1)[1].split()[0]
            assert url.startswith("http://127.0.0.1:") and "other machines" in message
            assert app.host == host
            loop = asyncio.get_running_loop()

            def fetch():
                with urllib.request.urlopen(url, timeout=10) as page:
                    return page.status

            assert await loop.run_in_executor(None, fetch) == 200
        finally:
            server.stop()
            app.close()

    asyncio.run(check())
