/**
 * `instances create|list|show|update|delete|enable|disable|rotate-secret|reindex`.
 * Every write is validated first (including the SSRF policy on the callback URL); every
 * output masks secrets, except the one new webhook secret `rotate-secret` hands out.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  assertInstanceId,
  CONFIG_KEYS,
  configOf,
  isSecretKey,
  redactCallbackUrl,
  splitSecrets,
  withConfig,
  type ConfigValue,
  type Instance,
  type InstanceDocument,
} from '../../functions/core/instance';
import { InstanceValidationError, validateInstanceDocument, type InstanceProblem } from '../../functions/core/instance-validation';
import type { HealthStore, ReceiverHealth } from '../../functions/core/health';
import type { HostResolver } from '../../functions/core/ports';
import { optionBoolean, optionList, optionString, type CommandContext, type CommandSpec, type OptionSpec } from '../command';
import { instanceIngestUrl } from '../environment';
import { CliError, EXIT, UsageError } from '../errors';
import { maskDocument, NOT_SET } from '../mask';
import { healthCell, healthView, type HealthView } from '../health-view';
import { renderPairs, renderTable, type Column } from '../output';

// ---- pure helpers (unit-tested) -------------------------------------------------------------

/** An instance id from a name: lower-case letters, digits and dashes, at most 64 characters. */
export function slugifyInstanceId(name: string): string | undefined {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug === '' ? undefined : slug;
}

export const randomInstanceId = (): string => `instance-${randomBytes(4).toString('hex')}`;

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export interface DocumentChange {
  readonly set: ReadonlyArray<readonly [string, string]>;
  readonly unset: readonly string[];
}

