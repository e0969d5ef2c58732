import type { InstanceDocument } from '../core/instance';
import { isJsonObject } from '../core/json';

/**
 * A stored instance document (SSM parameter or local file) that is not usable. The message names
 * where it came from and what is wrong, never the content: the document holds secrets.
 */
/** Store ids become part of a parameter name; anything else cannot name a parameter (Ecwid's are numeric). */
export const STORE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

export class InvalidInstanceDocumentError extends Error {
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'InvalidInstanceDocumentError';
  }
}

/**
 * Parses the JSON of one instance document, checking only the shape every reader relies on
 * (an object with a `configuration` object). `source` names the parameter or file in errors.
 */
export function parseInstanceDocument(text: string, source: string): InstanceDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Deliberately drop the SyntaxError: its message quotes a piece of the (secret) input.
    throw new InvalidInstanceDocumentError(source, 'is not valid JSON');
  }
  if (!isJsonObject(parsed)) throw new InvalidInstanceDocumentError(source, 'is not a JSON object');
  if (!isJsonObject(parsed.configuration)) {
    throw new InvalidInstanceDocumentError(source, 'has no "configuration" object');
  }
  return parsed as unknown as InstanceDocument;
}

/** Parses a store index (a JSON array of instance ids, see contract.ts). */
export function parseStoreIndex(text: string, source: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidInstanceDocumentError(source, 'is not valid JSON (expected an array of instance ids)');
  }
  if (!Array.isArray(parsed) || !parsed.every((id) => typeof id === 'string')) {
    throw new InvalidInstanceDocumentError(source, 'is not a JSON array of instance ids');
  }
  return parsed as string[];
}
