/**
 * Every environment variable the backend reads, parsed and validated once at start-up.
 * A bad value stops the process with one message naming the variable (see `loadConfig`).
 * The README's configuration table mirrors this schema; keep them in step.
 */
import path from 'node:path';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

/** Upper bound for JSON_MAX_DEPTH: a depth the recursive code behind the HTTP edge handles with room to spare. */
export const MAX_JSON_DEPTH = 512;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** "100mb", "512kb", "1048576" → bytes. */
const byteSize = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(b|kb|mb|gb)?\s*$/i, 'expected a size such as 100mb, 512kb or a number of bytes')
  .transform((v) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(v)!;
    const unit = (m[2] ?? 'b').toLowerCase();
    const factor = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit]!;
    return Math.round(Number(m[1]) * factor);
  });

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://localhost:8080' })
  .transform((v) => v.replace(/\/+$/, ''));

export const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(9090),
    HOST: z.string().min(1).default('0.0.0.0'),
    MODEL_DIR: z.string().min(1).default('./data'),
    MODEL: z.string().min(1).default('built-in'),
    REDIS_URL: optionalString.pipe(
      z.union([z.undefined(), z.string().regex(/^rediss?:\/\//, 'expected redis://host:port[/db] or rediss://…')]),
    ),
    BASIC_AUTH_USER: optionalString,
    BASIC_AUTH_PASS: optionalString,
    WEBHOOK_SECRET: optionalString,
    LABEL_STUDIO_URL: optionalString.pipe(z.union([z.undefined(), httpUrl])),
    LABEL_STUDIO_API_KEY: optionalString,
    ALLOWED_FILE_HOSTS: optionalString.transform((v) =>
      v ? v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean) : [],
    ),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
    BODY_LIMIT: z.string().default('100mb').pipe(byteSize),
    // Label Studio's payloads nest 7 levels at most; the cap keeps recursive code (zod, JSON.stringify)
    // far from the ~1,000 levels where it overflows the stack.
    JSON_MAX_DEPTH: z.coerce.number().int().min(8).max(MAX_JSON_DEPTH).default(64),
    INITIAL_MODEL_VERSION: optionalString,
    TRAIN_EMBEDDED_WORKER: booleanFlag(true),
    TRAIN_CONCURRENCY: positiveInt(2),
    TRAIN_DEBOUNCE_MS: nonNegativeInt(500),
    // A minute: pre-annotations lag annotators by at most about a minute, while a 10k-annotation project's
    // training (0.5–1 s) once a minute costs about 1–2% of a core per continuously annotated project.
    TRAIN_MAX_WAIT_MS: positiveInt(60_000),
    // 2: a project trains at most a third of the time (run D, then wait 2 × D), however fast events come.
    TRAIN_SPACING_FACTOR: z.coerce.number().min(0).max(1_000).default(2),
    TRAIN_MIN_ANNOTATIONS: positiveInt(10),
    TRAIN_EVERY_N_CHANGES: positiveInt(10),
    TRAIN_ATTEMPTS: positiveInt(3),
    TRAIN_LOCK_MS: positiveInt(15_000),
    TRAIN_NICE: z.coerce.number().int().min(0).max(19).default(19),
    MODEL_KEEP_VERSIONS: positiveInt(5),
    MODEL_CACHE_MAX: positiveInt(200),
    MODEL_CACHE_MAX_MB: positiveInt(1024),
    MODEL_IDLE_UNLOAD_MS: nonNegativeInt(30 * 60 * 1000),
    MODEL_PREFETCH_MS: nonNegativeInt(5 * 60 * 1000),
    // Read by the built-in text models (characters of a text they read); checked here so a bad value stops start-up.
    TEXT_MAX_CHARS: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.BASIC_AUTH_USER) !== Boolean(env.BASIC_AUTH_PASS)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.BASIC_AUTH_USER ? 'BASIC_AUTH_PASS' : 'BASIC_AUTH_USER'],
        message: 'BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  modelDir: string;
  model: string;
  redisUrl: string | undefined;
  basicAuth: { user: string; pass: string } | undefined;
  webhookSecret: string | undefined;
  labelStudio: { url: string | undefined; apiKey: string | undefined; allowedFileHosts: string[] };
  logLevel: Env['LOG_LEVEL'];
  /** `json` (one object a line, for log collectors) or `pretty` (coloured lines for a developer's terminal). */
  logFormat: Env['LOG_FORMAT'];
  bodyLimitBytes: number;
  /** Request bodies nested deeper than this are refused with 400 `json_too_deep` before any route runs. */
  jsonMaxDepth: number;
  initialModelVersion: string | undefined;
  training: {
    embeddedWorker: boolean;
    concurrency: number;
    debounceMs: number;
    /** A requested training starts at the latest this long after the first request it folded. */
    maxWaitMs: number;
    /** A project's trainings start at least this many times its last training's duration apart (START_TRAINING excepted). */
    spacingFactor: number;
    minAnnotations: number;
    everyNChanges: number;
    attempts: number;
    lockMs: number;
    /** Nice value of training threads (Linux): 19 leaves the CPU to the API whenever it needs it. */
    nice: number;
  };
  models: {
    keepVersions: number;
    cacheMax: number;
    cacheMaxBytes: number;
    idleUnloadMs: number;
    /** A new version is loaded at once only for projects served within this window; others load it when next served. */
    prefetchMs: number;
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse `env` (default `process.env`); throws `ConfigError` naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    modelDir: path.resolve(e.MODEL_DIR),
    model: e.MODEL,
    redisUrl: e.REDIS_URL,
    basicAuth: e.BASIC_AUTH_USER && e.BASIC_AUTH_PASS ? { user: e.BASIC_AUTH_USER, pass: e.BASIC_AUTH_PASS } : undefined,
    webhookSecret: e.WEBHOOK_SECRET,
    labelStudio: { url: e.LABEL_STUDIO_URL, apiKey: e.LABEL_STUDIO_API_KEY, allowedFileHosts: e.ALLOWED_FILE_HOSTS },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    bodyLimitBytes: e.BODY_LIMIT,
    jsonMaxDepth: e.JSON_MAX_DEPTH,
    initialModelVersion: e.INITIAL_MODEL_VERSION,
    training: {
      embeddedWorker: e.TRAIN_EMBEDDED_WORKER,
      concurrency: e.TRAIN_CONCURRENCY,
      debounceMs: e.TRAIN_DEBOUNCE_MS,
      maxWaitMs: e.TRAIN_MAX_WAIT_MS,
      spacingFactor: e.TRAIN_SPACING_FACTOR,
      minAnnotations: e.TRAIN_MIN_ANNOTATIONS,
      everyNChanges: e.TRAIN_EVERY_N_CHANGES,
      attempts: e.TRAIN_ATTEMPTS,
      lockMs: e.TRAIN_LOCK_MS,
      nice: e.TRAIN_NICE,
    },
    models: {
      keepVersions: e.MODEL_KEEP_VERSIONS,
      cacheMax: e.MODEL_CACHE_MAX,
      cacheMaxBytes: e.MODEL_CACHE_MAX_MB * 1024 * 1024,
      idleUnloadMs: e.MODEL_IDLE_UNLOAD_MS,
      prefetchMs: e.MODEL_PREFETCH_MS,
    },
  };
}
