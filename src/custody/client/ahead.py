"""Work ahead in a thread of its own, so the network, the disk and the CPU work at once.

``hashlib`` and ``cryptography`` release the GIL on large buffers, and sockets and files
release it while they wait, so a second thread doing one part of a transfer (reading a
download and hashing it; reading a file, encrypting and hashing it) overlaps the other
part (decrypting and writing; uploading) on another core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


@contextmanager
def ahead(items: Iterator[T], depth: int, name: str) -> Iterator[Iterator[T]]:
    """``items``, produced by a thread of their own at most ``depth`` ahead of the consumer.

    An exception in the producer is raised in the consumer, at the item it would have
    produced. Leaving the block (done, failed or interrupted) stops the producer at its next
    item and waits for it, so nothing it uses (a response, an open file) is closed under it.
    """
    pending: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                pending.put(value, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(exc)

    def consume() -> Iterator[T]:
        while (value := pending.get()) is not _DONE:
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()


class Later(Generic[T]):
    """``work()``, started now in a thread of its own; :meth:`result` waits for it.

    For work that releases the GIL (scrypt, hashing, waiting on the network) while the caller
    goes on with something else. An exception in ``work`` is raised by :meth:`result`.
    Nobody need ask: a result never asked for is dropped with the (daemon) thread.
    """

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._work = work
        self._value: list[T] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value.append(self._work())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks, raised there
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value[0]
