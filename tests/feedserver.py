"""A feed server on 127.0.0.1 for tests of polling partners' feeds: each address answers what a test
told it to, and every request is kept so a test can see what the poller sent."""

import gzip
import http.server
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before the headers
    drip: float = 0.0  # seconds between bytes of the body (a server that never finishes)
    gzip: bool = False


class FeedServer:
    def __init__(self, folder: Path | None = None):
        self.replies: dict[str, Reply | list[Reply]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.folder = folder  # files served as they are, with Last-Modified (http.server's own rules)
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(server.folder or "."), **kwargs)

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                reply = server.replies.get(self.path)
                if isinstance(reply, list):
                    reply = reply.pop(0) if len(reply) > 1 else reply[0]
                if reply is None:
                    if server.folder is not None:
                        return super().do_GET()
                    reply = Reply(404, b"not here")
                self.answer(reply)

            def answer(self, reply: Reply):
                time.sleep(reply.delay)
                body = gzip.compress(reply.body) if reply.gzip else reply.body
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(body)), **reply.headers}
                if reply.gzip:
                    headers["Content-Encoding"] = "gzip"
                for name, value in headers.items():
                    if value is not None:
                        self.send_header(name, value)
                self.end_headers()
                try:
                    if reply.drip:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the poller gave up, as it should have

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FeedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def sent(self, path: str) -> list[dict]:
        """The headers of every request for `path`, in order."""
        return [headers for p, headers in self.requests if p == path]