/** Parses `--set key=value` (value may contain '=') and `--unset key`. */
export function parseDocumentChange(sets: readonly string[], unsets: readonly string[]): DocumentChange {
  const set = sets.map((item): [string, string] => {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--set needs key=value, got "${isSecretKey(item) ? '(hidden)' : item.slice(0, 60)}"`, 'instances update');
    return [item.slice(0, at).trim(), item.slice(at + 1)];
  });
  for (const key of unsets) if (key.trim() === '') throw new UsageError('--unset needs a key', 'instances update');
  if (set.length === 0 && unsets.length === 0) throw new UsageError('nothing to change: give --set key=value or --unset key', 'instances update');
  return { set, unset: unsets.map((key) => key.trim()) };
}

/**
 * Applies a change: `name` and `tags` (comma-separated) are the document's own fields, every
 * other key is a configuration key. Returns a new document.
 */
export function applyDocumentChange(doc: InstanceDocument, change: DocumentChange): InstanceDocument {
  const configuration: Record<string, ConfigValue> = { ...doc.configuration };
  let name = doc.name;
  let tags = doc.tags;
  for (const key of change.unset) {
    if (key === 'name') name = undefined;
    else if (key === 'tags') tags = undefined;
    else delete configuration[key];
  }
  for (const [key, value] of change.set) {
    if (key === 'name') name = value;
    else if (key === 'tags') tags = value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
    else configuration[key] = value;
  }
  const next: { -readonly [K in keyof InstanceDocument]: InstanceDocument[K] } = { ...doc, configuration };
  if (name === undefined) delete next.name;
  else next.name = name;
  if (tags === undefined) delete next.tags;
  else next.tags = tags;
  return next;
}

/** Short labels of the secrets an instance has set, for the list table. */
export function secretSummary(doc: InstanceDocument): string {
  const labels: Record<string, string> = {
    [CONFIG_KEYS.orderKey]: 'order-key',
    [CONFIG_KEYS.productKey]: 'product-key',
    [CONFIG_KEYS.clientSecret]: 'client-secret',
    [CONFIG_KEYS.clientSecretPrevious]: 'client-secret-previous',
    [CONFIG_KEYS.accessToken]: 'access-token',
    [CONFIG_KEYS.signatureKey]: 'signature-key',
  };
  const set: string[] = [];
  for (const [key, value] of Object.entries(doc.configuration)) {
    if (!isSecretKey(key) || value === '' || value === undefined) continue;
    if (key === CONFIG_KEYS.webhookSecret) {
      const count = splitSecrets(value).length;
      if (count > 0) set.push(count > 1 ? `whsec×${count}` : 'whsec');
    } else {
      set.push(labels[key] ?? key);
    }
  }
  return set.join(',');
}

/** The row `instances list` shows (and prints with --json): no secret, only whether set. */
export function listRow(instance: Instance) {
  const doc = instance.document;
  const config = configOf(doc);
  return {
    id: instance.id,
    name: doc.name ?? '',
    storeId: config.storeId ?? '',
    enabled: config.notificationsEnabled,
    callbackUrl: config.callbackUrl === undefined ? '' : redactCallbackUrl(config.callbackUrl),
    secrets: secretSummary(doc),
  };
}

// ---- shared steps ---------------------------------------------------------------------------

/** `--no-resolve` on the commands that validate a callback URL. */
const NO_RESOLVE: Readonly<Record<string, OptionSpec>> = {
  'no-resolve': {
    type: 'boolean',
    description: 'do not look the callback host up now (e.g. its DNS record does not exist yet); deliver still checks it before every attempt',
  },
};
/** What host lookups "fail" with under --no-resolve; such a failure is a warning, not an error. */
const NOT_RESOLVED = 'ENOTLOOKEDUP';

async function validateOrThrow(ctx: CommandContext, input: unknown): Promise<{ document: InstanceDocument; warnings: readonly InstanceProblem[] }> {
  const skipLookup = optionBoolean(ctx.values, 'no-resolve');
  const resolveHost: HostResolver = skipLookup
    ? async () => {
        throw Object.assign(new Error('not looked up (--no-resolve)'), { code: NOT_RESOLVED });
      }
    : ctx.resources.resolveHost;
  const result = await validateInstanceDocument(input, { callbackPolicy: await ctx.resources.callbackPolicy(), resolveHost });
  // Everything else (scheme, address literals, the rest of the document) is still checked.
  const notLookedUp = result.errors.filter((p) => p.path === CONFIG_KEYS.callbackUrl && p.message.endsWith(`(${NOT_RESOLVED})`));
  const errors = result.errors
    .filter((p) => !notLookedUp.includes(p))
    .map((p) =>
      p.path === CONFIG_KEYS.callbackUrl && / does not resolve/.test(p.message)
        ? { ...p, message: `${p.message}; if its DNS record is not there yet, pass --no-resolve` }
        : p,
    );
  if (errors.length > 0) throw new InstanceValidationError(errors);
  const warnings = notLookedUp.length === 0
    ? result.warnings
    : [
        ...result.warnings,
        {
          path: CONFIG_KEYS.callbackUrl,
          message: 'host not looked up (--no-resolve): deliver refuses it at each attempt until it resolves to public addresses only',
        },
      ];
  return { document: input as InstanceDocument, warnings };
}

function printWarnings(ctx: CommandContext, warnings: readonly InstanceProblem[]): void {
  for (const warning of warnings) ctx.out.warn(`${warning.path}: ${warning.message}`);
}

/** The receiver health records, or one line saying why this target has none. */
export async function healthStoreOf(ctx: Pick<CommandContext, 'resources'>): Promise<HealthStore> {
  if (!ctx.resources.health) throw new CliError(`${ctx.resources.describe()} keeps no receiver health`);
  return ctx.resources.health();
}

/** The instance with this id, or a one-line error naming where it was looked for. */
export async function loadInstance(ctx: Pick<CommandContext, 'resources'>, id: string): Promise<Instance> {
  assertInstanceId(id);
  const repository = await ctx.resources.instances();
  const instance = await repository.get(id);
  if (!instance) throw new CliError(`no instance "${id}" in ${repository.location}`);
  return instance;
}

/** A file's text, or standard input for `-`; errors name the file, never its content. */
async function readTextInput(ctx: CommandContext, file: string, command: string): Promise<string> {
  if (file === '-') {
    if (!ctx.io.readStdin) throw new UsageError('- (standard input) is not available here', command);
    return ctx.io.readStdin();
  }
  try {
    return await readFile(resolve(ctx.io.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? 'read failed'}`, EXIT.usage);
  }
}

async function readJsonInput(ctx: CommandContext, file: string): Promise<unknown> {
  const text = await readTextInput(ctx, file, 'instances create');
  try {
    return JSON.parse(text);
  } catch (error) {
    // Never echo the parser's message: it quotes part of the (secret-holding) input.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new CliError(`${file === '-' ? 'standard input' : file} is not valid JSON${position ? ` (at character ${position})` : ''}`, EXIT.usage);
  }
}

