"""Real loopback receivers for notifications: an aiosmtpd SMTP server and an HTTP webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        with self.lock:
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "data": envelope.content.decode("utf-8", "replace"),
                }
            )
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; `messages` lists what it accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self._sink = _Sink()
        self._controller = Controller(self._sink, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._sink.lock:
            return list(self._sink.messages)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that verifies X-Earshot-Signature; answers `fail_first` 500s first."""

    secret: str
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)

    def start(self) -> WebhookReceiver:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.secret.encode(), body, hashlib.sha256
                    ).hexdigest()
                )
                got = self.headers.get("X-Earshot-Signature", "")
                with lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            dict(self.headers.items()),
                            body,
                            hmac.compare_digest(expected, got),
                        )
                    )
                    failing = len(receiver.requests) <= receiver.fail_first
                if not hmac.compare_digest(expected, got):
                    self.send_response(401)
                elif failing:
                    self.send_response(500)
                else:
                    self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.requests if r.signature_ok]
