"""A TCP relay between custody and a real service, which a test can cut: the service becomes
unreachable from custody exactly as when its host, its network or the service itself is down
(connections reset, new ones refused), without stopping the service for the other tests.

``cut()`` closes every open connection and stops listening; ``restore()`` listens again on
the same port; ``cut_after(n)`` cuts once ``n`` more bytes went towards the service, for a
fault in the middle of a transfer.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

_BLOCK = 64 * 1024
_RESET = struct.pack("ii", 1, 0)  # linger on, 0 s: close() sends a reset


class Relay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._budget: int | None = None  # bytes towards the service before a cut
        self.forwarded = 0  # bytes towards the service, all told
        self.cuts = 0
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        """Listen (again) and relay every new connection."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener, self._budget = listener, None
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Reset every relayed connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_now, self._open = set(self._open), set()
            self.cuts += 1
        if listener is not None:
            listener.close()
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                sock.close()

    def cut_after(self, count: int) -> None:
        """Cut once ``count`` more bytes have gone towards the service."""
        with self._lock:
            self._budget = count

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, towards: bool) -> None:
        try:
            while block := source.recv(_BLOCK):
                if towards and self._spend(len(block)):
                    self.cut()
                    return
                sink.sendall(block)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _spend(self, count: int) -> bool:
        """Count bytes towards the service; True when the budget ran out (time to cut)."""
        with self._lock:
            self.forwarded += count
            if self._budget is None:
                return False
            self._budget -= count
            return self._budget <= 0


@contextlib.contextmanager
def relaying(host: str, port: int) -> Iterator[Relay]:
    relay = Relay(host, port)
    relay.restore()
    try:
        yield relay
    finally:
        relay.cut()
