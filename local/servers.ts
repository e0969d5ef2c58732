import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The runner's HTTP servers listen on loopback only: nothing here is meant for the network. */
export const LOOPBACK = '127.0.0.1';

/** Listens on 127.0.0.1 (`port` 0 = any free port) and resolves with the port. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting connections and resolves once the requests in progress are answered; idle
 * keep-alive connections are closed at once, anything still open after `graceMs` is cut.
 */
export function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
