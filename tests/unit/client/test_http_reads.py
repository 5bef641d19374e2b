"""The client reads responses in large pieces (issue 12): httpcore still has the knob, and a
download through a real socket arrives in pieces larger than httpcore's 64 KiB default."""

from __future__ import annotations

import socket
import threading

import httpcore

from custody.client import http

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
