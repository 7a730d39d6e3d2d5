#!/usr/bin/env python3
"""Chat latency against a running Docent whose first provider is this script's own model stand-in.

Usage: bench-chat.py serve-model PORT            # an OpenAI-compatible streaming endpoint that answers at once
       bench-chat.py first-token BASE_URL [N]    # N distinct questions, one at a time

serve-model answers every /v1/chat/completions request immediately with a short streamed answer (six
chunks), so the time a client waits for its first `delta` is Docent's own overhead: retrieval, prompt
building, the gateway and one loopback round trip to the model. first-token asks N questions that are
all different (so none comes from the response cache) and prints p50/p95 of the time to the first
`delta` event and to the end of the answer.
"""
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


if __name__ == "__main__":
    if sys.argv[1] == "serve-model":
        serve_model(int(sys.argv[2]))
    elif sys.argv[1] == "first-token":
        first_token(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200)
    else:
        sys.exit(__doc__)
