/**
 * One pino logger for the whole process. Secrets are redacted by path so that a careless
 * `log.info({ body })` can never print a Label Studio token or a task-data password.
 */
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

const SECRET_KEYS = [
  'access_token',
  'accessToken',
  'token',
  'password',
  'task_data_password',
  'authorization',
  'Authorization',
  'apiKey',
  'api_key',
  'secret',
];

/** Redaction paths: each secret key at the top level and up to three objects deep. */
export const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]).concat([
  'req.headers.authorization',
  'req.headers["x-webhook-secret"]',
  'req.headers.cookie',
]);

/**
 * stdout, written asynchronously (lines logged while a write is in flight go out together): a
 * synchronous write per request line cost a noticeable share of /predict's throughput. Lines still
 * buffered are flushed when the process exits.
 */
let stdout: ReturnType<typeof pino.destination> | undefined;
function bufferedStdout(): pino.DestinationStream {
  if (!stdout) {
    const dest = pino.destination({ dest: 1, sync: false });
    process.once('exit', () => {
      try {
        dest.flushSync();
      } catch {
        // not open yet, or stdout already closed: nothing more we can do
      }
    });
    stdout = dest;
  }
  return stdout;
}

export type LogFormat = 'json' | 'pretty';

/**
 * `pretty` formats in this thread with pino-pretty's stream (a development aid: no extra thread per training
 * thread, nothing lost at exit); redaction happens before, so secrets stay out either way.
 */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const out = destination ?? bufferedStdout();
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    format === 'pretty' ? prettyStream(out) : out,
  );
}

function prettyStream(destination: pino.DestinationStream): pino.DestinationStream {
  const colorize = destination === stdout && process.stdout.isTTY === true;
  return PinoPretty({ destination, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}
