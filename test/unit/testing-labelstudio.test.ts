/**
 * The test kit's Label Studio payload builders produce what Label Studio sends: the same keys as the
 * recorded shapes in test/fixtures/labelstudio/, the same parsed label config, a uid built the same way,
 * and bodies the server's own request schemas accept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { predictRequestSchema, setupRequestSchema, webhookEventSchema } from '../../src/labelstudio/payloads.js';
import { labelStudio, projectUid } from '../../src/testing/index.js';
import { fixture, PROJECT_UID, webhookFixture } from '../fixtures/index.js';

const CONFIG: string = fixture('setup.json').schema;
const keys = (value: unknown) => Object.keys(value as object).sort();

describe('labelStudio payload builders', () => {
  const project = labelStudio.project({ id: 12, labelConfig: CONFIG });
  const task = labelStudio.task({ id: 101, data: { text: 'I love this product' }, project: 12 });
  const annotation = labelStudio.annotation({
    id: 17,
    taskId: 101,
    result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }],
  });

  it('a project has every field and counter Label Studio sends, and the config parsed as Label Studio parses it', () => {
    const recorded = fixture('project.json');
    expect(keys(project)).toEqual(keys(recorded));
    expect(project.parsed_label_config).toEqual(recorded.parsed_label_config);
    expect(project.data_types).toEqual(recorded.data_types);
    expect(project.control_weights).toEqual(recorded.control_weights);
    expect(projectUid(project)).toBe(PROJECT_UID);
  });

  it('tasks, annotations and annotation events have the recorded keys', () => {
    const recorded = webhookFixture('annotation-created.json');
    const event = labelStudio.annotationCreated({ project, task, annotation });
    expect(keys(event)).toEqual(keys(recorded));
    expect(keys(event.task)).toEqual(keys(recorded.task));
    expect(keys(event.annotation)).toEqual(keys(recorded.annotation));
    expect(event).toMatchObject({ action: 'ANNOTATION_CREATED', annotation: { task: 101, project: 12 }, task: { id: 101, project: 12 } });
    expect(labelStudio.annotationUpdated({ project, task, annotation }).action).toBe('ANNOTATION_UPDATED');
  });

  it('bulk, deletion, training and project events have the recorded keys', () => {
    const bulk = labelStudio.annotationsCreated({ project, tasks: [task], annotations: [annotation] });
    const recordedBulk = webhookFixture('annotations-created.json');
    expect(keys(bulk)).toEqual(keys(recordedBulk));
    expect(keys(bulk.annotation[0])).toEqual(keys(recordedBulk.annotation[0]));
    expect(bulk.annotation[0]!.bulk_created).toBe(true);
    expect(labelStudio.annotationsDeleted({ project, ids: [19] })).toMatchObject({ ...webhookFixture('annotations-deleted.json'), project });
    expect(keys(labelStudio.tasksDeleted({ project, ids: [104, 106] }))).toEqual(keys(webhookFixture('tasks-deleted.json')));
    expect(keys(labelStudio.startTraining({ project }))).toEqual(keys(webhookFixture('start-training.json')));
    expect(keys(labelStudio.projectUpdated({ project }))).toEqual(keys(webhookFixture('project-updated.json')));
  });

  it('/setup and /predict bodies have the recorded keys and carry the project uid', () => {
    const setup = labelStudio.setupRequest({ project, extraParams: '{"threshold": 0.5}' });
    expect(keys(setup)).toEqual(keys(fixture('setup.json')));
    expect(setup).toMatchObject({ project: PROJECT_UID, schema: CONFIG, extra_params: '{"threshold": 0.5}' });

    const recorded = fixture('predict-batch.json');
    const predict = labelStudio.predictRequest({ project, tasks: [{ id: 201, data: { text: 'Positive all round' } }] });
    expect(keys(predict)).toEqual(keys(recorded));
    expect(keys(predict.tasks[0])).toEqual(keys(recorded.tasks[0]));
    expect(predict.params).toEqual(recorded.params);
    expect(predict).toMatchObject({ project: PROJECT_UID, label_config: CONFIG, tasks: [{ id: 201, project: 12, annotations: [], predictions: [] }] });

    const interactive = labelStudio.predictRequest({ project, tasks: [task], context: { result: annotation.result } });
    expect(interactive.params.context).toEqual({ result: annotation.result });
    expect(interactive.tasks[0]).toMatchObject({ id: 101, data: task.data, created_at: task.created_at });
  });

  it("every body passes the server's own request schemas", () => {
    const events = [
      labelStudio.annotationCreated({ project, task, annotation }),
      labelStudio.annotationUpdated({ project, task, annotation }),
      labelStudio.annotationsCreated({ project, tasks: [task], annotations: [annotation] }),
      labelStudio.annotationsDeleted({ project, ids: [17] }),
      labelStudio.tasksDeleted({ project, ids: [101] }),
      labelStudio.projectUpdated({ project }),
      labelStudio.startTraining({ project }),
    ];
    for (const event of events) expect(webhookEventSchema.safeParse(event).success, event.action).toBe(true);
    expect(setupRequestSchema.safeParse(labelStudio.setupRequest({ project })).success).toBe(true);
    expect(predictRequestSchema.safeParse(labelStudio.predictRequest({ project, tasks: [task] })).success).toBe(true);
  });

  it("writes times as Label Studio does (microseconds), each later than the one before", () => {
    const first = labelStudio.annotation({ taskId: 1, result: [] });
    const second = labelStudio.annotation({ taskId: 1, result: [] });
    expect(first.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(second.updated_at > first.updated_at).toBe(true);
    expect(second.id).not.toBe(first.id);
    expect(first.result_count).toBe(0);
  });

  it('takes any field as an override, and a config it cannot parse gives an empty parsed config', () => {
    const custom = labelStudio.project({ id: 3, labelConfig: '<View', createdAt: '2024-06-10T12:20:13.123456Z', finished_task_number: 12 });
    expect(custom).toMatchObject({ id: 3, finished_task_number: 12, parsed_label_config: {}, label_config: '<View' });
    expect(projectUid(custom)).toBe('3.1718022013');
    expect(labelStudio.annotation({ taskId: 5, result: [], was_cancelled: true }).was_cancelled).toBe(true);
  });
});

describe('the test kit module graph', () => {
  it('reaches neither vitest nor anything under test/, so any test framework can use it', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (!spec!.startsWith('.')) packages.add(spec!.split('/')[0]!);
        else visit(path.resolve(path.dirname(file), spec!.replace(/\.js$/, '.ts')));
      }
    };
    visit(path.join(root, 'src/testing/index.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].filter((f) => !path.relative(root, f).startsWith('src' + path.sep))).toEqual([]);
    expect(packages).not.toContain('vitest');
  });
});
