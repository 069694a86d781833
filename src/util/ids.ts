/**
 * Identifiers that end up in file names and Redis keys. Label Studio's project ids are integers and its
 * uids `<id>.<created_ts>`; we accept a slightly wider, still path-safe, alphabet so that hand-made
 * requests work, and refuse everything else before it can reach the file system.
 */
import crypto from 'node:crypto';
import { z } from 'zod';

export const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_PROJECT_ID = 'default';

/** `"12.1718022013"` → `"12"`; the part before the first dot must be path-safe. */
export const projectUidSchema = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((v) => String(v))
  .refine((v) => PROJECT_ID_PATTERN.test(v.split('.', 1)[0] ?? ''), {
    message: 'project must look like "<id>.<created_ts>" where <id> is 1-64 letters, digits, "_" or "-"',
  })
  // Webhooks carry the same id as a number (see integerIdSchema): one beyond 2^53 - 1 could never match.
  .refine((v) => !/^\d+$/.test(projectIdFromUid(v)) || Number.isSafeInteger(Number(projectIdFromUid(v))), {
    message: `a numeric project id must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1)`,
  });

/**
 * Label Studio's numeric ids (tasks, annotations, projects), as a number or a string of digits. Beyond
 * 2^53 - 1 a JavaScript number cannot hold every integer: "9007199254740993" would become ...992, and two
 * annotations or two projects would merge, so such ids are refused rather than rounded.
 */
export const integerIdSchema = z
  .union([z.number(), z.string().regex(/^\d+$/)], { error: 'expected an integer id: a number or a string of digits' })
  .transform(Number)
  .refine(Number.isSafeInteger, { message: `id must be a whole number within ±${Number.MAX_SAFE_INTEGER} (2^53 - 1)` });

export function projectIdFromUid(uid: string): string {
  return uid.split('.', 1)[0]!;
}

/**
 * Defence in depth for file names: anything outside [A-Za-z0-9._-] (or a dot-only name) is replaced by
 * a hash, so "../../etc" can never become a path even if a caller forgot to validate.
 */
export function safePathSegment(value: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(value) && !value.includes('..')) return value;
  return `h_${crypto.createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
}
