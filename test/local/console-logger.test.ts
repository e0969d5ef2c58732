import { createConsoleLogger, formatEntry } from '../../local/console-logger';
import { stopMessage } from '../../local/main';

const AT = new Date('2024-05-06T16:28:06.123Z');

test('one line: time, level, service, message, attributes', () => {
  expect(formatEntry(AT, 'INFO', 'deliver', 'delivered', [{ eventId: 'e1', httpStatus: 200, note: 'two words' }])).toBe(
    '16:28:06.123 INFO  deliver delivered  eventId=e1 httpStatus=200 note="two words"',
  );
});

test('object input, nested values as JSON, errors and stacks on their own lines', () => {
  const error = new Error('boom');
  error.stack = 'Error: boom\n    at here';
  const text = formatEntry(AT, 'ERROR', 'ingest', { message: 'failed', ids: ['a'] }, [error]);
  expect(text).toBe('16:28:06.123 ERROR ingest  failed  ids=["a"]\n    Error: boom\n        at here');
});

test('the level threshold drops lower entries; warnings and errors still print', () => {
  const lines: string[] = [];
  const logger = createConsoleLogger({ service: 'deliver', level: 'WARN', write: (line) => lines.push(line), now: () => AT });
  logger.info('quiet');
  logger.warn('retry scheduled', { delaySeconds: 1 });
  logger.error('dead-lettered');
  expect(lines).toEqual([
    '16:28:06.123 WARN  deliver retry scheduled  delaySeconds=1',
    '16:28:06.123 ERROR deliver dead-lettered',
  ]);
});

test('the stop message says what was left, and where it went', () => {
  expect(stopMessage({ queued: 0, deadLettered: 0 }, true)).toBe('Stopped: 0 events still queued, 0 events in the dead-letter queue.');
  expect(stopMessage({ queued: 1, deadLettered: 2 }, true)).toBe(
    'Stopped: 1 event still queued, 2 events in the dead-letter queue (the embedded queue was in memory: they are gone).',
  );
  expect(stopMessage({ queued: 3, deadLettered: 0 }, false)).toBe(
    'Stopped: 3 events still queued, 0 events in the dead-letter queue (kept by the SQS endpoint).',
  );
});