/** One-line instructions for the two Ecwid screens where the URL is registered. */
export function registrationInstructions(storeId: string | undefined, sharedUrl: string, perInstanceUrl: string): string[] {
  const legacyPage = storeId ? `https://my.ecwid.com/store/${storeId}#legacy_api` : 'https://my.ecwid.com/store/<STORE_ID>#legacy_api';
  return [
    `Legacy ION (order notifications): in the store's Ecwid admin open the "Legacy API keys" page (${legacyPage}) and paste ${perInstanceUrl} into "ION Cannon endpoint URL".`,
    `Modern webhooks (REST API app): an app has one webhookUrl, which Ecwid sets on request: ask Ecwid for an application update with ${sharedUrl} as the webhookUrl (https only; it serves every store of the app).`,
  ];
}

// ---- commands -------------------------------------------------------------------------------

const create: CommandSpec = {
  name: 'instances create',
  summary: 'validate an instance JSON and store it; prints the URL to register in Ecwid',
  usage: '--file FILE [--id ID]',
  details: `FILE is the Open Connectors instance JSON as it is ("-" reads standard input):
  {"element":{"key":"ecwid"},"configuration":{"ecwid.store.id":"1003",
   "event.notification.callback.url":"https://...", ...},"name":"Shop A"}
Every problem is reported at once (missing store id, bad callback URL including the SSRF
rules, bad booleans, malformed whsec_ secrets); unknown keys are warnings. The id defaults to
a slug of "name" (else a random one); an existing id is never overwritten.`,
  options: {
    file: { type: 'string', value: 'FILE', description: 'instance JSON file, or - for standard input (required)' },
    id: { type: 'string', value: 'ID', description: 'instance id (default: from the name, else random)' },
    ...NO_RESOLVE,
  },
  async run(ctx) {
    const file = optionString(ctx.values, 'file');
    if (!file) throw new UsageError('--file is required', 'instances create');
    const explicitId = optionString(ctx.values, 'id');
    if (explicitId !== undefined) assertInstanceId(explicitId);

    const input = await readJsonInput(ctx, file);
    const { document, warnings } = await validateOrThrow(ctx, input);
    const id = explicitId ?? (document.name ? slugifyInstanceId(document.name) : undefined) ?? randomInstanceId();
    assertInstanceId(id);

    const repository = await ctx.resources.instances();
    await repository.create(id, document);
    printWarnings(ctx, warnings);

    const storeId = configOf(document).storeId;
    let urls: { shared: string; instance: string } | undefined;
    try {
      const shared = await ctx.resources.ingestUrl();
      urls = { shared, instance: instanceIngestUrl(shared, id) };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      ctx.out.warn(`ingest URL unknown (${error.message}); pass --ingest-url or --stack to see the URL to register`);
    }
    ctx.out.result({ id, location: repository.location, storeId, urls, warnings }, () => {
      const lines = [`Created instance ${id} (store ${storeId}) in ${repository.location}.`];
      if (urls) {
        lines.push(
          '',
          'URL to register in Ecwid:',
          `  this instance: ${urls.instance}`,
          `  shared:        ${urls.shared}   (routes by the store id in each notification)`,
          '',
          ...registrationInstructions(storeId, urls.shared, urls.instance).map((line) => `- ${line}`),
        );
      }
      return `${lines.join('\n')}\n`;
    });
  },
};

