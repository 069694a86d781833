/**
 * `pathDeeperThan`: the request-body depth check. Exact at the limit, names the path where the limit is
 * crossed, and survives depths that overflow any recursive walk. Also the JSON_MAX_DEPTH setting's bounds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, MAX_JSON_DEPTH } from '../../src/config.js';
import { pathDeeperThan } from '../../src/util/json.js';

/** `levels` containers, alternating object and array, innermost holding a number. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 ? { k: value } : [value];
  return value;
}

function depthOf(value: unknown): number {
  // Test oracle only: recursion is fine at fixture depths.
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

describe('pathDeeperThan', () => {
  it('accepts primitives and a body exactly at the limit, refuses one level more', () => {
    for (const value of [null, 1, 'x', true, undefined]) expect(pathDeeperThan(value, 1)).toBeUndefined();
    expect(pathDeeperThan({}, 1)).toBeUndefined();
    expect(pathDeeperThan(nested(64), 64)).toBeUndefined();
    expect(pathDeeperThan(nested(65), 64)).toHaveLength(64);
  });

  it('names the path to the first container beyond the limit, keys and indices', () => {
    const body = { tasks: [{ id: 1, data: { text: 'a' } }, { id: 2, data: { text: { a: [{}] } } }], project: '1' };
    expect(pathDeeperThan(body, 7)).toBeUndefined();
    expect(pathDeeperThan(body, 6)).toEqual(['tasks', 1, 'data', 'text', 'a', 0]);
    expect(pathDeeperThan(body, 5)).toEqual(['tasks', 1, 'data', 'text', 'a']);
    expect(pathDeeperThan(body, 3)).toEqual(['tasks', 0, 'data']);
  });

  it('looks past shallow siblings and empty containers', () => {
    const body = { a: [1, [], {}, 'x'], b: { c: null }, d: [[], [[[]]]] };
    expect(pathDeeperThan(body, 5)).toBeUndefined();
    expect(pathDeeperThan(body, 4)).toEqual(['d', 1, 0, 0]);
    expect(pathDeeperThan(body, 2)).toEqual(['a', 1]);
  });

  it('agrees with a recursive oracle on 500 random bodies, and its path leads to a container that deep', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const build = (depthLeft: number): unknown => {
      if (depthLeft === 0 || random() < 0.25) return random() < 0.5 ? 'leaf' : null;
      const children = Array.from({ length: Math.floor(random() * 4) }, () => build(depthLeft - 1));
      return random() < 0.5 ? children : Object.fromEntries(children.map((c, i) => [`k${i}`, c]));
    };
    for (let i = 0; i < 500; i++) {
      const body = build(12);
      const depth = depthOf(body);
      for (const limit of [1, 3, 6, 12]) {
        const path = pathDeeperThan(body, limit);
        expect(path === undefined, JSON.stringify(body)).toBe(depth <= limit);
        if (!path) continue;
        expect(path).toHaveLength(limit);
        const reached = path.reduce<any>((node, key) => node[key], body);
        expect(reached !== null && typeof reached === 'object').toBe(true);
      }
    }
  });

  it('walks a "__proto__" key as the data it is', () => {
    const body = JSON.parse('{"__proto__": {"x": {"y": {}}}}');
    expect(pathDeeperThan(body, 3)).toEqual(['__proto__', 'x', 'y']);
  });

  it('handles 200,000 levels without overflowing the stack', () => {
    // JSON.parse builds this without recursion; a recursive check would throw RangeError.
    const raw = '{"a":'.repeat(100_000) + '['.repeat(100_000) + ']'.repeat(100_000) + '}'.repeat(100_000);
    const path = pathDeeperThan(JSON.parse(raw), 64);
    expect(path).toHaveLength(64);
    expect(path!.every((key) => key === 'a')).toBe(true);
  });

  it('passes every Label Studio fixture at a small fraction of the default limit', () => {
    const dir = new URL('../fixtures/labelstudio/', import.meta.url).pathname;
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(10);
    const deepest = Math.max(...files.map((f) => depthOf(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))));
    expect(deepest).toBeLessThanOrEqual(8);
    expect(loadConfig({}).jsonMaxDepth).toBeGreaterThanOrEqual(deepest * 8);
    for (const f of files) expect(pathDeeperThan(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), deepest), f).toBeUndefined();
  });
});

describe('JSON_MAX_DEPTH', () => {
  it('defaults to 64 and accepts values up to its cap', () => {
    expect(loadConfig({}).jsonMaxDepth).toBe(64);
    expect(loadConfig({ JSON_MAX_DEPTH: String(MAX_JSON_DEPTH) }).jsonMaxDepth).toBe(MAX_JSON_DEPTH);
  });

  it.each(['0', '4', String(MAX_JSON_DEPTH + 1), '100000', 'deep'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ JSON_MAX_DEPTH: value })).toThrow(/JSON_MAX_DEPTH/);
  });
});
