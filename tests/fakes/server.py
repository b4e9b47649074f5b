"""A local HTTP server that plays one external API for tests.

Each fake listens on 127.0.0.1 on a free port, in a thread of the test
process. Its ``answer(request)`` function returns the service's normal reply;
``fail`` scripts error replies (429 with Retry-After, 5xx) for the next
requests or for all of them. Every request is kept in ``requests``.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, status, data, headers=None):
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, status, text, content_type="text/plain", headers=None):
        return cls(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


class FakeService:
    """One fake API: ``answer`` builds normal replies and ``error_reply(status)`` its error format."""

    def __init__(self, name, answer, error_reply):
        self.name = name
        self.answer = answer
        self.error_reply = error_reply
        self.requests = []
        self._failures = []
        self._fail_forever = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{name}", daemon=True)

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status, *, times=1, headers=None):
        """Reply to the next ``times`` requests (all of them when None) with ``status`` in the service's error format."""
        reply = self.error_reply(status)
        reply.headers.update(headers or {})
        with self._lock:
            if times is None:
                self._fail_forever = reply
            else:
                self._failures.extend([reply] * times)

    def reset(self):
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self._fail_forever = None

    def handle(self, request):
        with self._lock:
            self.requests.append(request)
            if self._fail_forever is not None:
                return self._fail_forever
            if self._failures:
                return self._failures.pop(0)
        return self.answer(request)


def _handler_for(service):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query={key: values[0] for key, values in parse_qs(parts.query).items()},
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = service.handle(request)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format, *args):
            pass

    return Handler
