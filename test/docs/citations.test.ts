/**
 * Comments and docs cite the protocol notes as `docs/<file>.md, "<Section>"`: each cited file must
 * exist and have a heading with that text, so a renamed section or a moved file fails here
 * instead of leaving a comment pointing nowhere. Relative links between the docs are checked too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['functions', 'lib', 'cli', 'local', 'bin', 'test', 'testkit', 'bench', 'docs'];
const SKIP = new Set(['node_modules', 'cdk.out', 'fixtures']);

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(ts|js|py|md)$/.test(name) ? [path] : [];
  });
}

const files = [join(ROOT, 'README.md'), ...SOURCE_DIRS.flatMap((dir) => filesUnder(join(ROOT, dir)))];

/** Markdown headings of a file, as plain text (`## The webhook signature` -> `The webhook signature`). */
function headingsOf(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#+ /, '').trim());
}

/** GitHub's anchor for a heading. */
const anchorOf = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('citations of the protocol notes', () => {
  it('no file cites the PROTOCOL.md that is not in the repository', () => {
    const citing = files.filter((path) => path !== __filename && readFileSync(path, 'utf8').includes('PROTOCOL.md'));
    expect(citing.map((path) => relative(ROOT, path))).toEqual([]);
  });

  const citations = files.flatMap((path) =>
    [...readFileSync(path, 'utf8').matchAll(/docs\/([\w./-]+\.md), "([^"]+)"/g)].map((match) => ({
      from: relative(ROOT, path),
      file: match[1],
      section: match[2],
    })),
  );

  it('finds the citations (the pattern still matches how the code cites)', () => {
    expect(citations.length).toBeGreaterThanOrEqual(10);
  });

  it.each(citations.map((c) => [`${c.from} -> docs/${c.file}, "${c.section}"`, c]))('%s', (_label, citation) => {
    const path = join(ROOT, 'docs', citation.file);
    expect(existsSync(path)).toBe(true);
    // A citation may name a heading or the start of one ("Inbound A" for "Inbound A: ION Cannon form posts").
    expect(headingsOf(path).some((heading) => heading.startsWith(citation.section))).toBe(true);
  });
});

describe('links in docs/ and the README', () => {
  const markdown = files.filter((path) => path.endsWith('.md'));
  const links = markdown.flatMap((path) =>
    [...readFileSync(path, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1])
      .filter((target) => !/^[a-z]+:/i.test(target))
      .map((target) => ({ from: path, target })),
  );

  it.each(links.map((l) => [`${relative(ROOT, l.from)} -> ${l.target}`, l]))('%s', (_label, link) => {
    const [file, anchor] = link.target.split('#');
    const path = file === '' ? link.from : resolve(dirname(link.from), file);
    expect(existsSync(path)).toBe(true);
    if (anchor) expect(headingsOf(path).map(anchorOf)).toContain(anchor);
  });
});
