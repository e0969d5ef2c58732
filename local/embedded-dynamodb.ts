import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import dynalite from 'dynalite';
import { closeServer, listenOnLoopback, LOOPBACK } from './servers';

/**
 * The local runner's ledger engine: dynalite (a DynamoDB-compatible server on LevelDB), in this
 * process (on this thread or its own, see `thread`), on 127.0.0.1, so the ledger's DynamoDB adapter runs locally exactly as in AWS. With a
 * folder its data survive a restart (the runner keeps it beside its state file); without, it is
 * in memory. It has no TTL and no transactions, which the adapter does not rely on.
 */
export interface DynamoDbEndpoint {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface EmbeddedDynamoDbOptions {
  /** LevelDB folder; in memory when absent. */
  readonly folder?: string;
  /**
   * Run the engine on its own thread (worker_threads) instead of this one. The runner does: the
   * engine's request handling and LevelDB work were about a quarter of its CPU under load, and on
   * its own thread they run beside the handlers instead of between them. Same engine, same
   * HTTP endpoint, same data folder. @default false
   */
  readonly thread?: boolean;
}

const THREAD_SCRIPT = join(__dirname, 'embedded-dynamodb-thread.cjs');

export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<DynamoDbEndpoint> {
  if (options.folder) mkdirSync(options.folder, { recursive: true });
  if (options.thread) return startOnThread(options.folder);
  const server = dynalite({ path: options.folder, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenOnLoopback(server);
  // closeServer ends the HTTP side; dynalite's own close (wrapped by it) also closes LevelDB.
  return { endpoint: `http://${LOOPBACK}:${port}`, stop: () => closeServer(server) };
}

type ThreadMessage = { port?: number; stopped?: boolean; error?: string };

async function startOnThread(folder: string | undefined): Promise<DynamoDbEndpoint> {
  const worker = new Worker(THREAD_SCRIPT, { workerData: { folder } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (error: unknown) => {
      void worker.terminate();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`the ledger engine's thread exited with ${code} before it listened`)));
    worker.once('message', (message: ThreadMessage) => {
      worker.removeAllListeners('error');
      worker.removeAllListeners('exit');
      if (message.port) resolve(message.port);
      else fail(new Error(message.error ?? 'the ledger engine did not start'));
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const stopped = new Promise<ThreadMessage>((resolve) => {
        worker.on('message', (message: ThreadMessage) => message.stopped && resolve(message));
        void exited.then(() => resolve({ stopped: true }));
      });
      worker.postMessage('stop');
      const answer = await stopped;
      // The engine closed LevelDB (or said why not); the thread has nothing left to do.
      await worker.terminate();
      if (answer.error) throw new Error(`the ledger engine did not close cleanly: ${answer.error}`);
    })());
  return { endpoint: `http://${LOOPBACK}:${port}`, stop };
}
