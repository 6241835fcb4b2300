"""Day2 and Day3 in one server: the Day2 simulator with Day3's live page mounted.

``LearningApplication`` is ``DP.application.Application`` (``/``, ``/plan``) plus the page
``/learn`` and its WebSocket ``/learn/socket`` (``DP/learning_socket.py``), where an ``EL/``
learner learns the page's maze live. ``python DP/run_server.py`` serves this one. The Day2
modules import nothing of Day3; this module is where the two meet.
"""

from DP.application import Application
from DP.learning_socket import LearningSessions, learning_handlers


class LearningApplication(Application):
    """The simulator with Day3's routes; ``close()`` also closes every open learning socket."""

    def __init__(self, **settings):
        self.learning_sessions = LearningSessions()
        super().__init__(handlers=learning_handlers(self.learning_sessions), **settings)

    def close(self):
        self.learning_sessions.close()
        super().close()
