/**
 * Where Ecwid API requests carry secrets in the URL: the legacy v1 APIs take the store's key as
 * `secure_auth_key`, and REST v3 accepts the access token as `token`. Neither may reach a log,
 * an error or a dead letter.
 */

/** Query parameters whose values are secrets. */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set(['secure_auth_key', 'token']);

export const REDACTED = '***';

/** Replaces the values of secret query parameters in any URL-like text (defence in depth for logs). */
export function redactSecretQueryParams(text: string): string {
  return text.replace(/([?&](?:secure_auth_key|token)=)[^&\s"']*/gi, `$1${REDACTED}`);
}
