#!/usr/bin/env python3
"""A callback receiver for ecwid-events: Python 3.8+, standard library only.

It verifies both signature schemes of docs/callback-contract.md, answers fast, and processes
each delivery id once.

    WEBHOOK_SECRET=whsec_...          the instance's event.notification.webhook.secret (Standard Webhooks)
    ELEMENTS_SIGNATURE_KEY=...        the instance's event.notification.signature.key (Elements-Webhook-Signature)
    PORT=8080 HOST=127.0.0.1          where to listen (PORT=0: any free port)

    python3 receiver.py

Set one key or both; every scheme whose key is set must verify. Each request is reported as one
JSON line on stdout: {"result": "accepted"|"duplicate"|"rejected", ...}. Put it behind HTTPS
(a load balancer or reverse proxy): the relay only calls https:// URLs.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET", "")
ELEMENTS_SIGNATURE_KEY = os.environ.get("ELEMENTS_SIGNATURE_KEY", "")
TOLERANCE_SECONDS = 5 * 60  # Standard Webhooks: reject timestamps further from now than this
MAX_BODY_BYTES = 1024 * 1024


def verify_elements_signature(key, body, header):
    """Scheme 1 (Open Connectors): "sha256=" + base64(HMAC-SHA256(key, body)). None when valid."""
    if not header:
        return "missing Elements-Webhook-Signature"
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode("ascii")
    if hmac.compare_digest(header.strip().encode("utf-8"), expected.encode("ascii")):
        return None
    return "Elements-Webhook-Signature does not match"


def verify_standard_webhook(secret, body, webhook_id, timestamp, header, now_seconds):
    """Scheme 2 (Standard Webhooks): one "v1,<base64>" entry of the header must equal
    base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")). None when valid."""
    if not webhook_id or not timestamp or not header:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not timestamp.isdigit():
        return "webhook-timestamp is not a number"
    if abs(now_seconds - int(timestamp)) > TOLERANCE_SECONDS:
        return "webhook-timestamp is too old or too new"
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = ("%s.%s." % (webhook_id, timestamp)).encode("utf-8") + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in header.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and signature and hmac.compare_digest(signature.encode("utf-8"), expected):
            return None
    return "webhook-signature does not match"


# Delivery ids already processed. In production keep them in your database (with the work they
# triggered, in one transaction), for longer than the relay retries (about 40 hours).
processed = set()
processed_lock = threading.Lock()


def report(fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the relay's sender expects

    def answer(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return self.answer(413, {"error": "too large"})
        body = self.rfile.read(length)  # the exact bytes: verify before parsing
        headers = self.headers  # case-insensitive lookup
        problems = []
        if ELEMENTS_SIGNATURE_KEY:
            problem = verify_elements_signature(ELEMENTS_SIGNATURE_KEY, body, headers.get("Elements-Webhook-Signature"))
            if problem:
                problems.append(problem)
        if WEBHOOK_SECRET:
            problem = verify_standard_webhook(
                WEBHOOK_SECRET,
                body,
                headers.get("webhook-id"),
                headers.get("webhook-timestamp"),
                headers.get("webhook-signature"),
                int(time.time()),
            )
            if problem:
                problems.append(problem)
        if problems:
            report({"result": "rejected", "reasons": problems})
            return self.answer(401, {"error": "signature verification failed"})

        try:
            callback = json.loads(body.decode("utf-8"))
        except ValueError:
            report({"result": "rejected", "reasons": ["body is not JSON"]})
            return self.answer(400, {"error": "body is not JSON"})
        delivery_id = headers.get("webhook-id") or headers.get("Elements-Webhook-Id") or callback.get("id")
        with processed_lock:
            duplicate = delivery_id in processed
            processed.add(delivery_id)
        if duplicate:
            report({"result": "duplicate", "id": delivery_id})
            return self.answer(200, {"duplicate": True})  # 2xx: the relay must not retry it
        event = callback["message"]["events"][0]
        report({
            "result": "accepted",
            "id": delivery_id,
            "instanceId": callback["message"]["instanceId"],
            "objectType": event["objectType"],
            "objectId": event["objectId"],
            "eventType": event["eventType"],
        })
        # Do the real work after answering (or queue it): the relay waits at most 10 seconds.
        self.answer(200, {"received": delivery_id})

    def do_GET(self):
        self.answer(405, {"error": "POST only"})

    def log_message(self, format, *args):
        pass  # one JSON line per request on stdout is the log


def main():
    if not WEBHOOK_SECRET and not ELEMENTS_SIGNATURE_KEY:
        sys.stderr.write("set WEBHOOK_SECRET and/or ELEMENTS_SIGNATURE_KEY: without a key no request can be verified\n")
        sys.exit(2)
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8080"))), Receiver)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    sys.stderr.write("receiver listening on http://%s:%d/\n" % (host, port))
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
