#!/usr/bin/env python3
"""Chat latency against a running Docent whose first provider is this script's own model stand-in.

Usage: bench-chat.py serve-model PORT            # an OpenAI-compatible streaming endpoint that answers at once
       bench-chat.py first-token BASE_URL [N]    # N distinct questions, one at a time
       bench-chat.py load BASE_URL PER_MINUTE USERS SECONDS [QUESTION]
       bench-chat.py mix BASE_URL PER_MINUTE USERS SECONDS SITE_URL

serve-model answers every /v1/chat/completions request immediately with a short streamed answer (six
chunks), so the time a client waits for its first `delta` is Docent's own overhead: retrieval, prompt
building, the gateway and one loopback round trip to the model. first-token asks N questions that are
all different (so none comes from the response cache) and prints p50/p95 of the time to the first
`delta` event and to the end of the answer.

load is an open-loop load: PER_MINUTE requests a minute, evenly spaced, each sent by whichever of USERS
simulated users is free (a user waits for its answer before its next question). Latency is measured
from the moment a request was due, so a slow server cannot hide queueing. Prints p50/p95/p99, the
achieved rate and the errors (non-200, timeouts of 30 s, or a stream without its `done` event).
"""
import asyncio
import http.client, http.server, json, socketserver, statistics, sys, time, urllib.parse

