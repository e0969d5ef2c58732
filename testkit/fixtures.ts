/** Ecwid's sample notifications and the project's test data files (test/fixtures), read by name. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES_DIR = path.join(__dirname, '..', 'test', 'fixtures');

/** A fixture file's text. */
export const fixtureText = (name: string): string => readFileSync(path.join(FIXTURES_DIR, name), 'utf8');
/** A fixture file's exact bytes (signatures are over bytes). */
export const fixtureBytes = (name: string): Buffer => readFileSync(path.join(FIXTURES_DIR, name));
/** A JSON fixture, parsed. */
export const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixtureText(name)) as T;
/** The fields of an ION form post fixture. */
export const ionFixtureFields = (name: string): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(fixtureText(name).trim()));