const list: CommandSpec = {
  name: 'instances list',
  summary: 'list instances with their receiver health (secrets masked: only whether they are set)',
  usage: '',
  details: `HEALTH is the receiver's state (see "instances health"); it needs the ledger, where the
health records are kept: without one (a folder of instances only) the column is left out,
and if they cannot be read it is left out with a warning saying why.`,
  async run(ctx) {
    const repository = await ctx.resources.instances();
    const { instances, problems = [] } = await repository.list();
    // One unreadable instance does not hide the others; the problem names it, never its content.
    for (const problem of problems) ctx.out.warn(`skipped ${problem.message}`);
    const records = await healthRecords(ctx, instances.map((instance) => instance.id));
    const now = ctx.now();
    const rows = instances.map((instance) => {
      const row = listRow(instance);
      return records ? { ...row, health: healthView(instance, records.get(instance.id), now) } : row;
    });
    type Row = ReturnType<typeof listRow> & { health?: HealthView };
    const healthColumn: Column<Row>[] = records ? [{ header: 'HEALTH', value: (r) => (r.health ? healthCell(r.health) : '') }] : [];
    ctx.out.result(rows, () =>
      rows.length === 0
        ? `No instances in ${repository.location}.\n`
        : renderTable<Row>(
            [
              { header: 'ID', value: (r) => r.id },
              { header: 'NAME', value: (r) => r.name },
              { header: 'STORE', value: (r) => r.storeId },
              { header: 'ENABLED', value: (r) => (r.enabled ? 'yes' : 'no') },
              ...healthColumn,
              { header: 'CALLBACK', value: (r) => r.callbackUrl },
              { header: 'SECRETS SET', value: (r) => r.secrets },
            ],
            rows,
          ),
    );
  },
};

/**
 * The health records of these instances for the list, or undefined (with a warning saying why)
 * when they cannot be read here: the list itself never fails for want of them.
 */
async function healthRecords(ctx: CommandContext, ids: readonly string[]): Promise<Map<string, ReceiverHealth> | undefined> {
  if (ids.length === 0) return new Map();
  try {
    return await (await healthStoreOf(ctx)).getMany(ids);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    // Not configured (a folder of instances, no ledger named): nothing to say; a failure is said.
    if (!(error instanceof CliError && error.exitCode === EXIT.usage)) ctx.out.warn(`no HEALTH column: ${error.message}`);
    return undefined;
  }
}

const show: CommandSpec = {
  name: 'instances show',
  summary: 'show one instance (secrets masked)',
  usage: 'ID',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const instance = await loadInstance(ctx, ctx.positionals[0]);
    const masked = maskDocument(instance.document);
    ctx.out.result({ id: instance.id, document: masked }, () => {
      const pairs: Array<[string, string | number | boolean | undefined]> = [
        ['id', instance.id],
        ['name', masked.name],
        ['tags', masked.tags?.join(', ')],
        ['element.key', masked.element?.key],
      ];
      const keys = new Set([...Object.values(CONFIG_KEYS).filter((k) => k in masked.configuration), ...Object.keys(masked.configuration)]);
      for (const key of keys) pairs.push([key, masked.configuration[key]]);
      for (const key of [CONFIG_KEYS.clientSecret, CONFIG_KEYS.accessToken, CONFIG_KEYS.webhookSecret]) {
        if (!(key in masked.configuration)) pairs.push([key, NOT_SET]);
      }
      return renderPairs(pairs);
    });
  },
};

const update: CommandSpec = {
  name: 'instances update',
  summary: 'change keys of an instance; re-validated (incl. SSRF) before it is written',
  usage: 'ID --set KEY=VALUE... [--unset KEY...]',
  details: `KEY is a configuration key (event.notification.callback.url, ecwid.client.secret, ...),
or "name", or "tags" (comma-separated). The store index follows a changed ecwid.store.id.
Values given on the command line can end up in shell history; for secrets prefer
"instances create" from a file, or clear your history.`,
  positionals: { min: 1, max: 1 },
  options: {
    set: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'set a key (repeatable)' },
    unset: { type: 'string', multiple: true, value: 'KEY', description: 'remove a key (repeatable)' },
    ...NO_RESOLVE,
  },
  async run(ctx) {
    const id = ctx.positionals[0];
    const change = parseDocumentChange(optionList(ctx.values, 'set'), optionList(ctx.values, 'unset'));
    const instance = await loadInstance(ctx, id);
    const { document, warnings } = await validateOrThrow(ctx, applyDocumentChange(instance.document, change));
    await (await ctx.resources.instances()).replace(id, document);
    printWarnings(ctx, warnings);
    const setKeys = change.set.map(([key]) => key);
    ctx.out.result({ id, set: setKeys, unset: change.unset }, () =>
      `Updated ${id}:${setKeys.length ? ` set ${setKeys.join(', ')}` : ''}${change.unset.length ? `${setKeys.length ? ';' : ''} removed ${change.unset.join(', ')}` : ''}.\n`,
    );
  },
};