ANSWER = ["Harbor ", "runs ", "inside ", "WSL2 ", "on Windows ", "[1]."]


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        def event(payload):
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        for piece in ANSWER:
            event({"object": "chat.completion.chunk", "model": body.get("model"), "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        event({"choices": [], "usage": {"prompt_tokens": 300, "completion_tokens": 12}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def serve_model(port):
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
    Server(("127.0.0.1", port), Model).serve_forever()


def ask(base, question):
    url = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", "/api/chat", json.dumps({"message": question}), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200, (response.status, response.read())
    first = None
    buffer = b""
    mode = None
    while True:
        line = response.readline()
        if not line:
            break
        if line.startswith(b"event: delta") and first is None:
            first = time.perf_counter() - started
        if line.startswith(b"data: ") and b'"mode"' in line:
            mode = json.loads(line[6:])["mode"]
    total = time.perf_counter() - started
    connection.close()
    return first, total, mode


def first_token(base, n):
    topics = ["Windows", "macOS", "Linux", "WSL2", "arm64", "x86_64", "timeouts", "retries", "alerts", "history"]
    firsts, totals, modes = [], [], {}
    for i in range(n):
        question = f"Does Harbor run on {topics[i % len(topics)]} (question {i})?"
        first, total, mode = ask(base, question)
        modes[mode] = modes.get(mode, 0) + 1
        if first is not None:
            firsts.append(first * 1000)
        totals.append(total * 1000)
    firsts.sort(); totals.sort()
    pct = lambda xs, p: xs[max(0, int(p * len(xs)) - 1)]
    print(f"{n} questions, modes {modes}")
    print(f"first delta: p50 {statistics.median(firsts):.1f} ms, p95 {pct(firsts, 0.95):.1f} ms; "
          f"whole answer: p50 {statistics.median(totals):.1f} ms, p95 {pct(totals, 0.95):.1f} ms")


async def one_request(host, port, body):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    try:
        head = (f"POST /api/chat HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        writer.write(head + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), 30)
        return data.startswith(b"HTTP/1.1 200") and b"event: done" in data
    finally:
        writer.close()


async def load(base, per_minute, users, seconds, question):
    url = urllib.parse.urlparse(base)
    body = json.dumps({"message": question}).encode()
    interval = 60.0 / per_minute
    total = int(seconds / interval)
    queue = asyncio.Queue()
    latencies, errors = [], 0
    start = time.perf_counter()

    async def user():
        nonlocal errors
        while True:
            due = await queue.get()
            if due is None:
                return
            await asyncio.sleep(max(0, due - time.perf_counter()))
            try:
                ok = await one_request(url.hostname, url.port, body)
            except (OSError, asyncio.TimeoutError):
                ok = False
            if ok:
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                errors += 1

    for i in range(total):
        queue.put_nowait(start + i * interval)
    for _ in range(users):
        queue.put_nowait(None)
    await asyncio.gather(*(user() for _ in range(users)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    pct = lambda p: latencies[max(0, int(p * len(latencies)) - 1)] if latencies else float("nan")
    print(f"{total} requests due at {per_minute}/min from {users} users over {seconds} s: "
          f"p50 {pct(0.50):.0f} ms, p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms; "
          f"{len(latencies) / elapsed * 60:.0f} answers/min; errors {errors} ({100 * errors / max(total, 1):.1f} %)")


async def send(host, port, method, path, body=None, headers=()):
    """One request on its own connection; returns (status, body)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    try:
        data = body or b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        writer.write(head.encode() + data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), 30)
        status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
        return status, raw.split(b"\r\n\r\n", 1)[-1]
    finally:
        writer.close()


async def mix(base, per_minute, users, seconds, site):
    """The seeds' scenario: searches, cached and uncached questions, and crawls, from USERS users."""
    import random
    url = urllib.parse.urlparse(base)
    queries = [json.loads(line)["q"] for line in open("tests/eval/postgres-queries.jsonl")]
    cached_questions = ["Does Harbor run on Windows?", "How do I install Harbor?", "What does Harbor keep in its data directory?"]
    admin = [("Authorization", "Bearer docent-dev-admin-key"), ("Content-Type", "application/json")]
    json_headers = [("Content-Type", "application/json")]
    for question in cached_questions:  # fill the answer cache
        await send(url.hostname, url.port, "POST", "/api/chat", json.dumps({"message": question}).encode(), json_headers)
    kinds = [("search", 0.50), ("cached chat", 0.30), ("uncached chat", 0.15), ("crawl", 0.05)]
    rng = random.Random(7)
    counter = 0

    async def run(kind):
        nonlocal counter
        counter += 1
        if kind == "search":
            q = urllib.parse.quote(rng.choice(queries))
            status, body = await send(url.hostname, url.port, "GET", f"/api/search?q={q}")
            return status == 200
        if kind == "crawl":
            body = json.dumps({"url": f"{site}/index.html", "max_pages": 10}).encode()
            status, _ = await send(url.hostname, url.port, "POST", "/api/crawls", body, admin)
            return status == 202
        question = rng.choice(cached_questions) if kind == "cached chat" else f"How does Harbor handle job number {counter} on Windows?"
        status, body = await send(url.hostname, url.port, "POST", "/api/chat", json.dumps({"message": question}).encode(), json_headers)
        return status == 200 and b"event: done" in body

    interval = 60.0 / per_minute
    total = int(seconds / interval)
    plan = [(start_time, rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]) for start_time in range(total)]
    queue = asyncio.Queue()
    results = {k: [] for k, _ in kinds}
    errors = {k: 0 for k, _ in kinds}
    start = time.perf_counter()

    async def user():
        while True:
            item = await queue.get()
            if item is None:
                return
            due, kind = item
            await asyncio.sleep(max(0, due - time.perf_counter()))
            try:
                ok = await run(kind)
            except (OSError, asyncio.TimeoutError, ValueError):
                ok = False
            if ok:
                results[kind].append((time.perf_counter() - due) * 1000)
            else:
                errors[kind] += 1

    for i, (_, kind) in enumerate(plan):
        queue.put_nowait((start + i * interval, kind))
    for _ in range(users):
        queue.put_nowait(None)
    await asyncio.gather(*(user() for _ in range(users)))
    elapsed = time.perf_counter() - start

    def pct(xs, p):
        return xs[max(0, int(p * len(xs)) - 1)] if xs else float("nan")

    print(f"{total} requests due at {per_minute}/min from {users} users over {seconds} s ({elapsed:.0f} s to finish)")
    print()
    print("| kind | requests | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    everything = []
    for kind, _ in kinds:
        xs = sorted(results[kind])
        everything += xs
        n = len(xs) + errors[kind]
        print(f"| {kind} | {n} | {pct(xs, .5):.0f} | {pct(xs, .95):.0f} | {pct(xs, .99):.0f} | {errors[kind]} ({100 * errors[kind] / max(n, 1):.1f} %) |")
    everything.sort()
    failed = sum(errors.values())
    print(f"| all | {total} | {pct(everything, .5):.0f} | {pct(everything, .95):.0f} | {pct(everything, .99):.0f} | {failed} ({100 * failed / max(total, 1):.1f} %) |")
    print()
    print(f"throughput: {len(everything) / elapsed * 60:.0f} successful requests/min")


if __name__ == "__main__":
    if sys.argv[1] == "serve-model":
        serve_model(int(sys.argv[2]))
    elif sys.argv[1] == "load":
        question = sys.argv[6] if len(sys.argv) > 6 else "Does Harbor run on Windows?"
        asyncio.run(load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), question))
    elif sys.argv[1] == "mix":
        asyncio.run(mix(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]))
    elif sys.argv[1] == "first-token":
        first_token(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200)
    else:
        sys.exit(__doc__)
