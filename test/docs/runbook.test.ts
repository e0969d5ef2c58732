/**
 * docs/runbook.md covers every alarm the stack creates, and nothing else; and every CLI command
 * the docs and the README tell an operator to run exists, with options it accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../cli/commands';
import { GLOBAL_OPTIONS } from '../../cli/main';
import { buildStack } from '../lib/stack-helpers';

const ROOT = join(__dirname, '..', '..');
const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
const sections = [...runbook.matchAll(/^## (\S+)$/gm)].map((match) => match[1]);

describe('docs/runbook.md', () => {
  it('has one section per alarm in the synthesized template, named as CloudFormation names them', () => {
    const { template } = buildStack({}, 'EcwidEvents-runbook');
    // Logical ids are `<construct path><Id><8 hex>`: `MonitoringDeadLetterQueueNotEmptyBC52F70B`,
    // `PollerAuthFailedAlarmB97AF05D`. The relay's own alarms are named without `Monitoring`.
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) =>
      id.replace(/[0-9A-F]{8}$/, '').replace(/^Monitoring/, ''),
    );
    expect(alarms.length).toBeGreaterThanOrEqual(8);
    const alarmSections = sections.filter((section) => /^[A-Z][A-Za-z]+$/.test(section));
    expect(alarmSections.sort()).toEqual([...alarms].sort());
    // The overview table lists them too.
    for (const alarm of alarms) expect(runbook).toContain(`| [\`${alarm}\`](#${alarm.toLowerCase()}) |`);
  });
});

describe('CLI commands in the docs', () => {
  const files = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];
  const invocations = files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/npx ecwid-events ([^`\n|]+)/g)].map((match) => ({ file, text: match[1].trim() })),
  );
  const byName = [...COMMANDS].sort((a, b) => b.name.length - a.name.length);

  it('finds them', () => {
    expect(invocations.length).toBeGreaterThan(20);
  });

  it.each(invocations.map((invocation) => [`${invocation.file.slice(ROOT.length + 1)}: ${invocation.text}`, invocation.text]))(
    '%s',
    (_label, text) => {
      if (/^(--help|<command>)/.test(text)) return;
      const command = byName.find((spec) => text === spec.name || text.startsWith(`${spec.name} `));
      expect({ text, command: command?.name }).toEqual({ text, command: expect.any(String) });
      const known = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(command!.options ?? {})]);
      for (const option of text.matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)) {
        expect({ text, option: option[1], known: known.has(option[1]) }).toEqual({ text, option: option[1], known: true });
      }
    },
  );
});
