"""Day2/Day3: the simulator's HTTP hardening, shared by the Day2 and Day3 pages.

The book's server answered anyone, with Tornado's defaults. Here every answer carries
security headers, errors are JSON (never a traceback), and debug mode stays off. It answers
only requests addressed to a loopback name or address, or to the ``--host`` it was started
with (``host_is_allowed``: a page elsewhere that rebinds its DNS name to 127.0.0.1 gets
nothing), and it drops connections whose headers or body stall (``http_server_options``).
``LimitedBodyMixin`` receives a body piece by piece, so that one over the limit gets a 413
the client can read. ``SecureApplication`` puts all of it together; ``DP/application.py``
builds the simulator on it.
"""

import ipaddress
import json
import re
import socket

import tornado.web

# A 20 x 20 grid is about 2 KB of JSON, so 64 KiB leaves room for any formatting.
MAX_BODY_BYTES = 64 * 1024
BODY_TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES} bytes"
# A body larger than MAX_BODY_BYTES but at most this is still read to its end (and thrown away
# as it arrives) before the 413 is sent. A client usually sends its whole body before it reads
# the answer; if the server closed the connection with part of the body unread, the client's
# system would see a reset and the client might never read the 413. Above this limit the 413
# is sent at once and the connection closed: only a client that waits for "100 Continue"
# (curl does for large bodies) is then sure to read it.
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

    def answer_error(self, status, message, **more):
        """``{"error": message, ...more}`` with ``status``; ``more`` are fields for the page
        (a 422's ``hint``, for one)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": message, **more}))


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


def _content_length(headers):
    """The declared body length, or None (none declared, or not a number: Tornado refuses it)."""
    text = headers.get("Content-Length", "")
    return int(text) if text.isascii() and text.isdigit() else None


class LimitedBodyMixin:
    """A body received piece by piece (the handler is ``@tornado.web.stream_request_body``),
    kept up to ``MAX_BODY_BYTES`` in ``self.body``. A body over the limit is answered with a
    413 the client can read (see ``CONNECTION_BODY_LIMIT``) instead of Tornado's bare
    "400 Bad Request"; the handler checks ``body_too_large()`` before using the body."""

    def prepare(self):
        self.body = bytearray()
        self.received = 0
        # This handler enforces its own limits, below; Tornado's would cut in with a bare 400.
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

    def body_too_large(self):
        return self.received > MAX_BODY_BYTES


class SecureApplication(tornado.web.Application):
    """A ``tornado.web.Application`` with the hardening above: the host check before any
    routing, secure static files, JSON 404s, ``HTTP_SERVER_OPTIONS`` in ``listen()``, and
    debug mode, autoreload and tracebacks always off, whatever ``settings`` say.

    ``host`` is the address the server listens on (``--host``); ``None`` allows loopback
    names only (see ``host_is_allowed``).
    """

    def __init__(self, handlers, host=None, **settings):
        settings.update(
            static_handler_class=SecureStaticFileHandler,
            default_handler_class=NotFoundHandler,
            debug=False,
            autoreload=False,
            serve_traceback=False,
            compiled_template_cache=True,
            static_hash_cache=True,
        )
        super().__init__(handlers, **settings)
        self.host = host

    def find_handler(self, request, **kwargs):
        # Checked before any routing, so that no page, file or plan is served to a request
        # addressed to a name this server does not answer for (see host_is_allowed).
        if not host_is_allowed(request.host, self.host):
            return self.get_handler_delegate(request, WrongHostHandler)
        return super().find_handler(request, **kwargs)

    def listen(self, port, address=None, **kwargs):
        return super().listen(port, address, **{**HTTP_SERVER_OPTIONS, **kwargs})
