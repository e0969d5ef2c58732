import { sendHttpRequest, USER_AGENT } from '../../../functions/adapters/http/request';
import { rawServer, startServer, type TestServer } from '../../../testkit/servers';


describe('sendHttpRequest', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('returns status, headers and, when asked, the body; keeps the connection for the next request', async () => {
    server.reply = () => ({ status: 201, body: { hello: 'wörld' }, headers: { 'x-answer': '42' } });
    const url = new URL(`${server.origin}/thing?q=1`);
    const read = await sendHttpRequest({ method: 'GET', url, headers: { 'User-Agent': USER_AGENT }, timeoutMs: 1000, readBody: true });
    expect(read).toMatchObject({ kind: 'answered', status: 201, headers: { 'x-answer': '42' } });
    expect(read.kind === 'answered' && JSON.parse(read.body.toString('utf8'))).toEqual({ hello: 'wörld' });

    // Without readBody the body is drained unread, and the socket still goes back to the pool.
    const drained = await sendHttpRequest({ method: 'POST', url, headers: {}, body: Buffer.from('x'), timeoutMs: 1000 });
    expect(drained).toMatchObject({ kind: 'answered', status: 201 });
    expect(drained.kind === 'answered' && drained.body.length).toBe(0);

    expect(server.requests.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
      ['GET', '/thing?q=1', ''],
      ['POST', '/thing?q=1', 'x'],
    ]);
    expect(server.connections()).toBe(1);
  });

  it('one deadline covers the body: headers sent, body never finished -> timeout', async () => {
    const slow = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
    });
    try {
      const started = Date.now();
      const outcome = await sendHttpRequest({ method: 'GET', url: new URL(`${slow.origin}/`), headers: {}, timeoutMs: 150, readBody: true });
      expect(outcome).toEqual({ kind: 'timeout' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await slow.close();
    }
  });

  it('a body cut short by the server is a failure, not an answer', async () => {
    const cutting = await rawServer((req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":', () => req.socket.destroy());
    });
    try {
      const outcome = await sendHttpRequest({ method: 'GET', url: new URL(`${cutting.origin}/`), headers: {}, timeoutMs: 1000, readBody: true });
      expect(outcome).toMatchObject({ kind: 'failed', error: expect.objectContaining({ code: 'ECONNRESET' }) });
    } finally {
      await cutting.close();
    }
  });

  it('does not retry a reset on a fresh connection (only a reused keep-alive socket is retried)', async () => {
    let requests = 0;
    const resetting = await rawServer((req) => {
      requests++;
      req.socket.destroy();
    });
    try {
      const outcome = await sendHttpRequest({ method: 'GET', url: new URL(`${resetting.origin}/`), headers: {}, timeoutMs: 1000 });
      expect(outcome).toMatchObject({ kind: 'failed', error: expect.objectContaining({ code: 'ECONNRESET' }) });
      expect(requests).toBe(1);
    } finally {
      await resetting.close();
    }
  });

  it('turns what Node throws at once (unsupported protocol, bad header value) into a failure', async () => {
    const ftp = await sendHttpRequest({ method: 'GET', url: new URL('ftp://127.0.0.1/'), headers: {}, timeoutMs: 1000 });
    expect(ftp).toMatchObject({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_INVALID_PROTOCOL' }) });

    const badHeader = await sendHttpRequest({ method: 'GET', url: new URL(`${server.origin}/`), headers: { Authorization: 'Bearer a\nb' }, timeoutMs: 1000 });
    expect(badHeader).toMatchObject({ kind: 'failed', error: expect.objectContaining({ code: 'ERR_INVALID_CHAR' }) });
    // The refused value is not part of what is reported.
    expect(badHeader.kind === 'failed' && badHeader.error.message).not.toContain('Bearer a');
    expect(server.requests).toHaveLength(0);
  });
});
