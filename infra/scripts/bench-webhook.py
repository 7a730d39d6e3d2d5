#!/usr/bin/env python3
"""Latency of signed webhook deliveries (Standard Webhooks) against a running Docent.

Usage: bench-webhook.py BASE_URL SOURCE SECRET PAGE_URL [N]
Sends N deliveries one after another, each with a fresh webhook-id, asking to recrawl PAGE_URL, and
prints p50/p95/max of the time to the 202 answer. Needs DOCENT_WEBHOOK_SECRET_<SOURCE>=SECRET on the server.
"""
import base64, hashlib, hmac, json, statistics, sys, time, urllib.request

base, source, secret, page = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 200
key = base64.b64decode(secret.removeprefix("whsec_"))
body = json.dumps({"urls": [page]}).encode()
times = []
for i in range(n):
    msg_id, ts = f"bench-{time.time_ns()}-{i}", str(int(time.time()))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    req = urllib.request.Request(f"{base}/hooks/{source}", data=body, method="POST", headers={
        "Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"})
    start = time.perf_counter()
    with urllib.request.urlopen(req) as response:
        assert response.status == 202, response.status
        response.read()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"{n} deliveries: p50 {statistics.median(times):.1f} ms, p95 {times[int(0.95 * n) - 1]:.1f} ms, max {times[-1]:.1f} ms")
