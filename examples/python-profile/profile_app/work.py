"""The app's work: three categories of traffic against the two local servers, running
concurrently, each under its own tag. qtag.install() (called by the app) tags every socket
as it connects with the tag of the thread or asyncio task connecting, so the handshake is
billed to the category too."""

import asyncio
import http.client
import threading
import urllib.request
from collections import namedtuple

import qtag

from .servers import image_size

Category = namedtuple("Category", "name tag")
API = Category("api", 0x1001)              # small JSON calls on keep-alive connections
IMAGES = Category("images", 0x1002)        # a few large downloads
TELEMETRY = Category("telemetry", 0x1003)  # event batches POSTed to the sink
CATEGORIES = (API, IMAGES, TELEMETRY)

API_TASKS = 4           # asyncio tasks
API_CONNECTIONS = 3     # per task
API_CALLS = 20          # per connection
IMAGE_THREADS = 2
IMAGES_PER_THREAD = 3
TELEMETRY_THREADS = 2
UPLOADS_PER_THREAD = 12
EVENTS_PER_UPLOAD = 200


async def _get(reader, writer, path, close):
    """One keep-alive HTTP/1.1 GET by hand; returns the body."""
    extra = "Connection: close\r\n" if close else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"User-Agent: qtag-python-profile\r\n{extra}\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if not status.startswith(b"HTTP/1.1 2"):
        raise OSError(f"GET {path}: {status.decode().strip() or 'connection closed'}")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length)


@qtag.tagged(API.tag)  # the task's sockets are the api category's
async def _api_task(addr, task):
    for c in range(API_CONNECTIONS):
        reader, writer = await asyncio.open_connection(*addr)
        try:
            for i in range(API_CALLS):
                await _get(reader, writer, f"/api/items/{task * 1000 + c * 100 + i}",
                           close=i + 1 == API_CALLS)
        finally:
            writer.close()
            await writer.wait_closed()


async def _api(addr):
    await asyncio.gather(*(_api_task(addr, t) for t in range(API_TASKS)))


def _images(addr, worker):
    for i in range(IMAGES_PER_THREAD):
        n = worker * IMAGES_PER_THREAD + i
        conn = http.client.HTTPConnection(*addr)
        try:
            conn.request("GET", f"/images/{n}.jpg", headers={"Connection": "close"})
            img = conn.getresponse().read()
        finally:
            conn.close()
        if len(img) != image_size(n):
            raise OSError(f"image {n}: got {len(img)} bytes")


def _telemetry(addr, worker):
    url = f"http://{addr[0]}:{addr[1]}/v1/events"
    for u in range(UPLOADS_PER_THREAD):
        batch = "".join(
            f'{{"worker":{worker},"upload":{u},"event":{e},"kind":"screen_view",'
            f'"duration_ms":{e * 37 % 1000},"session":"5f2b8c1e-{worker:04}-{u:04}"}}\n'
            for e in range(EVENTS_PER_UPLOAD)).encode()
        req = urllib.request.Request(url, data=batch, method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req) as r:
            r.read()


def run(content, sink):
    """Run every category at once: api as asyncio tasks on one thread (each task under
    the api tag), images and telemetry on threads of their own (each thread under its
    category's tag). Raises the first error any of them hit."""
    errors = []

    def thread(tag, fn, *args):
        def body():
            try:
                with qtag.tagged(tag):
                    fn(*args)
            except Exception as e:  # reported by run() once everything stopped
                errors.append(e)
        return threading.Thread(target=body)

    threads = [thread(None, lambda: asyncio.run(_api(content)))]
    threads += [thread(IMAGES.tag, _images, content, w) for w in range(IMAGE_THREADS)]
    threads += [thread(TELEMETRY.tag, _telemetry, sink, w) for w in range(TELEMETRY_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
