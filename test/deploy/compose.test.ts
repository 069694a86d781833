/**
 * The compose files, as Docker Compose itself reads them: every docker-compose*.yml goes through
 * `docker-compose config` (Debian's docker-compose package; no Docker engine needed), and the resolved
 * configuration is checked for what makes a deployment run: host ports that do not collide, Redis persisted,
 * restart policies and health checks, the backend's environment valid for its own config schema, and the
 * Label Studio pair wired by service name. Without the binary these tests are skipped locally and fail in CI.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../support/processes.js';
import { makeTempDir } from '../support/server.js';
import { execForm, keyValues, parseDockerfile, effectiveInstructions } from './dockerfile.js';

const run = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<{ published?: number | string; target: number }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  extra_hosts?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
}
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const COMPOSE = findOnPath('docker-compose');
const REQUIRED = process.env.CI === 'true';
const COMPOSE_FILES = fs.readdirSync(PROJECT_ROOT).filter((f) => /^docker-compose.*\.ya?ml$/.test(f)).sort();
/** What the Label Studio pair needs (it refuses to start without them); any values do for validation. */
const LABEL_STUDIO_SECRETS = { LABEL_STUDIO_PASSWORD: 'test-password', LABEL_STUDIO_API_KEY: 'a'.repeat(40) };

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

let envDir: string;
let emptyEnvFile: string;

const configs = new Map<string, Promise<ComposeConfig>>();

/**
 * `docker-compose config` of one file, as JSON (each file and environment read once: docker-compose 1.x
 * takes about a second to start). Only `env` reaches the interpolation: no variable of the test
 * process and no .env file a developer keeps in the checkout.
 */
function composeConfig(file: string, env: Record<string, string> = {}): Promise<ComposeConfig> {
  const key = JSON.stringify([file, env]);
  if (!configs.has(key)) configs.set(key, readComposeConfig(file, env));
  return configs.get(key)!;
}

async function readComposeConfig(file: string, env: Record<string, string>): Promise<ComposeConfig> {
  const { stdout } = await run(COMPOSE!, ['--env-file', emptyEnvFile, '--project-directory', PROJECT_ROOT, '-f', path.join(PROJECT_ROOT, file), 'config'], {
    env: { PATH: process.env.PATH ?? '', HOME: envDir, ...env },
  });
  // python3-yaml is a dependency of Debian's docker-compose, so it is there whenever the binary is.
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: stdout, encoding: 'utf8' });
  return JSON.parse(json) as ComposeConfig;
}

/** Host ports published by more than one container: what `deploy.replicas` with a fixed port produces. */
function hostPortConflicts(config: ComposeConfig): string[] {
  const owners = new Map<string, string[]>();
  for (const [name, service] of Object.entries(config.services)) {
    const replicas = service.deploy?.replicas ?? 1;
    for (const port of service.ports ?? []) {
      if (port.published === undefined || port.published === '') continue;
      for (let i = 0; i < replicas; i++) owners.set(String(port.published), [...(owners.get(String(port.published)) ?? []), name]);
    }
  }
  return [...owners].filter(([, who]) => who.length > 1).map(([port, who]) => `${port}: ${who.join(', ')}`);
}

const dockerfile = parseDockerfile(fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
const finalStage = dockerfile.stages.at(-1)!;
const IMAGE_ENV: Record<string, string> = Object.assign(
  {},
  ...effectiveInstructions(dockerfile, finalStage)
    .filter((i) => i.keyword === 'ENV')
    .map((i) => keyValues(i.args)),
);
const IMAGE_CMD = execForm(finalStage.instructions.filter((i) => i.keyword === 'CMD').at(-1)!.args)!;

const isBackend = (s: Service) => s.build !== undefined && path.resolve(s.build.context) === path.resolve(PROJECT_ROOT);
const commandOf = (s: Service) => s.command ?? IMAGE_CMD;
const envOf = (s: Service) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));

/** A volume entry in either syntax `config` prints: `source:target[:mode]` (docker-compose 1.x) or the long form. */
function mountOf(volume: string | { type: string; source: string; target: string }): { type: string; source: string; target: string } {
  if (typeof volume !== 'string') return volume;
  const [source, target] = volume.split(':') as [string, string | undefined];
  if (target === undefined) return { type: 'volume', source: '', target: source };
  // A source that is a path is a bind mount; a bare name is a named volume.
  return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target };
}
const mountAt = (s: Service, target: string) => (s.volumes ?? []).map(mountOf).find((v) => v.target === target);
const dataMount = (s: Service) => mountAt(s, '/data');

