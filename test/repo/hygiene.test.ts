/**
 * The checkout itself: what `npm ci` installs runs on the Node versions package.json promises
 * (so `npm ci` prints no EBADENGINE warning), and files holding local secrets are git-ignored.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};

type Version = [number, number, number];

const parse = (text: string): Version => {
  const [major = 0, minor = 0, patch = 0] = text.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
};
const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` satisfies an npm engines range (the forms the lock file uses: >=, >, <, <=, ^, ~, x, ||). */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .filter((comparator) => comparator !== '' && comparator !== '*' && comparator !== 'x')
      .every((comparator) => {
        const [, operator = '', rest] = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(comparator)!;
        const parts = rest.split('.').filter((part) => part !== '' && part !== 'x' && part !== '*');
        const bound = parse(rest);
        switch (operator) {
          case '>=':
            return compare(v, bound) >= 0;
          case '>':
            return compare(v, bound) > 0;
          case '<=':
            return compare(v, bound) <= 0;
          case '<':
            return compare(v, bound) < 0;
          case '^':
            return compare(v, bound) >= 0 && v[0] === bound[0];
          case '~':
            return compare(v, bound) >= 0 && v[0] === bound[0] && v[1] === bound[1];
          default:
            // `20`, `20.12`, `=20.12.0`: the given parts must match.
            return parts.every((part, i) => v[i] === Number(part));
        }
      }),
  );
}

describe('Node versions', () => {
  const minimum = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];

  it('package.json says which Node it needs, as >= a full version', () => {
    expect(minimum).toBeDefined();
  });

  it('the range check reads the lock file’s forms', () => {
    expect(satisfies('20.12.0', '^20.12||^22.13||>=24.0')).toBe(true);
    expect(satisfies('20.11.9', '^20.12||^22.13||>=24.0')).toBe(false);
    expect(satisfies('20.12.0', '>=22')).toBe(false);
    expect(satisfies('20.12.0', '18 || 20 || >=22')).toBe(true);
    expect(satisfies('20.12.0', '>=16 || 14 >=14.18')).toBe(true);
    expect(satisfies('20.12.0', '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
  });

  it.each(['minimum', 'current'])('every locked package runs on the %s Node version', (which) => {
    const version = which === 'minimum' ? minimum! : process.versions.node;
    const refusing = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.engines && !Array.isArray(entry.engines) && entry.engines.node)
      .filter(([, entry]) => !satisfies(version, (entry.engines as { node: string }).node))
      .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')} needs node ${(entry.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});

describe('local files with secrets are not committed by accident', () => {
  const ignored = (path: string): boolean => {
    try {
      execFileSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: ROOT });
      return true;
    } catch {
      return false;
    }
  };

  it.each([
    '.local-state/runner.json',
    '.local-state/poller/checkpoints/shop-a.json',
    // Instances `--local` writes for the runner: the SSM format, secrets in plain text.
    'local/instances/shop-a.json',
  ])('%s is git-ignored', (path) => {
    expect(ignored(path)).toBe(true);
  });

  it.each(['local/instances/demo.json', 'local/instances/demo-ion.json'])('the demo instance %s is still tracked', (path) => {
    expect(ignored(path)).toBe(false);
  });
});
