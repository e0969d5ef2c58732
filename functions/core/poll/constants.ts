/** The poller's tuning, in seconds unless named otherwise (session.ts explains the windows). */

/** Ecwid's maximum page size. */
export const POLL_PAGE_LIMIT = 100;
/** Each window starts this far before the previous one ended: clock skew and search-index lag. */
export const OVERLAP_SECONDS = 120;
/** The live edge trails real time by this much in polling mode (index lag, clock skew). */
export const SETTLE_SECONDS = 60;
/**
 * In reconciliation mode the poll trails real time by this much, so that the webhook for a change
 * (normally there within seconds; Ecwid's first retry is 15 minutes later) is seen first.
 */
export const RECONCILE_LAG_SECONDS = 30 * 60;
/** Created and updated this close together: the object is new (CREATED). */
export const CREATED_TOLERANCE_SECONDS = 10;
/** A webhook created this long before a polled update time still counts as reporting it. */
export const SIGHTING_TOLERANCE_SECONDS = 5;
/** A window with more changes than this is split (bounded work per checkpoint). */
export const MAX_WINDOW_ITEMS = 1000;
/** Scans of one window whose contents keep changing before the poll gives up (until next time). */
export const MAX_SCAN_PASSES = 3;
/** The serialized state stays below this (SSM parameters hold at most 8 KB). */
export const MAX_STATE_BYTES = 8000;
/** A listed object larger than this is queued as a stub (an SQS message holds at most 256 KiB). */
export const MAX_RAW_BYTES = 200 * 1024;
/** During a long poll, progress is saved at most this often (each save is an SSM write). */
export const PROGRESS_SAVE_INTERVAL_MS = 30_000;
/** An instance is due a little early rather than a whole schedule period late. */
export const DUE_SLACK_SECONDS = 60;
