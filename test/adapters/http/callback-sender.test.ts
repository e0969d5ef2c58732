import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HttpCallbackSender } from '../../../functions/adapters/http/callback-sender';
import { systemResolver } from '../../../functions/adapters/http/host-resolver';
import { RELAY_VERSION, USER_AGENT } from '../../../functions/adapters/http/request';
import { checkCallbackUrl } from '../../../functions/core/callback/ssrf';
import { CALLBACK_EXCERPT_BYTES, type HostResolver, type VettedTarget } from '../../../functions/core/ports';
import { startServer, type TestServer } from '../../../testkit/servers';

const body = Buffer.from(JSON.stringify({ id: 'shop-a:e1', message: { raw: { name: 'Café' } } }));
const headers = { 'Elements-Webhook-Id': 'shop-a:e1' };

/** The URL vetted the way deliver does it: http and the loopback server allowed for tests. */
async function vetted(url: string, resolve: HostResolver = systemResolver, allowHosts = ['127.0.0.1']): Promise<VettedTarget> {
  const check = await checkCallbackUrl(url, { allowHttp: true, allowHosts }, resolve);
  if (!check.ok) throw new Error(check.reason);
  return check;
}

describe('HttpCallbackSender', () => {
  let server: TestServer;
  const sender = new HttpCallbackSender({ timeoutMs: 2000 });

  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('POSTs the exact body bytes with our headers and reports any 2xx as success', async () => {
    server.reply = () => ({ status: 204 });
    const result = await sender.send({ target: await vetted(`${server.origin}/hook?x=1`), body, headers });

    expect(result).toEqual({ ok: true, status: 204 });
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hook?x=1');
    expect(request.body.equals(body)).toBe(true);
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(body.length),
      'user-agent': `ecwid-events/${RELAY_VERSION}`,
      'elements-webhook-id': 'shop-a:e1',
    });
  });

  it('keeps the User-Agent version equal to package.json', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(USER_AGENT).toBe(`ecwid-events/${pkg.version}`);
  });

  it.each([400, 404, 410, 500, 502])('reports HTTP %i as a failure with the status', async (status) => {
    server.reply = () => ({ status });
    const result = await sender.send({ target: await vetted(`${server.origin}/hook`), body, headers });
    expect(result).toEqual({ ok: false, errorClass: 'http', status, retryAfterSeconds: undefined, error: `callback ${server.origin} answered HTTP ${status}` });
  });

  it('keeps the start of the answer (at most CALLBACK_EXCERPT_BYTES) for the ledger, on success and failure', async () => {
    server.reply = () => ({ status: 500, body: `oops ${'x'.repeat(10_000)}` });
    const failed = await sender.send({ target: await vetted(`${server.origin}/hook`), body, headers });
    expect(failed).toMatchObject({ ok: false, errorClass: 'http', status: 500 });
    expect(failed.excerpt?.startsWith('oops x')).toBe(true);
    expect(Buffer.byteLength(failed.excerpt ?? '')).toBe(CALLBACK_EXCERPT_BYTES);
    server.reply = () => ({ status: 200, body: { received: true } });
    expect(await sender.send({ target: await vetted(`${server.origin}/hook`), body, headers })).toEqual({ ok: true, status: 200, excerpt: '{"received":true}' });
  });

  it('does not follow redirects: a 3xx is a failure and the Location is never requested', async () => {
    const target = await startServer();
    try {
      server.reply = () => ({ status: 307, headers: { location: `${target.origin}/elsewhere` } });
      const result = await sender.send({ target: await vetted(`${server.origin}/hook`), body, headers });
      expect(result).toMatchObject({ ok: false, status: 307, error: expect.stringContaining('redirects are not followed') });
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('passes Retry-After on 429 (seconds) and 503 (HTTP date), not on other statuses', async () => {
    server.reply = () => ({ status: 429, headers: { 'retry-after': '120' } });
    expect(await sender.send({ target: await vetted(`${server.origin}/`), body, headers })).toMatchObject({ status: 429, retryAfterSeconds: 120 });

    const fixed = new HttpCallbackSender({ timeoutMs: 2000, clock: () => new Date('2024-03-01T12:00:00Z') });
    server.reply = () => ({ status: 503, headers: { 'retry-after': 'Fri, 01 Mar 2024 12:05:00 GMT' } });
    expect(await fixed.send({ target: await vetted(`${server.origin}/`), body, headers })).toMatchObject({ status: 503, retryAfterSeconds: 300 });

    server.reply = () => ({ status: 500, headers: { 'retry-after': '120' } });
    expect(await sender.send({ target: await vetted(`${server.origin}/`), body, headers })).toMatchObject({ status: 500, retryAfterSeconds: undefined });
  });

  it('gives up after the timeout when the callback never answers', async () => {
    server.reply = () => ({ status: 200, hang: true });
    const quick = new HttpCallbackSender({ timeoutMs: 150 });
    const result = await quick.send({ target: await vetted(`${server.origin}/slow`), body, headers });
    expect(result).toEqual({ ok: false, errorClass: 'timeout', error: `callback ${server.origin} timed out` });
  });

  it('reports a refused connection without the path, query or credentials of the URL', async () => {
    const closed = await startServer();
    await closed.close();
    const result = await sender.send({
      target: await vetted(`http://user:pa55@127.0.0.1:${closed.port}/s3cret/path?token=t0ken`),
      body,
      headers,
    });
    expect(result).toEqual({ ok: false, errorClass: 'connection', error: `callback http://127.0.0.1:${closed.port} failed: ECONNREFUSED` });
  });

  it('sends URL credentials as Basic auth', async () => {
    await sender.send({ target: await vetted(`http://alice:s%40fe@127.0.0.1:${server.port}/`), body, headers });
    expect(server.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('alice:s@fe').toString('base64')}`);
  });

  it('reuses one keep-alive connection across requests and across sender instances (module-scope agent)', async () => {
    const target = await vetted(`${server.origin}/hook`);
    for (let i = 0; i < 4; i++) expect((await sender.send({ target, body, headers })).ok).toBe(true);
    const anotherInvocation = new HttpCallbackSender({ timeoutMs: 2000 });
    expect((await anotherInvocation.send({ target, body, headers })).ok).toBe(true);

    expect(server.requests).toHaveLength(5);
    expect(server.connections()).toBe(1);
  });

  it('connects to the vetted address, keeps the host name in Host, and never resolves again (no rebinding)', async () => {
    // A rebinding resolver: the first answer passes the check, any later one would point elsewhere.
    // `.test` names do not exist in DNS, so a second resolution by the system would fail outright.
    const answers = ['127.0.0.1', '10.9.9.9'];
    let calls = 0;
    const rebinding: HostResolver = async () => [{ address: answers[Math.min(calls++, 1)], family: 4 }];
    const target = await vetted(`http://callback.rebind.test:${server.port}/hook`, rebinding, ['callback.rebind.test']);

    const result = await sender.send({ target, body, headers });

    expect(result).toEqual({ ok: true, status: 200 });
    expect(calls).toBe(1);
    expect(server.requests[0].headers.host).toBe(`callback.rebind.test:${server.port}`);
  });

  it('refuses to connect when the target has no vetted address', async () => {
    const result = await sender.send({ target: { url: new URL(`${server.origin}/`), addresses: [] }, body, headers: {} });
    // 127.0.0.1 is an IP literal (no lookup), so use a name to reach the lookup.
    expect(result.ok).toBe(true);
    const named = await sender.send({ target: { url: new URL(`http://named.test:${server.port}/`), addresses: [] }, body, headers: {} });
    expect(named).toEqual({ ok: false, errorClass: 'connection', error: `callback http://named.test:${server.port} failed: ENOTFOUND` });
  });

  it('retries once on a fresh connection when a kept-alive socket turns out to be closed', async () => {
    // The server resets every connection on its second request, as a server does that closed
    // an idle keep-alive connection the client still had in its pool.
    const requestsPerSocket = new WeakMap<object, number>();
    const resetting = http.createServer((req, res) => {
      const seen = (requestsPerSocket.get(req.socket) ?? 0) + 1;
      requestsPerSocket.set(req.socket, seen);
      if (seen > 1) {
        req.socket.destroy();
        return;
      }
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    let connections = 0;
    resetting.on('connection', () => connections++);
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const port = (resetting.address() as { port: number }).port;
    try {
      const target = await vetted(`http://127.0.0.1:${port}/`);
      expect(await sender.send({ target, body, headers })).toEqual({ ok: true, status: 200, excerpt: 'ok' });
      expect(await sender.send({ target, body, headers })).toEqual({ ok: true, status: 200, excerpt: 'ok' });
      expect(connections).toBe(2);
    } finally {
      resetting.closeAllConnections();
      await new Promise((resolve) => resetting.close(resolve));
    }
  });
});
