import { mkdirSync } from 'node:fs';
import dynalite from 'dynalite';
import { closeServer, listenOnLoopback, LOOPBACK } from './servers';

/**
 * The local runner's ledger engine: dynalite (a DynamoDB-compatible server on LevelDB), in this
 * process, on 127.0.0.1, so the ledger's DynamoDB adapter runs locally exactly as in AWS. With a
 * folder its data survive a restart (the runner keeps it beside its state file); without, it is
 * in memory. It has no TTL and no transactions, which the adapter does not rely on.
 */
export interface DynamoDbEndpoint {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startEmbeddedDynamoDb(options: { folder?: string } = {}): Promise<DynamoDbEndpoint> {
  if (options.folder) mkdirSync(options.folder, { recursive: true });
  const server = dynalite({ path: options.folder, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenOnLoopback(server);
  // closeServer ends the HTTP side; dynalite's own close (wrapped by it) also closes LevelDB.
  return { endpoint: `http://${LOOPBACK}:${port}`, stop: () => closeServer(server) };
}
