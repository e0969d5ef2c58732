/**
 * The ingest answers that are not a success, with the status Ecwid acts on.
 * Ecwid retries anything but 200/201/202/204/209, so the status says whether a retry can help:
 * 4xx for requests that will never succeed as sent, 503 for our own temporary failures.
 */
export const REJECTIONS = {
  RouteNotFound: 404,
  MethodNotAllowed: 405,
  TooLarge: 413,
  UnsupportedMediaType: 415,
  Malformed: 400,
  UnknownInstance: 404,
  StoreMismatch: 400,
  /** 404, not 200: the store may be set up later and Ecwid keeps retrying until then. */
  UnknownStore: 404,
  BadSignature: 401,
  /** The instance store or the queue failed: 503 so that Ecwid retries. */
  Unavailable: 503,
} as const;

export type RejectionReason = keyof typeof REJECTIONS;

/** The JSON body of every error answer. `message` must never contain a secret. */
export interface ErrorBody {
  readonly error: string;
  /** The request field that was missing or invalid, for 400 answers. */
  readonly field?: string;
}

export interface HttpResult<TBody> {
  readonly status: number;
  readonly body: TBody;
  readonly headers?: Readonly<Record<string, string>>;
}

export function rejection(
  reason: RejectionReason,
  message: string,
  extra: { field?: string; headers?: Readonly<Record<string, string>> } = {},
): HttpResult<ErrorBody> & { readonly reason: RejectionReason } {
  const body: ErrorBody = extra.field === undefined ? { error: message } : { error: message, field: extra.field };
  return { status: REJECTIONS[reason], body, reason, ...(extra.headers ? { headers: extra.headers } : {}) };
}
