// The boundary lint (.dependency-cruiser.cjs) must pass on the repository and must fail, naming
// the rule, on each kind of wrong import. The wrong imports live in a throwaway tree at the repo
// root (so node_modules resolves as it does for the real code) that no other tool reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');
const depcruise = path.join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = path.join(repoRoot, '.dependency-cruiser.cjs');
const baseline = path.join(repoRoot, '.dependency-cruiser-known-violations.json');

function cruise(cwd: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [depcruise, '--config', config, '--output-type', 'err', ...args], {
    cwd,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The lint's folders, as `npm run lint:boundaries` passes them. */
function lintedFolders(): string[] {
  const script: string = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).scripts['lint:boundaries'];
  return script.split('--output-type err ')[1].trim().split(/\s+/);
}

describe('boundary lint', () => {
  it('passes on the repository (with the committed baseline) and npm test runs it', () => {
    const scripts = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).scripts;
    expect(scripts.test).toContain('lint:boundaries');

    const result = cruise(repoRoot, ['--ignore-known', baseline, ...lintedFolders()]);

    expect(result.output).toContain('no dependency violations found');
    expect(result.status).toBe(0);
  });

  describe('on a tree with deliberately wrong imports', () => {
    let probeRoot: string;
    let result: { status: number | null; output: string };

    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true } }),
      'functions/contract.ts': 'export const ROUTE = "/events/ecwid";\n',
      'functions/core/retry-policy.ts': 'export const limit = 1;\n',
      'functions/core/uses-https.ts': 'import { request } from "node:https";\nexport const r = request;\n',
      'functions/core/uses-dns.ts': 'import { lookup } from "dns/promises";\nexport const l = lookup;\n',
      'functions/core/uses-fs.ts': 'import { readFile } from "node:fs/promises";\nexport const f = readFile;\n',
      'functions/core/uses-sdk.ts': 'import { SQSClient } from "@aws-sdk/client-sqs";\nexport const c = SQSClient;\n',
      'functions/core/uses-powertools.ts': 'import { Logger } from "@aws-lambda-powertools/logger";\nexport const l = Logger;\n',
      'functions/core/uses-cdk.ts': 'import { Stack } from "aws-cdk-lib";\nexport const s = Stack;\n',
      'functions/core/uses-adapter-type.ts': 'import type { Sender } from "../adapters/http/sender";\nexport type S = Sender;\n',
      'functions/core/pure.ts': 'import { isIP } from "node:net";\nimport { createHash } from "node:crypto";\nexport const p = [isIP, createHash];\n',
      'functions/adapters/http/sender.ts': 'import { request } from "node:https";\nexport type Sender = typeof request;\n',
      'functions/ingest/uses-local.ts': 'import { x } from "../../local/thing";\nexport const y = x;\n',
      'functions/deliver/uses-testkit.ts': 'import { kit } from "../../testkit/kit";\nexport const k = kit;\n',
      'lib/uses-use-case.ts': 'import { p } from "../functions/core/pure";\nexport const q = p;\n',
      'lib/uses-contract.ts':
        'import { ROUTE } from "../functions/contract";\nimport { limit } from "../functions/core/retry-policy";\nexport const r = [ROUTE, limit];\n',
      'lib/uses-testkit.ts': 'import { kit } from "../testkit/kit";\nexport const k = kit;\n',
      'cli/uses-local.ts': 'import { x } from "../local/thing";\nexport const z = x;\n',
      'local/thing.ts': 'export const x = 1;\n',
      'testkit/kit.ts': 'export const kit = 1;\n',
      'bench/cycle-a.ts': 'import { b } from "./cycle-b";\nexport const a = () => b;\n',
      'bench/cycle-b.ts': 'import { a } from "./cycle-a";\nexport const b = () => a;\n',
    };

    beforeAll(() => {
      probeRoot = mkdtempSync(path.join(repoRoot, '.boundary-probe-'));
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(probeRoot, file)), { recursive: true });
        writeFileSync(path.join(probeRoot, file), text);
      }
      // The same command as npm test, baseline included: a known violation elsewhere hides none of these.
      result = cruise(probeRoot, ['--ignore-known', baseline, 'functions', 'lib', 'cli', 'local', 'testkit', 'bench']);
    });

    afterAll(() => rmSync(probeRoot, { recursive: true, force: true }));

    it('exits non-zero', () => {
      expect(result.status).not.toBe(0);
    });

    it.each([
      ['core-no-io', 'functions/core/uses-https.ts → https'],
      ['core-no-io', 'functions/core/uses-dns.ts → dns/promises'],
      ['core-no-io', 'functions/core/uses-fs.ts → fs/promises'],
      ['core-no-aws', 'functions/core/uses-sdk.ts → ../node_modules/@aws-sdk/client-sqs/'],
      ['core-no-aws', 'functions/core/uses-powertools.ts → ../node_modules/@aws-lambda-powertools/logger/'],
      ['core-no-aws', 'functions/core/uses-cdk.ts → ../node_modules/aws-cdk-lib/'],
      ['core-no-adapters', 'functions/core/uses-adapter-type.ts → functions/adapters/http/sender.ts'],
      ['runtime-not-outer', 'functions/ingest/uses-local.ts → local/thing.ts'],
      ['runtime-not-outer', 'functions/deliver/uses-testkit.ts → testkit/kit.ts'],
      ['runtime-not-outer', 'lib/uses-testkit.ts → testkit/kit.ts'],
      ['lib-only-contract', 'lib/uses-use-case.ts → functions/core/pure.ts'],
      ['cli-not-local', 'cli/uses-local.ts → local/thing.ts'],
      // A cycle is reported from one of its members, the rest on the lines below.
      ['no-circular', 'bench/cycle-'],
    ])('reports %s for %s', (rule, edge) => {
      const line = result.output.split('\n').find((text) => text.includes(`${rule}: ${edge}`));
      expect(line).toBeDefined();
    });

    it('allows what the layout allows: pure node helpers in the core, the contract and retry policy in lib/', () => {
      expect(result.output).not.toContain('functions/core/pure.ts →');
      expect(result.output).not.toContain('lib/uses-contract.ts →');
      expect(result.output).not.toContain('functions/adapters/http/sender.ts →');
    });
  });
});
