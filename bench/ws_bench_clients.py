"""WebSocket clients of bench/ws_load_bench.py, run in a process of their own.

Opens one socket per entry of ``--sockets``, a JSON list of objects with
``path`` and, for the product, ``cookie``. At most ``--concurrency``
handshakes are in flight at once. With ``--wait-first`` a socket counts as
connected once its first message (the product's snapshot) arrives. The
process then prints one JSON line ``{"ready": ...}`` on standard output and
records every message until it reads ``stop`` on standard input, or until
``--max-seconds`` pass.
``wait-broadcast N SECONDS`` on standard input prints a JSON line once every
socket received broadcast N, or after SECONDS.
On stop it closes the sockets and writes what it received to ``--out``.

Each record is ``[socket index, receive time, seq, job id, state, broadcast,
size]``. Times are ``time.monotonic()``, which on Linux is the same clock in
every process of the machine, so they compare with the publisher's.

Like dashboard.js, a socket that receives a sequence number with one skipped
counts a gap and requests a snapshot.
"""

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

SEQ = re.compile(r'id="stream-seq" data-seq="(\d+)"')
JOB = re.compile(r'(?:id="job-|data-job=")(\d+)" data-state="(\w+)"')
BROADCAST = re.compile(r'data-broadcast="(\d+)"')
SNAPSHOT_MARKERS = ('id="job-rows"',)
CONNECT_RETRIES = 3


class Socket:
    def __init__(self, index, spec):
        self.index = index
        self.spec = spec
        self.connection = None
        self.last_seq = None
        self.gaps = 0
        self.missing = 0
        self.snapshots = 0
        self.closed_early = None
        self.error = None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="ws://host:port of the server")
    parser.add_argument("--origin", required=True, help="Origin header sent with each handshake")
    parser.add_argument("--sockets", required=True, help="JSON file: a list of {path, cookie}")
    parser.add_argument("--out", required=True, help="JSON file the records are written to")
    parser.add_argument("--concurrency", type=int, default=20, help="handshakes in flight at once (default 20)")
    parser.add_argument("--wait-first", action="store_true", help="count a socket as connected after its first message")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop by itself after this many seconds")
    return parser.parse_args(argv)


def is_snapshot(message):
    return any(marker in message for marker in SNAPSHOT_MARKERS)


async def open_socket(socket, args, gate):
    headers = {"Cookie": socket.spec["cookie"]} if socket.spec.get("cookie") else None
    async with gate:
        for attempt in range(CONNECT_RETRIES):
            try:
                socket.connection = await connect(
                    args.base_url + socket.spec["path"],
                    origin=args.origin,
                    additional_headers=headers,
                    compression=None,
                    ping_interval=None,
                    max_size=None,
                    open_timeout=30,
                    close_timeout=5,
                )
                if args.wait_first:
                    first = await asyncio.wait_for(socket.connection.recv(), timeout=60)
                    socket.last_seq = last_seq_of(first)
                return True
            except (OSError, asyncio.TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                if attempt == CONNECT_RETRIES - 1:
                    socket.error = repr(exc)
                    return False
                await asyncio.sleep(0.5 * (attempt + 1))
    return False


def last_seq_of(message):
    match = SEQ.search(message)
    return int(match.group(1)) if match else None


async def read(socket, records, reached):
    connection = socket.connection
    try:
        async for message in connection:
            received = time.monotonic()
            if is_snapshot(message):
                socket.snapshots += 1
                socket.last_seq = last_seq_of(message)
                continue
            seq = last_seq_of(message)
            job = JOB.search(message)
            broadcast = BROADCAST.search(message)
            if broadcast:
                number = int(broadcast.group(1))
                reached[number] = reached.get(number, 0) + 1
            records.append(
                [
                    socket.index,
                    received,
                    seq,
                    int(job.group(1)) if job else None,
                    job.group(2) if job else None,
                    int(broadcast.group(1)) if broadcast else None,
                    len(message),
                ]
            )
            if seq is None:
                continue
            if socket.last_seq is not None and seq > socket.last_seq + 1:
                socket.gaps += 1
                socket.missing += seq - socket.last_seq - 1
                await connection.send(json.dumps({"action": "snapshot"}))
            if socket.last_seq is None or seq > socket.last_seq:
                socket.last_seq = seq
    except ConnectionClosed as exc:
        socket.closed_early = exc.rcvd.code if exc.rcvd else 1006


async def wait_for_broadcast(number, connected, reached, timeout):
    """Wait until ``connected`` sockets received broadcast ``number``, or ``timeout`` seconds pass."""
    started = time.monotonic()
    while reached.get(number, 0) < connected and time.monotonic() - started < timeout:
        await asyncio.sleep(0.05)
    print(json.dumps({"broadcast": number, "reached": reached.get(number, 0)}), flush=True)


async def serve_commands(deadline, connected, reached):
    """Read commands until ``stop``; ``wait-broadcast N SECONDS`` prints a line once N reached every socket."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=remaining)
        except asyncio.TimeoutError:
            return
        words = line.split()
        if not words or words[0] == b"stop":
            return
        if words[0] == b"wait-broadcast":
            await wait_for_broadcast(int(words[1]), connected, reached, min(float(words[2]), remaining))


async def main(args):
    started = time.monotonic()
    deadline = started + args.max_seconds
    with open(args.sockets) as file:
        specs = json.load(file)
    sockets = [Socket(index, spec) for index, spec in enumerate(specs)]
    gate = asyncio.Semaphore(args.concurrency)

    results = await asyncio.gather(*(open_socket(socket, args, gate) for socket in sockets))
    connect_seconds = time.monotonic() - started
    errors = Counter(socket.error for socket in sockets if socket.error)
    for error, count in errors.most_common(5):
        print(f"{count} sockets failed to connect: {error}", file=sys.stderr)
    records, reached = [], {}
    readers = [asyncio.ensure_future(read(socket, records, reached)) for socket in sockets if socket.connection]
    print(json.dumps({"ready": sum(results), "failed": len(results) - sum(results), "seconds": connect_seconds}), flush=True)

    await serve_commands(deadline, sum(results), reached)
    closed_early = [socket.index for socket in sockets if socket.closed_early is not None]
    await asyncio.gather(
        *(socket.connection.close() for socket in sockets if socket.connection), return_exceptions=True
    )
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    summary = {
        "connected": sum(results),
        "failed": len(results) - sum(results),
        "connect_seconds": connect_seconds,
        "closed_early": closed_early,
        "gaps": sum(socket.gaps for socket in sockets),
        "missing_by_socket": {socket.index: socket.missing for socket in sockets if socket.missing},
        "snapshots_after_connect": sum(socket.snapshots for socket in sockets),
        "records": records,
    }
    with open(args.out, "w") as file:
        json.dump(summary, file)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
