'use strict';
// The embedded ledger engine's own thread (local/embedded-dynamodb.ts, `thread: true`): dynalite on
// 127.0.0.1, so that its request handling and LevelDB work run beside the runner's handlers, not
// between them. Plain CommonJS: it loads the same way under tsx, jest and node.
//   workerData: { folder?: string }   -> posts { port } once listening, or { error }
//   message 'stop'                      -> closes as closeServer does (requests in progress answered,
//                                          idle keep-alive connections closed, the rest cut after 5 s),
//                                          dynalite closes LevelDB, then posts { stopped: true }
const { parentPort, workerData } = require('node:worker_threads');
const dynalite = require('dynalite');

const GRACE_MS = 5_000;
const server = dynalite({ path: workerData.folder, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) => parentPort.postMessage({ error: String((error && error.message) || error) }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  const done = (error) => {
    parentPort.postMessage(error ? { stopped: true, error: String(error.message || error) } : { stopped: true });
    parentPort.close();
  };
  if (!server.listening) return done();
  const cut = setTimeout(() => server.closeAllConnections(), GRACE_MS);
  cut.unref();
  server.close((error) => {
    clearTimeout(cut);
    done(error);
  });
  server.closeIdleConnections();
});
