/**
 * What both built-in models' artifact checks share: the error they throw and the zod pieces that read
 * `metadata_props` (every value there is a string).
 */
import { z } from 'zod';

export type ArtifactErrorCode = 'decode' | 'metadata' | 'structure' | 'session' | 'smoke';

/** An artifact that cannot be served; `code` says which check refused it. Each model subclasses it with its name. */
export class ModelArtifactError extends Error {
  constructor(
    model: string,
    readonly code: ArtifactErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid ${model} artifact (${code}): ${message}`, options);
    this.name = 'ArtifactError';
  }
}

/** A decimal integer in [min, max], written as a string. */
export const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** JSON text whose value `schema` accepts. */
export const jsonString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** The model's label columns, in order: at least one, each non-empty, none twice. */
export const labelsSchema = z
  .array(z.string().min(1))
  .min(1)
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique');
