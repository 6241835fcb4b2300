"""Day2: start the DP maze simulator and open it in a browser.

    python DP/run_server.py            # then open http://127.0.0.1:8888/
    python DP/run_server.py --port 8000
    PORT=8000 python DP/run_server.py

Draw a maze, set the move probability and γ, and watch Value Iteration or Policy Iteration
solve it (``/``); Day3's page ``/learn`` is mounted too (``DP/learning_app.py``). It listens
on 127.0.0.1 (this computer only) unless ``--host`` says otherwise, never runs in debug
mode, and stops cleanly on Ctrl-C. ``--port 0`` picks a free port. The pages and their files
are found next to this file, so the server can be started from any folder.

``--host 0.0.0.0`` (or ``--host ""``) opens the simulator to every machine that can reach
this one, with a warning. Requests must still be addressed to localhost, to an IP address
of this machine or to its host name (``DP.http_safety.host_is_allowed``).
"""

import argparse
import asyncio
import ipaddress
import logging
import os
import socket
import sys

from common import exit_with_error, set_seed

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from DP.http_safety import HTTP_SERVER_OPTIONS, WILDCARD_HOSTS
from DP.learning_app import LearningApplication

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888


def default_port():
    """``$PORT`` when set (as many hosting tools do), else 8888."""
    text = os.environ.get("PORT", "").strip()
    if not text:
        return DEFAULT_PORT
    try:
        return int(text)
    except ValueError:
        exit_with_error(f"the PORT environment variable must be a port number, got {text!r}")


def url_for(host, port):
    """The address to open in a browser on this computer.

    A wildcard address is not one to open: every interface includes the loopback one, so
    127.0.0.1 (or ::1 for "::", which Tornado binds to IPv6 only) reaches the server.
    """
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def is_loopback(address):
    """True for 127.x.x.x and ::1, the addresses only this computer can connect to."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def startup_message(host, port, addresses):
    """What the server prints when it starts: the URL to open, and a warning when machines
    other than this one can connect (``addresses`` are those its sockets are bound to)."""
    lines = [f"DP maze simulator: open {url_for(host, port)} in your browser "
             "(Ctrl-C stops the server)"]
    if not all(is_loopback(address) for address in addresses):
        where = "every network interface" if host in WILDCARD_HOSTS else repr(host)
        lines += [
            f"Warning: listening on {where}, so the simulator is now reachable from other "
            f"machines: anyone who can connect to port {port} of this computer can use it.",
            f"  From another machine, open http://<this computer's IP address>:{port}/ ; "
            "without --host only this computer can connect.",
        ]
    return "\n".join(lines)


def start_server(host, port):
    """Bind the application to ``host:port``; return ``(application, server, message)``.

    ``message`` is what to print (see ``startup_message``). Must be called inside a running
    event loop. A busy port or an unknown host ends the program with one sentence (exit
    status 2).
    """
    try:
        sockets = bind_sockets(port, address=host)
    except socket.gaierror as error:
        exit_with_error(f"cannot listen on host {host!r}: {error.strerror or error}")
    except OSError as error:
        exit_with_error(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                        "is another server using it? Choose another with --port")
    application = LearningApplication(host=host)
    server = HTTPServer(application, **HTTP_SERVER_OPTIONS)
    server.add_sockets(sockets)
    addresses = [sock.getsockname()[0] for sock in sockets]
    return application, server, startup_message(host, sockets[0].getsockname()[1], addresses)


async def serve(host, port):
    application, server, message = start_server(host, port)
    print(message, flush=True)
    try:
        await asyncio.Event().wait()  # serve until interrupted
    finally:
        server.stop()
        application.close()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Serve the Day2 maze simulator: draw a maze in the browser and watch "
                    "Value Iteration or Policy Iteration solve it."
    )
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
                             "0.0.0.0 opens it to every machine that can reach this one)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port to listen on, 0 for any free one "
                             f"(default $PORT, else {DEFAULT_PORT})")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed (default 0; planning itself is deterministic)")
    args = parser.parse_args(argv)
    port = default_port() if args.port is None else args.port
    if not 0 <= port <= 65535:
        exit_with_error(f"the port must be between 0 and 65535, got {port}")
    set_seed(args.seed)
    # Tornado logs refused requests (4xx) as warnings and server errors as errors.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")
    try:
        asyncio.run(serve(args.host, port))
    except KeyboardInterrupt:
        print("Server stopped.")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