describe.skipIf(!COMPOSE && !REQUIRED)('compose files (docker-compose config)', () => {
  beforeAll(() => {
    if (!COMPOSE) throw new Error('docker-compose is not installed (apt-get install docker-compose): CI must validate the compose files');
    envDir = makeTempDir('ls-ml-compose-');
    emptyEnvFile = path.join(envDir, 'empty.env');
    fs.writeFileSync(emptyEnvFile, '');
  });
  afterAll(() => {
    if (envDir) fs.rmSync(envDir, { recursive: true, force: true });
  });

  it('finds the compose files, and every one of them validates', async () => {
    expect(COMPOSE_FILES).toEqual(expect.arrayContaining(['docker-compose.yml', 'docker-compose.label-studio.yml']));
    for (const file of COMPOSE_FILES) {
      const config = await composeConfig(file, LABEL_STUDIO_SECRETS);
      expect(Object.keys(config.services).length, file).toBeGreaterThan(0);
    }
  });

  it('the conflict check flags the replicated API with a fixed host port that the old file had', () => {
    expect(hostPortConflicts({ services: { api: { ports: [{ published: 9090, target: 9090 }], deploy: { replicas: 2 } } } })).toEqual(['9090: api, api']);
    expect(hostPortConflicts({ services: { a: { ports: [{ published: 9090, target: 9090 }] }, b: { ports: [{ target: 9090 }] } } })).toEqual([]);
  });

  for (const file of COMPOSE_FILES) {
    describe(file, () => {
      let config: ComposeConfig;
      beforeAll(async () => {
        config = await composeConfig(file, LABEL_STUDIO_SECRETS);
      });

      it('publishes no host port twice, and replicates no service that publishes a fixed one', () => {
        expect(hostPortConflicts(config)).toEqual([]);
        for (const [name, s] of Object.entries(config.services)) {
          if ((s.deploy?.replicas ?? 1) > 1) expect(s.ports?.filter((p) => p.published !== undefined) ?? [], name).toEqual([]);
        }
      });

      it('restarts every service, and gives each a health check (only a worker, which serves no HTTP, turns it off)', () => {
        for (const [name, s] of Object.entries(config.services)) {
          expect(['always', 'unless-stopped', 'on-failure'], `${name} restart`).toContain(s.restart);
          const disabled = s.healthcheck?.disable === true || s.healthcheck?.test?.[0] === 'NONE';
          if (disabled) expect(commandOf(s), `${name} turns its health check off`).toEqual(['worker']);
          // A backend without its own check inherits the image's HTTP check, which a `start` answers.
          else if (!isBackend(s)) expect(s.healthcheck?.test?.length, `${name} health check`).toBeGreaterThan(0);
          if (isBackend(s) && commandOf(s)[0] === 'worker') expect(disabled, `${name}: the image's /health check would always fail`).toBe(true);
        }
      });

      it('runs backends from this image as `start` or `worker`, with an environment the backend accepts', () => {
        const backends = Object.entries(config.services).filter(([, s]) => isBackend(s));
        expect(backends.length).toBeGreaterThan(0);
        for (const [name, s] of backends) {
          expect([['start'], ['worker']], name).toContainEqual(commandOf(s));
          // What the process sees: the image's ENV, then the service's environment.
          expect(() => loadConfig({ ...IMAGE_ENV, ...envOf(s) }), name).not.toThrow();
          // A named volume on /data takes the image's owner (the non-root user); a bind mount would not.
          const mount = dataMount(s);
          expect(mount?.type, `${name} keeps /data on a named volume`).toBe('volume');
          expect(Object.keys(config.volumes ?? {})).toContain(mount!.source);
        }
      });
    });
  }

  describe('docker-compose.yml (Redis, API processes and a worker)', () => {
    let config: ComposeConfig;
    beforeAll(async () => {
      config = await composeConfig('docker-compose.yml');
    });

    it('persists Redis with an append-only file on a named volume, and checks it with PING', () => {
      const redis = config.services.redis!;
      expect(redis.image).toMatch(/^redis:/);
      expect(redis.command?.join(' ')).toMatch(/--appendonly yes/);
      const mount = dataMount(redis)!;
      expect(mount.type).toBe('volume');
      expect(Object.keys(config.volumes ?? {})).toContain(mount.source);
      expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    });

    it('runs at least two API processes that do not train and one worker, all on Redis once it is healthy', () => {
      const backends = Object.entries(config.services).filter(([, s]) => isBackend(s));
      const apis = backends.filter(([, s]) => commandOf(s)[0] === 'start');
      const workers = backends.filter(([, s]) => commandOf(s)[0] === 'worker');
      expect(apis.length).toBeGreaterThanOrEqual(2);
      expect(workers.length).toBeGreaterThanOrEqual(1);
      for (const [name, s] of backends) {
        const cfg = loadConfig({ ...IMAGE_ENV, ...envOf(s) });
        expect(cfg.redisUrl, name).toBe('redis://redis:6379');
        expect(s.depends_on?.redis?.condition, name).toBe('service_healthy');
      }
      for (const [name, s] of apis) {
        expect(loadConfig({ ...IMAGE_ENV, ...envOf(s) }).training.embeddedWorker, `${name} leaves trainings to the worker`).toBe(false);
        expect(s.ports?.map((p) => p.target), `${name} publishes the API port`).toEqual([Number(IMAGE_ENV.PORT)]);
      }
      expect(apis.map(([, s]) => Number(s.ports![0]!.published)).sort()).toEqual([9090, 9091]);
    });

    it('lets backends reach a Label Studio on the Docker host, at the LABEL_STUDIO_URL given before `up`', async () => {
      const backends = Object.values(config.services).filter(isBackend);
      for (const s of backends) {
        expect(s.extra_hosts).toContain('host.docker.internal:host-gateway');
        expect(envOf(s).LABEL_STUDIO_URL).toBe('http://host.docker.internal:8080');
      }
      const custom = await composeConfig('docker-compose.yml', { LABEL_STUDIO_URL: 'https://label.example.org', LABEL_STUDIO_API_KEY: 'k', API_2_PORT: '9191' });
      for (const s of Object.values(custom.services).filter(isBackend)) {
        expect(envOf(s).LABEL_STUDIO_URL).toBe('https://label.example.org');
        expect(envOf(s).LABEL_STUDIO_API_KEY).toBe('k');
      }
      expect(custom.services['api-2']!.ports![0]!.published).toBe(9191);
    });
  });

  describe('docker-compose.label-studio.yml (Label Studio next to the backend)', () => {
    let config: ComposeConfig;
    beforeAll(async () => {
      config = await composeConfig('docker-compose.label-studio.yml', LABEL_STUDIO_SECRETS);
    });

    it("runs Label Studio's own image on 8080 with its data on a named volume", () => {
      const ls = config.services['label-studio']!;
      expect(ls.image).toMatch(/^heartexlabs\/label-studio:/);
      expect(ls.ports?.map((p) => p.target)).toEqual([8080]);
      const data = mountAt(ls, '/label-studio/data');
      expect(data?.type).toBe('volume');
      expect(Object.keys(config.volumes ?? {})).toContain(data!.source);
    });

    it('wires the two by service name: the backend reads Label Studio at http://label-studio:8080 with the token Label Studio is given', () => {
      const ls = envOf(config.services['label-studio']!);
      const backend = config.services['ml-backend']!;
      expect(isBackend(backend)).toBe(true);
      const env = envOf(backend);
      expect(env.LABEL_STUDIO_URL).toBe('http://label-studio:8080');
      expect(env.LABEL_STUDIO_API_KEY).toBe(LABEL_STUDIO_SECRETS.LABEL_STUDIO_API_KEY);
      expect(ls.LABEL_STUDIO_USER_TOKEN).toBe(env.LABEL_STUDIO_API_KEY);
      expect(ls.LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN).toBe('true');
      // Label Studio connects to http://ml-backend:9090: the service name and the port the image listens on.
      expect(loadConfig({ ...IMAGE_ENV, ...env }).port).toBe(9090);
      expect(commandOf(backend)).toEqual(['start']);
    });

    it('refuses to start without an admin password or a token, naming the variable', async () => {
      await expect(composeConfig('docker-compose.label-studio.yml', { LABEL_STUDIO_API_KEY: 'k' })).rejects.toThrow(/LABEL_STUDIO_PASSWORD/);
      await expect(composeConfig('docker-compose.label-studio.yml', { LABEL_STUDIO_PASSWORD: 'p' })).rejects.toThrow(/LABEL_STUDIO_API_KEY/);
    });
  });
});
