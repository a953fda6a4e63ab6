"""A threaded HTTP server on 127.0.0.1 in a daemon thread: what every emulator runs on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

Self = TypeVar("Self", bound="LoopbackServer")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a fan-out of 32 clients must queue, not be reset

    def __init__(self, owner: Any, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.emulator = owner
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Injected resets make the socket layer complain; that is the point, so stay quiet."""


class LoopbackHandler(BaseHTTPRequestHandler):
    """Every method to ``_serve``; silent, since tests read the recorded requests instead of a log."""

    server: Any  # _Server, whose ``emulator`` is the LoopbackServer that owns it

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raise NotImplementedError


class LoopbackServer:
    """Start with start() or as a context manager; ``endpoint`` is where clients reach it."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = _Server(self, port, handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self: Self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self: Self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
