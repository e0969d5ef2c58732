import type { EventQueue } from '../core/ports';

/** Stands in for a queue whose URL variable is not set: every enqueue fails (ingest answers 503) and names it. */
export function unconfiguredQueue(variable: string): EventQueue {
  return { enqueue: () => Promise.reject(new Error(`environment variable ${variable} is not set`)) };
}
