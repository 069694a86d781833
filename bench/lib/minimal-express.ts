/**
 * The baseline: the smallest Express 5 app that does what every request to the backend must do anyway
 * (parse the JSON body with the same parser and 100mb limit, answer JSON). The backend's throughput is
 * reported as a ratio of this app's, measured with the identical wrk setup on the same machine.
 * Run as its own process: `PORT=… HOST=127.0.0.1 node --import tsx bench/lib/minimal-express.ts`.
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
// Same options as src/server/app.ts, so the parse cost is identical.
app.use(express.json({ limit: '100mb', strict: false, type: () => true }));
app.use((_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`minimal express listening on ${typeof address === 'object' && address ? address.port : address}`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