const remove: CommandSpec = {
  name: 'instances delete',
  summary: 'delete an instance and its store index entry (needs --yes)',
  usage: 'ID --yes',
  details: `The instance's events stop at once: new notifications for its store no longer reach it,
and queued ones are dropped. There is no undo; "instances disable" stops it and keeps it.`,
  positionals: { min: 1, max: 1 },
  options: { yes: { type: 'boolean', description: 'confirm: really delete it' } },
  async run(ctx) {
    const id = ctx.positionals[0];
    assertInstanceId(id);
    if (!optionBoolean(ctx.values, 'yes')) throw new UsageError(`refusing to delete instance ${id} without --yes`, 'instances delete');
    const repository = await ctx.resources.instances();
    if (!(await repository.delete(id))) throw new CliError(`no instance "${id}" in ${repository.location}`);
    ctx.out.result({ id, deleted: true }, () => `Deleted instance ${id} from ${repository.location}.\n`);
  },
};

const toggle = (enabled: boolean): CommandSpec => ({
  name: enabled ? 'instances enable' : 'instances disable',
  summary: enabled
    ? 'turn notifications on (event.notification.enabled=true; re-validates first)'
    : 'turn notifications off: ingest acknowledges and drops its events (to hold them instead: "instances pause")',
  usage: 'ID',
  positionals: { min: 1, max: 1 },
  ...(enabled ? { options: NO_RESOLVE } : {}),
  async run(ctx) {
    const id = ctx.positionals[0];
    const instance = await loadInstance(ctx, id);
    const next = withConfig(instance.document, { [CONFIG_KEYS.enabled]: String(enabled) });
    // Switching off must always be possible, even for a document that no longer validates.
    let document = next;
    if (enabled) {
      const validated = await validateOrThrow(ctx, next);
      printWarnings(ctx, validated.warnings);
      document = validated.document;
    }
    await (await ctx.resources.instances()).replace(id, document);
    ctx.out.result(
      enabled ? { id, enabled } : { id, enabled, events: 'dropped by ingest' },
      () =>
        enabled
          ? `Instance ${id} enabled.\n`
          : `Instance ${id} disabled: ingest acknowledges and drops its new events, and deliver drops those already queued. To hold them instead, "instances pause ${id}".\n`,
    );
  },
});

const rotateSecret: CommandSpec = {
  name: 'instances rotate-secret',
  summary: 'add a new Standard Webhooks secret (old one keeps signing); --finish drops the old',
  usage: 'ID [--finish]',
  details: `Step 1 (no --finish): a new whsec_ secret is added to event.notification.webhook.secret;
callbacks are then signed with the old AND the new secret (one webhook-signature entry each),
so the receiver can switch whenever it likes. The new secret is printed ONCE: this is the only
command that prints a secret, because the receiver needs it. Store it safely.
Step 2 (--finish): once the receiver uses the new secret, keep only the newest one.`,
  positionals: { min: 1, max: 1 },
  options: { finish: { type: 'boolean', description: 'remove every secret but the newest' } },
  async run(ctx) {
    const id = ctx.positionals[0];
    const instance = await loadInstance(ctx, id);
    const current = [...configOf(instance).webhookSecrets];
    const repository = await ctx.resources.instances();
    const write = (secrets: string[]) =>
      repository.replace(id, withConfig(instance.document, { [CONFIG_KEYS.webhookSecret]: secrets.join(' ') }));

    if (optionBoolean(ctx.values, 'finish')) {
      if (current.length <= 1) {
        ctx.out.result({ id, removed: 0, active: current.length }, () => `Nothing to finish: ${id} has ${current.length} webhook secret${current.length === 1 ? '' : 's'}.\n`);
        return;
      }
      await write(current.slice(-1));
      ctx.out.result({ id, removed: current.length - 1, active: 1 }, () =>
        `Rotation finished for ${id}: removed ${current.length - 1} old secret${current.length > 2 ? 's' : ''}; callbacks are signed with the new one only.\n`,
      );
      return;
    }

    if (current.length >= 2) {
      throw new CliError(`a rotation is already in progress for ${id} (${current.length} secrets); finish it first with "instances rotate-secret ${id} --finish"`);
    }
    const secret = newWebhookSecret();
    await write([...current, secret]);
    const note = 'Shown once: this is the only secret the CLI ever prints, because the receiver needs it.';
    ctx.out.result({ id, secret, active: current.length + 1, note }, () =>
      [
        `New webhook secret for ${id}. ${note}`,
        secret,
        current.length > 0
          ? `Callbacks are now signed with the old and the new secret. When the receiver uses the new one, run:\n  ecwid-events instances rotate-secret ${id} --finish`
          : 'Callbacks are now signed with it (webhook-id / webhook-timestamp / webhook-signature headers).',
        '',
      ].join('\n'),
    );
  },
};

