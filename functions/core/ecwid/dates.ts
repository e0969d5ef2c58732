/**
 * The time formats Ecwid uses: Unix seconds (webhooks' `eventCreated`, REST v3 `*Timestamp`),
 * "YYYY-MM-DD hh:mm:ss" with an optional zone (REST v3 and legacy v1 dates), and ION's zoneless
 * `date`.
 */

/** Ecwid's "YYYY-MM-DD hh:mm:ss" without a zone (ION `date`, legacy v1 `lastChangeDate`). */
export const ECWID_DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** "YYYY-MM-DD hh:mm:ss" (or with a T); Ecwid never documented the time zone of ION's `date`. */
const ION_DATE_PATTERN = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/;

const ECWID_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?: ([+-])(\d{2}):?(\d{2}))?$/;

/** A positive Unix time in seconds, given as a number or a string of digits. */
export function unixSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.floor(value);
  if (typeof value === 'string' && /^[0-9]{1,12}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** Ecwid's `2024-06-04 21:15:10 +0000` (zone optional, then UTC) as Unix seconds. */
export function ecwidDateSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ECWID_DATE.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, sign, zh, zm] = match;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(zh) * 3600 + Number(zm) * 60);
  const result = utc - offset;
  return Number.isFinite(result) ? result : undefined;
}

/**
 * Best effort: ION's "2014-05-06 16:28:06" becomes the ISO 8601 local time "2014-05-06T16:28:06".
 * No offset is added because Ecwid never said which zone it meant; anything else is left out
 * (the original stays in `raw.date`).
 */
export function ionDateToIso(date: string | undefined): string | undefined {
  const match = date === undefined ? null : ION_DATE_PATTERN.exec(date);
  if (!match) return undefined;
  const iso = `${match[1]}T${match[2]}`;
  // Drop what cannot be a time at all (month 13, hour 25); the zone stays unknown either way.
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}
