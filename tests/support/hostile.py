"""A hostile server for tests: a proxy in front of a real ``custody serve`` that rewrites answers.

It plays whoever sits between a client and the real server (a TLS terminator, a load
balancer, the operator's own code): it sees every request and may change any answer.
Rules are ``(method, path regex, rewrite)``; a rewrite gets the real answer and returns
the one the client will see. With the log's signing key (read from the server's data
folder, as an operator would) it can also sign trees of its own: :class:`ForgedLog`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.note import Signer

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def with_json(self, value: Any, status: int | None = None) -> Answer:
        """This answer with another JSON body (and status: the forger's, not the server's)."""
        body = json.dumps(value).encode()
        return Answer(self.status if status is None else status, self.headers, body)


Rewrite = Callable[[str, Answer], Answer]  # (request path with query, real answer) -> answer


@dataclass
class HostileProxy:
    upstream: str
    rules: list[tuple[str, re.Pattern[str], Rewrite]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of every request

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                proxy.seen.append(f"{self.command} {self.path}")
                real = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body,
                    timeout=120,
                )
                answer = Answer(
                    real.status_code,
                    {k: v for k, v in real.headers.items() if k.lower() not in _HOP},
                    real.content,
                )
                for method, pattern, rewrite in list(proxy.rules):
                    if method == self.command and pattern.fullmatch(self.path.split("?")[0]):
                        answer = rewrite(self.path, answer)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = do_OPTIONS = _forward  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def on(self, method: str, pattern: str, rewrite: Rewrite) -> None:
        self.rules.append((method, re.compile(pattern), rewrite))

    def honest(self) -> None:
        self.rules.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ForgedLog:
    """A tree of the log's entries as the attacker chooses them, signed with ``signer``."""

    def __init__(self, signer: Signer, entries: list[bytes]) -> None:
        self.signer = signer
        self.entries = list(entries)
        self.tree = merkle.MemoryTree()
        for body in self.entries:
            self.tree.append(body)

    def append(self, body: bytes) -> int:
        self.entries.append(body)
        return self.tree.append(body)

    def checkpoint(self, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        tree = Checkpoint(self.signer.name, size, self.tree.root(size))
        return sign_checkpoint(tree, self.signer)

    def proven(self, index: int) -> dict[str, Any]:
        """What ``GET /api/v1/ledger/entries/{index}`` answers, in this tree."""
        size = self.tree.size
        proof = merkle.inclusion_proof(self.tree, index, size)
        return {
            "index": index,
            "entry": b64(self.entries[index]),
            "proof": [b64(h) for h in proof],
            "checkpoint": self.checkpoint(size).decode(),
        }

    def consistency(self, old: int, new: int) -> dict[str, Any]:
        proof = merkle.consistency_proof(self.tree, old, new)
        return {"old": old, "new": new, "proof": [b64(h) for h in proof]}


def log_signer(data_dir: Path) -> Signer:
    """The log's signing key, as the server's operator (or an intruder on it) can read it."""
    return Signer.from_skey((data_dir / "secrets" / "log-signing.key").read_text().strip())
