import { REJECTIONS, type RejectionReason } from '../contract';

/** Error answers of ingest; the status of each reason is the contract's rejection table. */

/** The JSON body of every error answer. `error` must never contain a secret. */
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
