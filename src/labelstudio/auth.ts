/**
 * How this backend authenticates to Label Studio, and how it keeps the token out of messages.
 *
 * Label Studio accepts two kinds of credential: the legacy API token (`Authorization: Token <t>`) and
 * JWT access tokens (`Authorization: Bearer <jwt>`). Like the SDK, we pick the scheme from the token's
 * shape: a well-formed JWT (its header decodes to JSON with an `alg`) gets `Bearer`, anything else
 * `Token`. The signature is not verified: only Label Studio can do that.
 */

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** True if `token` looks like a JWT: three base64url segments whose first decodes to a JSON header with `alg`. */
export function isJwt(token: string): boolean {
  const segments = token.trim().split('.');
  if (segments.length !== 3) return false;
  const [header, payload] = segments as [string, string, string];
  // The signature may be empty (alg "none"), the header and payload may not.
  if (header === '' || payload === '' || !segments.every((s) => BASE64URL_SEGMENT.test(s))) return false;
  const decoded = decodeJsonSegment(header);
  return typeof decoded === 'object' && decoded !== null && typeof (decoded as { alg?: unknown }).alg === 'string';
}

function decodeJsonSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The `Authorization` header value for a Label Studio token: `Bearer <jwt>` or `Token <legacy token>`. */
export function authorizationHeader(token: string): string {
  const trimmed = token.trim();
  return isJwt(trimmed) ? `Bearer ${trimmed}` : `Token ${trimmed}`;
}

/**
 * May credentials meant for `base` (the configured Label Studio URL) be sent to `target`?
 * Yes for the same origin, and for an http → https upgrade of the same host (a proxy in front of Label
 * Studio commonly redirects to https). Never for another host, another port, or an https → http downgrade.
 */
export function isLabelStudioOrigin(target: URL, base: URL): boolean {
  if (target.origin === base.origin) return true;
  const upgrade = base.protocol === 'http:' && target.protocol === 'https:';
  return upgrade && target.hostname === base.hostname && (target.port === '' || target.port === base.port);
}

/**
 * Replace every occurrence of `secret` in `text` with `[redacted]`. Error messages can quote response
 * bodies or URLs; this is the last line of defence that keeps the token out of them and out of logs.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  const s = secret?.trim();
  if (!s) return text;
  return text.split(s).join('[redacted]');
}

/** undici reports "fetch failed" with the useful part (ECONNREFUSED, ENOTFOUND, …) in `cause`. */
export function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error.message;
}
