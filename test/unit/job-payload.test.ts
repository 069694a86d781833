/**
 * The training job payload is an allowlist of the webhook: every Label Studio field not named is dropped,
 * whatever it holds, and a field of the wrong shape is dropped rather than failing the event.
 */
import { describe, expect, it } from 'vitest';
import { webhookEventSchema, type TrainingAction } from '../../src/labelstudio/payloads.js';
import { trainingPayload } from '../../src/pipeline/job-payload.js';
import { FIXTURE_SECRETS, webhookFixture } from '../fixtures/index.js';

const COUNTERS = [
  'task_number',
  'finished_task_number',
  'total_annotations_number',
  'num_tasks_with_annotations',
  'useful_annotation_number',
  'ground_truth_number',
  'skipped_annotations_number',
  'total_predictions_number',
  'min_annotations_to_start_training',
];

function payloadOf(body: unknown) {
  const event = webhookEventSchema.parse(body);
  return trainingPayload(event, event.action as TrainingAction);
}

describe('trainingPayload', () => {
  it.each(['annotation-created.json', 'annotation-updated.json', 'annotations-created.json', 'annotations-deleted.json', 'start-training.json'])(
    'keeps only listed fields of %s',
    (name) => {
      const payload = payloadOf(webhookFixture(name));
      expect(Object.keys(payload.project).sort()).toEqual(['created_at', 'id', 'label_config', 'title', ...COUNTERS].sort());
      for (const ref of [payload.annotation, payload.annotations, payload.task].flat()) {
        if (ref) expect(Object.keys(ref).every((key) => key === 'id' || key === 'task')).toBe(true);
      }
      const text = JSON.stringify(payload);
      for (const secret of Object.values(FIXTURE_SECRETS)) expect(text).not.toContain(secret);
      expect(text).not.toContain('task_data');
    },
  );

  it('drops unknown and misshapen fields without walking into them', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const body = webhookFixture('start-training.json');
    Object.assign(body.project, { extra: deep, title: { nested: deep } });
    body.extra = deep;
    const payload = payloadOf(body);
    expect(payload.project).not.toHaveProperty('extra');
    expect(payload.project.title).toBeUndefined();
    expect(payload).toEqual({ action: 'START_TRAINING', project: expect.objectContaining({ id: 12, finished_task_number: 3 }) });
  });
});
