"""The simulator served on a free port for one test case, shared by the handler tests.

``PlanningServerCase`` starts ``DP.application.Application`` with the production server
options (timeouts, body limits), shuts its planning thread down after each test, and posts a
body to ``/plan``. Each test module adds the helpers it needs on top.
"""

import json

from tornado.testing import AsyncHTTPTestCase

from DP.application import Application
from DP.http_safety import HTTP_SERVER_OPTIONS

JSON_HEADERS = {"Content-Type": "application/json"}


class PlanningServerCase(AsyncHTTPTestCase):
    def get_app(self):
        return Application()

    def get_httpserver_options(self):
        return dict(HTTP_SERVER_OPTIONS)

    def tearDown(self):
        self._app.executor.shutdown(wait=True)
        super().tearDown()

    def post(self, body, headers=JSON_HEADERS, **kwargs):
        """POST ``body`` to /plan: bytes or text as they are, anything else as JSON.

        NaN and Infinity come out of ``json.dumps`` as bare words, which are not JSON: the
        server must answer those with a 400 too.
        """
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.fetch("/plan", method="POST", body=body, headers=headers, **kwargs)
