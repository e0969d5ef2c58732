#!/usr/bin/env node
/**
 * A callback receiver for ecwid-events: Node.js 18+, no dependencies (node:http, node:crypto).
 * It verifies both signature schemes of docs/callback-contract.md, answers fast, and processes
 * each delivery id once.
 *
 *   WEBHOOK_SECRET=whsec_...          the instance's event.notification.webhook.secret (Standard Webhooks)
 *   ELEMENTS_SIGNATURE_KEY=...        the instance's event.notification.signature.key (Elements-Webhook-Signature)
 *   PORT=8080 HOST=127.0.0.1          where to listen (PORT=0: any free port)
 *
 *   node receiver-node.js
 *
 * Set one key or both; every scheme whose key is set must verify. Each request is reported as one
 * JSON line on stdout: {"result":"accepted"|"duplicate"|"rejected", ...}. Put it behind HTTPS
 * (a load balancer or reverse proxy): the relay only calls https:// URLs.
 */
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

const WEBHOOK_SECRET = process.env.WEBHOOK_SECRET || '';
const ELEMENTS_SIGNATURE_KEY = process.env.ELEMENTS_SIGNATURE_KEY || '';
const TOLERANCE_SECONDS = 5 * 60; // Standard Webhooks: reject timestamps further from now than this
const MAX_BODY_BYTES = 1024 * 1024;

if (!WEBHOOK_SECRET && !ELEMENTS_SIGNATURE_KEY) {
  console.error('set WEBHOOK_SECRET and/or ELEMENTS_SIGNATURE_KEY: without a key no request can be verified');
  process.exit(2);
}

/** Equal strings, compared in constant time (a length difference returns early: lengths are not secret). */
function safeEqual(a, b) {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** Scheme 1 (Open Connectors): Elements-Webhook-Signature = "sha256=" + base64(HMAC-SHA256(key, body)). */
function verifyElementsSignature(key, body, header) {
  if (!header) return 'missing Elements-Webhook-Signature';
  const expected = 'sha256=' + crypto.createHmac('sha256', key).update(body).digest('base64');
  return safeEqual(header.trim(), expected) ? null : 'Elements-Webhook-Signature does not match';
}

/**
 * Scheme 2 (Standard Webhooks): webhook-signature holds "v1,<base64>" entries, space-separated;
 * one must equal base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")).
 */
function verifyStandardWebhook(secret, body, id, timestamp, header, nowSeconds) {
  if (!id || !timestamp || !header) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp is not a number';
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return 'webhook-timestamp is too old or too new';
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
  const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
  for (const entry of header.split(' ')) {
    const [version, signature] = entry.split(',', 2);
    if (version === 'v1' && signature && safeEqual(signature, expected)) return null;
  }
  return 'webhook-signature does not match';
}

// Delivery ids already processed. In production keep them in your database (with the work they
// triggered, in one transaction), for longer than the relay retries (about 40 hours).
const processed = new Set();

function report(fields) {
  process.stdout.write(JSON.stringify(fields) + '\n');
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks); // the exact bytes: verify before parsing
    const headers = req.headers; // Node lower-cases header names
    const problems = [];
    if (ELEMENTS_SIGNATURE_KEY) {
      const problem = verifyElementsSignature(ELEMENTS_SIGNATURE_KEY, body, headers['elements-webhook-signature']);
      if (problem) problems.push(problem);
    }
    if (WEBHOOK_SECRET) {
      const problem = verifyStandardWebhook(
        WEBHOOK_SECRET,
        body,
        headers['webhook-id'],
        headers['webhook-timestamp'],
        headers['webhook-signature'],
        Math.floor(Date.now() / 1000),
      );
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) {
      report({ result: 'rejected', reasons: problems });
      return answer(res, 401, { error: 'signature verification failed' });
    }

    let callback;
    try {
      callback = JSON.parse(body.toString('utf8'));
    } catch {
      report({ result: 'rejected', reasons: ['body is not JSON'] });
      return answer(res, 400, { error: 'body is not JSON' });
    }
    const id = headers['webhook-id'] || headers['elements-webhook-id'] || callback.id;
    if (processed.has(id)) {
      report({ result: 'duplicate', id });
      return answer(res, 200, { duplicate: true }); // 2xx: the relay must not retry it
    }
    processed.add(id);
    const event = callback.message.events[0];
    report({
      result: 'accepted',
      id,
      instanceId: callback.message.instanceId,
      objectType: event.objectType,
      objectId: event.objectId,
      eventType: event.eventType,
    });
    // Do the real work after answering (or queue it): the relay waits at most 10 seconds.
    answer(res, 200, { received: id });
  });
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.error(`receiver listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
