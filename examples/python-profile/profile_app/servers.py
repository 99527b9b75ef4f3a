"""The app's two local servers on 127.0.0.1 (stdlib http.server, HTTP/1.1 keep-alive): a
content server (a JSON API and "images") and a telemetry sink. Their sockets are not
tagged: their traffic is billed to the uid only (the untagged remainder)."""

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def image_size(n):
    """Image n is 512 KiB + (n mod 6) x 256 KiB of noise (incompressible, like JPEG)."""
    return (512 + 256 * (n % 6)) * 1024


NOISE = random.Random(7).randbytes(image_size(5))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


class _Content(_Handler):
    def do_GET(self):
        path = self.path
        if path.startswith("/api/items/"):
            i = path[len("/api/items/"):]
            item = (f'{{"id":{i},"name":"item {i}","price":{len(i) * 7}.99,"tags":["new","sale"],'
                    f'"stock":{len(i) * 13},"updated":"2026-01-01T00:00:00Z"}}')
            return self.answer(200, item.encode())
        if path.startswith("/images/") and path.endswith(".jpg"):
            n = int(path[len("/images/"):-len(".jpg")])
            return self.answer(200, NOISE[:image_size(n)], "image/jpeg")
        self.answer(404, b'{"error":"not found"}')


class _Telemetry(_Handler):
    def do_POST(self):
        if self.path != "/v1/events":
            return self.answer(404, b'{"error":"not found"}')
        events = self.body().count(b"\n")
        self.answer(202, f'{{"accepted":{events}}}'.encode())


class Server:
    """One of the servers, in its own thread; stop() returns once every connection it
    accepted is closed, so that no packet is still on its way when the stats are read."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = False  # server_close() joins the connection threads
        self.addr = self.httpd.server_address
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def start_content():
    return Server(_Content)


def start_telemetry():
    return Server(_Telemetry)
