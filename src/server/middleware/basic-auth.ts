import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../../util/errors.js';

export interface Credentials {
  user: string;
  pass: string;
}

/** Constant-time string comparison: hashing first makes the lengths equal. */
export function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export function hasValidBasicAuth(req: Request, expected: Credentials): boolean {
  const header = req.headers.authorization;
  if (!header || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Evaluate both comparisons so timing does not reveal which half was wrong.
  const userOk = safeEqual(decoded.slice(0, colon), expected.user);
  const passOk = safeEqual(decoded.slice(colon + 1), expected.pass);
  return userOk && passOk;
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}

/** Basic auth for every route except those in `skip` (the webhook decides for itself). */
export function basicAuth(expected: Credentials, skip: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    if (skip.has(req.path) || hasValidBasicAuth(req, expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="ls-ml-backend", charset="UTF-8"');
    next(new UnauthorizedError('valid basic-auth credentials are required'));
  };
}
