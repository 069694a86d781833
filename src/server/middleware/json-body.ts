/**
 * Request bodies: JSON whatever the content type (Label Studio does not always send one), at most
 * BODY_LIMIT bytes and JSON_MAX_DEPTH levels deep. The depth check runs right after parsing, before any
 * route, because everything behind it may recurse over the body (zod's JSON schema, `JSON.stringify` in the
 * stores and in BullMQ, a model's own code): a hostile depth there overflows the stack, as a 500 or as a
 * training job that fails later.
 */
import express, { type RequestHandler } from 'express';
import { HttpError } from '../../util/errors.js';
import { pathDeeperThan } from '../../util/json.js';

export function jsonBody(limitBytes: number, maxDepth: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });
  // One middleware rather than two: each layer the app walks costs every request a little.
  return (req, res, next) => parse(req, res, (err?: unknown) => next(err ?? depthError(req.body, maxDepth)));
}

function depthError(body: unknown, maxDepth: number): HttpError | undefined {
  const path = pathDeeperThan(body, maxDepth);
  if (!path) return undefined;
  // Keys come from the client: bound what is echoed.
  const shown = path.map((key) => (typeof key === 'string' && key.length > 40 ? `${key.slice(0, 40)}…` : key));
  const dotted = shown.join('.');
  const where = dotted.length > 200 ? `${dotted.slice(0, 140)}…${dotted.slice(-40)}` : dotted;
  const message = `nested deeper than ${maxDepth} levels (JSON_MAX_DEPTH)`;
  return new HttpError(400, 'json_too_deep', `request body is ${message} at ${where || '(body)'}`, [{ path: shown, message }]);
}
