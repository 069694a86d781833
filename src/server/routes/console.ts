/**
 * The operator console's files: a static page, its ES module script and CSS (src/server/console/, copied
 * next to the compiled code by `npm run build`) and uPlot from node_modules, so the page works offline with
 * no front-end build. `/` hands browsers the page (routes/health.ts); the page reads the JSON endpoints.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { IRouter, Response } from 'express';
import type { AppContext } from '../../context.js';
import { notFound } from '../../util/errors.js';

interface Asset {
  type: string;
  body: Buffer;
}

const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));
const require = createRequire(import.meta.url);

/** The files under `/console/`, by name: a fixed list, so a request path never reaches the file system. */
const FILES: Record<string, { type: string; path: () => string }> = {
  'app.js': { type: 'text/javascript; charset=utf-8', path: () => `${CONSOLE_DIR}app.js` },
  'console.css': { type: 'text/css; charset=utf-8', path: () => `${CONSOLE_DIR}console.css` },
  'uPlot.esm.js': { type: 'text/javascript; charset=utf-8', path: () => require.resolve('uplot/dist/uPlot.esm.js') },
  'uPlot.min.css': { type: 'text/css; charset=utf-8', path: () => require.resolve('uplot/dist/uPlot.min.css') },
};

export interface ConsoleAssets {
  page: Asset;
  files: Map<string, Asset>;
}

let loaded: ConsoleAssets | undefined;

/** Reads the console's files once per process (~200 KB): serving them is then no I/O, like `/health`. */
export function consoleAssets(): ConsoleAssets {
  if (loaded) return loaded;
  const read = (file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`the web console's file ${file} is missing (npm run build copies src/server/console/): ${(err as Error).message}`);
    }
  };
  loaded = {
    page: { type: 'text/html; charset=utf-8', body: read(`${CONSOLE_DIR}index.html`) },
    files: new Map(Object.entries(FILES).map(([name, f]) => [name, { type: f.type, body: read(f.path()) }])),
  };
  return loaded;
}

export function sendAsset(res: Response, asset: Asset): void {
  // Revalidated on every load: an upgraded backend must not run yesterday's script against today's API.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.type(asset.type).send(asset.body);
}

export function consoleRoutes(router: IRouter, _ctx: AppContext): void {
  const { files } = consoleAssets();
  router.get('/console/:file', (req, res) => {
    const asset = files.get(String(req.params.file));
    if (!asset) throw notFound(`no console file ${String(req.params.file)}`);
    sendAsset(res, asset);
  });
}
