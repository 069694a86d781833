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
  });

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
