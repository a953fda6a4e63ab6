"""A TCP proxy on loopback that caps bytes per second: a link or a bucket as slow as a real network.

``per_connection`` caps each connection on its own (one download link each); otherwise every
connection shares the one cap (a bucket's bandwidth). Both directions count against it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

PIECE = 64 * 1024
BURST_S = 0.02  # how far a stream may run ahead of its schedule


class Limiter:
    """Hands out bytes on a schedule: ``take(n)`` returns once ``n`` more bytes are due at ``rate``."""

    def __init__(self, bytes_per_s: float) -> None:
        self._rate = bytes_per_s
        self._due = time.monotonic()
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._due = max(self._due, now - BURST_S) + size / self._rate
            wait = self._due - now
        if wait > 0:
            time.sleep(wait)


class ThrottledProxy:
    """Forwards 127.0.0.1:<port> to ``upstream`` (``http://127.0.0.1:N``), at most ``bytes_per_s``."""

    def __init__(self, upstream: str, bytes_per_s: float, *, per_connection: bool) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self._upstream = (host, int(port))
        self._rate = bytes_per_s
        self._shared = None if per_connection else Limiter(bytes_per_s)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="throttle", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> ThrottledProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stopped.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            limiter = self._shared or Limiter(self._rate)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink, limiter), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, limiter: Limiter) -> None:
    try:
        while piece := source.recv(PIECE):
            limiter.take(len(piece))
            sink.sendall(piece)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