const rotateClientSecret: CommandSpec = {
  name: 'instances rotate-client-secret',
  summary: "take the Ecwid app's new client_secret, keeping the old one until --finish",
  usage: 'ID --secret-file FILE | ID --finish',
  details: `When the Ecwid app's client_secret changes, webhooks are signed with the new one while
events signed with the old one may still arrive (Ecwid retries for a day). Step 1: the new secret
(read from FILE, or "-" for standard input, never from the command line) becomes
ecwid.client.secret and the current one ecwid.client.secret.previous: webhooks signed with either
verify. Step 2 (--finish, a day later): the previous secret is removed. No secret is ever printed.`,
  positionals: { min: 1, max: 1 },
  options: {
    'secret-file': { type: 'string', value: 'FILE', description: 'file holding the new client_secret ("-": standard input)' },
    finish: { type: 'boolean', description: 'remove the previous client secret' },
  },
  async run(ctx) {
    const id = ctx.positionals[0];
    const instance = await loadInstance(ctx, id);
    const repository = await ctx.resources.instances();
    const { clientSecret: current } = configOf(instance);
    const previous = configOf(instance).clientSecrets[1];

    if (optionBoolean(ctx.values, 'finish')) {
      if (previous === undefined) {
        ctx.out.result({ id, removed: 0 }, () => `Nothing to finish: ${id} has no previous client secret.\n`);
        return;
      }
      await repository.replace(id, withConfig(instance.document, { [CONFIG_KEYS.clientSecretPrevious]: undefined }));
      ctx.out.result({ id, removed: 1 }, () => `Rotation finished for ${id}: only the current client secret verifies webhooks now.\n`);
      return;
    }

    const file = optionString(ctx.values, 'secret-file');
    if (!file) throw new UsageError('--secret-file FILE (or --finish) is required', 'instances rotate-client-secret');
    const secret = (await readTextInput(ctx, file, 'instances rotate-client-secret')).trim();
    if (secret === '' || /\s/.test(secret)) throw new CliError(`${file === '-' ? 'standard input' : file} must hold one client secret (no spaces)`, EXIT.usage);
    if (secret === current) {
      ctx.out.result({ id, changed: false }, () => `${id} already has this client secret; nothing changed.\n`);
      return;
    }
    if (previous !== undefined) {
      throw new CliError(`a rotation is already in progress for ${id}; finish it first with "instances rotate-client-secret ${id} --finish"`);
    }
    await repository.replace(
      id,
      withConfig(instance.document, { [CONFIG_KEYS.clientSecret]: secret, [CONFIG_KEYS.clientSecretPrevious]: current }),
    );
    ctx.out.result({ id, changed: true, previousKept: current !== undefined }, () =>
      current === undefined
        ? `Client secret set for ${id}.\n`
        : `Client secret rotated for ${id}: webhooks signed with the new or the previous secret verify. In a day (Ecwid's retries end), run:\n  ecwid-events instances rotate-client-secret ${id} --finish\n`,
    );
  },
};

const reindex: CommandSpec = {
  name: 'instances reindex',
  summary: 'rebuild the per-store index parameters from the instances (SSM only)',
  usage: '',
  async run(ctx) {
    const repository = await ctx.resources.instances();
    if (!repository.rebuildIndexes) throw new CliError(`${repository.location} has no store index to rebuild (the local runner scans its folder)`);
    const result = await repository.rebuildIndexes();
    ctx.out.result(result, () => `Store indexes rebuilt: ${result.written.length} written, ${result.deleted.length} deleted.\n`);
  },
};

export const INSTANCE_COMMANDS: readonly CommandSpec[] = [
  create,
  list,
  show,
  update,
  remove,
  toggle(true),
  toggle(false),
  rotateSecret,
  rotateClientSecret,
  reindex,
];
