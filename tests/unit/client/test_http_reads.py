"""The client reads responses in large pieces (issue 12): httpcore still has the knob, and a
download through a real socket arrives in pieces larger than httpcore's 64 KiB default. A
server that stops reading is told apart from one that cannot be reached."""

from __future__ import annotations

import socket
import threading

import httpcore
import httpx
import pytest

from custody.client import http
from custody.errors import ServerUnavailable

MIB = 1024 * 1024


def test_httpcore_still_reads_as_much_as_custody_asks() -> None:
    assert httpcore.HTTP11Connection.READ_NUM_BYTES == http.READ_BYTES == MIB


def test_a_download_arrives_in_large_pieces() -> None:
    body = bytes(range(256)) * (8 * MIB // 256)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            while b"\r\n\r\n" not in conn.recv(65536):
                pass
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with http.Api(f"http://127.0.0.1:{port}") as api, api.stream("GET", "/x") as response:
        pieces = [len(piece) for piece in response.iter_bytes()]
    thread.join(timeout=10)
    server.close()
    assert sum(pieces) == len(body)
    assert max(pieces) > 64 * 1024


def test_a_server_that_stops_reading_a_body_is_a_stall_not_an_unreachable_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that makes no progress for the timeout (a server too busy to read this
    connection) says the server stopped answering and that the command resumes; it is not
    reported as an address nobody answers at."""
    monkeypatch.setattr(http, "TIMEOUT", httpx.Timeout(1.0))
    server = socket.create_server(("127.0.0.1", 0))
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    body = bytes(64 * MIB)  # far more than the socket buffers hold: the write blocks
    with http.Api(f"http://127.0.0.1:{port}") as api, pytest.raises(
        ServerUnavailable, match="stopped answering for 1 s"
    ) as refused:
        api.request("PATCH", "/api/v1/uploads/x", content=body)
    assert "resumes where it stopped" in str(refused.value.hint)
    for conn in accepted:
        conn.close()
    server.close()
