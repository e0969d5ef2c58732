'use strict';
// The e2e group's yardstick (bench/e2e.ts): the least any relay must do for a webhook, in one plain
// Node process: receive the POST, parse its JSON once, POST it on to the callback (keep-alive, as
// the runner's sender), answer 200 once the callback took it (502 if not). No verification, no
// queue, no ledger, no signing. Plain CommonJS so that no TypeScript loader adds to it.
//   node bench/bare-forwarder.cjs <callback URL>
const http = require('node:http');

const target = new URL(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function forward(body) {
  return new Promise((resolve) => {
    const request = http.request(
      target,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 200));
        response.on('error', () => resolve(false));
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error('callback timed out')));
    request.on('error', () => resolve(false));
    request.end(body);
  });
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    let event;
    try {
      event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      response.writeHead(400).end('not JSON');
      return;
    }
    void forward(JSON.stringify({ message: event })).then((ok) => response.writeHead(ok ? 200 : 502).end(ok ? 'ok' : 'callback failed'));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare forwarder ready: POST to http://127.0.0.1:${server.address().port}/\n`);
});
process.on('SIGTERM', () => {
  server.close();
  agent.destroy();
  process.stdout.write('Stopped bare forwarder\n');
  process.exit(0);
});
