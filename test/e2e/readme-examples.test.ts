/**
 * The README's first steps, run as written: the quick start's curl post and the "Try it" curl
 * posts, against `npm start` with its demo instances. Each is its own event, so each must come
 * out as its own callback (a repeated event would be answered 200 and then silently dropped by
 * the queue's deduplication, leaving a reader waiting for a callback that never comes).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, killLeftovers, ROOT, startRunner, type RunnerProcess } from './support/runner-process';

jest.setTimeout(60_000);

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The curl commands of the first code block after `heading`, continuation lines joined. */
function curlCommands(heading: string): string[] {
  const section = readme.slice(readme.indexOf(heading));
  const block = /```(?:bash|sh)\n([\s\S]*?)\n```/.exec(section.slice(section.lastIndexOf('```', section.indexOf('curl'))))?.[1] ?? '';
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => /^(?:T=\$\(date \+%s\); )?curl /.test(line));
}

let runner: RunnerProcess;

beforeAll(async () => {
  runner = await startRunner(['--poll-interval', '0']);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
});

test('the quick start and "Try it" posts are distinct events, each delivered once', async () => {
  const commands = [...curlCommands('## Quick start'), ...curlCommands('### Try it')];
  expect(commands).toHaveLength(3);

  const eventIds: string[] = [];
  for (const command of commands) {
    expect(command).toContain('http://127.0.0.1:3000/');
    const { stdout } = await run('sh', ['-c', command.replace('http://127.0.0.1:3000/', `${runner.origin}/`)], { cwd: ROOT });
    const answer = JSON.parse(stdout.slice(stdout.indexOf('{')));
    expect(answer).toMatchObject({ queued: 1 });
    eventIds.push(answer.eventId);
  }
  expect(new Set(eventIds).size).toBe(3);

  const deliveries = () => runner.stdout().match(/POST \/demo(-ion)? /g) ?? [];
  await eventually(() => deliveries().length >= 3, () => `deliveries seen: ${deliveries().length}\n${runner.stdout()}`);
  for (const eventId of eventIds) expect(runner.stdout()).toContain(eventId);
});
