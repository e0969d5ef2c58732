/** How the CLI shows a ledger entry's attempts (`events show`, `dlq show`). */
import type { LedgerEntry } from '../functions/core/ledger';
import { formatDuration, renderTable, truncate } from './output';

/** Every attempt of an entry, as a table (`events show`, `dlq show`). */
export function renderAttempts(entry: LedgerEntry): string {
  return renderTable(
    [
      { header: '#', value: (a) => a.n, align: 'right' },
      { header: 'STARTED', value: (a) => a.at },
      { header: 'TOOK', value: (a) => (a.durationMs < 1000 ? `${a.durationMs}ms` : formatDuration(a.durationMs)) },
      { header: 'OUTCOME', value: (a) => a.outcome },
      { header: 'STATUS', value: (a) => a.httpStatus ?? a.errorClass },
      { header: 'ERROR / ANSWER', value: (a) => truncate(a.error ?? a.excerpt, 80) },
    ],
    entry.attempts,
  );
}

