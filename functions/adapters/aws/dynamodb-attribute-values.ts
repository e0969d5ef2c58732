import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';

/**
 * An item as DynamoDB attribute values: exactly what `marshall(item, { removeUndefinedValues: true })`
 * of @aws-sdk/util-dynamodb returns (and what the document client sends), built directly for the
 * JSON-shaped values the relay writes (strings, safe numbers, booleans, null, arrays, plain objects).
 * Anything else (sets, binary, bigint, NumberValue, an unsafe number, a class instance) is handed
 * to util-dynamodb itself, so the two can only agree. Ingest writes one ledger item per event:
 * marshall's generic type dispatch and the document client's per-command middleware were most of
 * ingest's cost beyond the two calls it must make (bench/ingest.ts).
 */
export function itemAttributeValues(item: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  for (const key in item) {
    const value = item[key];
    if (value !== undefined && typeof value !== 'function') map[key] = attributeValue(value);
  }
  return map;
}

/** One value as util-dynamodb's `convertToAttr(value, { removeUndefinedValues: true })` converts it. */
export function attributeValue(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      // Outside this range (and NaN, infinities) util-dynamodb throws its own error.
      if (value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) return { N: value.toString() };
      break;
    case 'object':
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) return { L: listValues(value) };
      if (isPlainObject(value)) return { M: itemAttributeValues(value as Record<string, unknown>) };
      break;
  }
  return convertToAttr(value, MARSHALL_OPTIONS);
}

const MARSHALL_OPTIONS = { removeUndefinedValues: true } as const;

function listValues(values: readonly unknown[]): AttributeValue[] {
  const list: AttributeValue[] = [];
  for (const value of values) if (value !== undefined && typeof value !== 'function') list.push(attributeValue(value));
  return list;
}

/** An object util-dynamodb converts from its enumerable properties (its `constructor.name === "Object"`, or none). */
function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  const { constructor } = value as { constructor?: unknown };
  return (prototype === Object.prototype && constructor === Object) || (prototype === null && constructor === undefined);
}
