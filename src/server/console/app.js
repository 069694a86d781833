// The operator console: reads the backend's JSON endpoints every second and shows projects, versions and
// training jobs. Plain DOM, no build step. Every value comes from the server (a model's error message, a
// project id), so elements are built from text nodes, never innerHTML; a field that is missing is left out
// rather than breaking the page.
import uPlot from './uPlot.esm.js';

const POLL_MS = 1000;
const view = document.getElementById('view');
const live = document.getElementById('live');

// ---------------------------------------------------------------- DOM and formatting helpers

/** `h('td', { class: 'num' }, 'text', childNode, null)`: an element; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const enc = encodeURIComponent;
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** A clock time for today, a date and time before: absolute, so a row that is not re-rendered stays true. */
function when(iso) {
  const t = iso ? new Date(iso) : null;
  if (!t || Number.isNaN(t.getTime())) return iso ?? '';
  const today = t.toDateString() === new Date().toDateString();
  return h('span', { title: t.toLocaleString() }, today ? t.toLocaleTimeString() : t.toLocaleString());
}
const duration = (ms) => (isNum(ms) ? (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`) : '');
const fmt = (v) => (isNum(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A `key: value` list of an object's plain fields (nested ones as JSON). */
function kv(obj) {
  return fields(Object.entries(obj ?? {}).map(([k, v]) => [k, fmt(v)]));
}

/** A definition list of `[label, content, class?]` rows; content may be text or elements. */
function fields(rows) {
  return h('dl', { class: 'kv' }, rows.map(([label, content, cls]) => [h('dt', null, label), h('dd', { class: cls }, content)]));
}

// Replaces a section's content only when its data changed: a table rebuilt every second would eat clicks.
const rendered = new WeakMap();
function patch(el, data, build) {
  const key = JSON.stringify(data);
  if (rendered.get(el) === key) return;
  rendered.set(el, key);
  el.replaceChildren(...[build(data)].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== ''));
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body === 'object' && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const headers = { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) };
  const res = await fetch(path, { ...init, headers });
  const text = await res.text();
  let body = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

// ---------------------------------------------------------------- pieces

function statusBadge(job) {
  // A request folded into a newer job before it ran: that job trains its data.
  if (job.status === 'superseded') return h('span', { class: 'badge superseded', title: job.supersededBy ? `trained by job ${job.supersededBy}` : null }, 'superseded');
  return h('span', { class: `badge ${job.status}` }, job.status ?? '?');
}

function progressCell(job) {
  const p = isNum(job.progress) ? Math.min(1, Math.max(0, job.progress)) : null;
  if (job.status !== 'active' || p === null) return '';
  return [h('progress', { max: 1, value: p, 'aria-label': `training progress of job ${job.id}` }), h('span', { class: 'progress-label' }, `${Math.round(p * 100)}%`)];
}

function syncSummary(sync) {
  if (!sync || typeof sync !== 'object') return '';
  if (sync.status === 'ok') return `synced ${fmt(sync.tasks)} tasks, ${fmt(sync.annotations)} annotations (${fmt(sync.changed)} changed)`;
  if (sync.status === 'skipped') return `sync skipped: ${sync.reason ?? ''}`;
  if (sync.status === 'failed') return `sync failed: ${sync.error ?? ''}`;
  return JSON.stringify(sync);
}

function jobsTable(jobs, { showProject = true } = {}) {
  if (!jobs.length) return h('p', { class: 'empty' }, 'No training jobs yet. Label Studio starts one with Start Training, or when enough annotations change.');
  return h(
    'table',
    { class: 'jobs' },
    h('thead', null, h('tr', null, h('th', null, 'job'), showProject && h('th', null, 'project'), ['status', 'progress', 'trigger', 'created', 'duration', 'version', 'sync', 'error'].map((t) => h('th', null, t)))),
    h(
      'tbody',
      null,
      jobs.map((j) =>
        h(
          'tr',
          { 'data-job': j.id },
          h('td', null, h('a', { href: `#/jobs/${enc(j.id)}`, class: 'mono' }, j.id)),
          showProject && h('td', null, j.projectId !== undefined ? h('a', { href: `#/projects/${enc(j.projectId)}` }, j.projectId) : ''),
          h('td', { class: 'status' }, statusBadge(j)),
          h('td', null, progressCell(j)),
          h('td', { class: 'muted' }, j.event ?? ''),
          h('td', null, when(j.createdAt)),
          h('td', { class: 'num' }, duration(j.durationMs)),
          h('td', { class: 'mono' }, j.version ?? ''),
          h('td', { class: 'muted' }, syncSummary(j.result?.sync ?? j.sync)),
          h('td', { class: 'error' }, j.error ?? ''),
        ),
      ),
    ),
  );
}

const COUNTER_LABELS = {
  task_number: 'tasks',
  finished_task_number: 'finished tasks',
  total_annotations_number: 'annotations',
  total_predictions_number: 'predictions',
  num_tasks_with_annotations: 'annotated tasks',
  useful_annotation_number: 'useful annotations',
  skipped_annotations_number: 'skipped',
  ground_truth_number: 'ground truth',
};
/** The counters the projects table shows; the project's page shows them all. */
const MAIN_COUNTERS = ['task_number', 'finished_task_number', 'total_annotations_number', 'total_predictions_number'];
/** A setting, not a counter: shown as the threshold. */
const SETTINGS = new Set(['min_annotations_to_start_training']);

/** Label Studio's project counters as the last event carried them. */
function counters(p, { all = false } = {}) {
  const ls = p.labelStudio ?? {};
  const known = Object.entries(ls).filter(([k, v]) => v !== null && v !== undefined && !SETTINGS.has(k) && (all || MAIN_COUNTERS.includes(k)));
  if (!known.length) return h('span', { class: 'muted' }, 'no counters from Label Studio yet');
  return fields(known.map(([k, v]) => [COUNTER_LABELS[k] ?? k, fmt(v)]));
}

/** The threshold in force: finished tasks needed (and who set it), then a training every N changes. */
function threshold(p) {
  const t = p.nextTraining;
  if (!t || typeof t !== 'object') return '—';
  const source = t.threshold?.source === 'label_studio' ? "Label Studio's setting" : t.threshold?.source;
  return [
    isNum(t.threshold?.value) ? h('div', null, `${t.threshold.value} finished tasks`, source ? h('span', { class: 'muted' }, ` (${source})`) : '') : null,
    isNum(t.finishedTasks) && isNum(t.threshold?.value)
      ? h('div', { class: 'muted' }, t.finishedTasks >= t.threshold.value ? `reached: ${t.finishedTasks} finished` : `${t.finishedTasks} finished, ${t.threshold.value - t.finishedTasks} to go`)
      : null,
    isNum(t.everyNChanges) ? h('div', null, `then every ${t.everyNChanges} changes`) : null,
  ];
}

function nextTraining(p) {
  const n = p.nextTraining?.changesUntilTraining;
  if (!isNum(n)) return '—';
  return [h('div', null, n <= 0 ? 'on the next annotation change' : `after ${n} more change${n === 1 ? '' : 's'}`), h('div', { class: 'muted' }, 'or when Start Training is clicked')];
}

/** Annotations the served model has not seen, and how long the newest of them has waited. */
function staleness(p) {
  const s = p.staleness;
  if (!s || typeof s !== 'object' || !isNum(s.annotations)) return '—';
  if (s.annotations === 0) return h('span', { class: 'badge ok' }, 'up to date');
  return [
    h('div', null, `${s.annotations} annotation change${s.annotations === 1 ? '' : 's'} not in the served model`),
    isNum(s.seconds) ? h('div', { class: 'muted' }, `newest waiting ${duration(s.seconds * 1000)}`) : null,
  ];
}

function served(p) {
  const version = p.servedVersion;
  return [h('span', { class: 'mono' }, version ?? '—'), p.pinned ? [' ', h('span', { class: 'badge pinned' }, 'pinned')] : null];
}

function projectsTable(projects) {
  if (!projects.length) {
    return h('p', { class: 'empty' }, 'No project yet. Connect this backend in a Label Studio project (Settings → Model); it appears here after its first /setup, prediction or event.');
  }
  return h(
    'table',
    { class: 'projects' },
    h('thead', null, h('tr', null, ['project', 'Label Studio counters', 'threshold in force', 'next training', 'served version', 'staleness', 'last job'].map((t) => h('th', null, t)))),
    h(
      'tbody',
      null,
      projects.map((p) => {
        const id = String(p.projectId);
        const last = p.lastJob ?? p.recentJobs?.[0];
        return h(
          'tr',
          { 'data-project': id },
          h('td', null, h('a', { href: `#/projects/${enc(id)}` }, `Project ${id}`)),
          h('td', null, counters(p)),
          h('td', null, threshold(p)),
          h('td', { class: 'next-training' }, nextTraining(p)),
          h('td', { class: 'served' }, served(p)),
          h('td', { class: 'staleness' }, staleness(p)),
          h('td', null, last ? [statusBadge(last), ' ', h('a', { href: `#/jobs/${enc(last.id)}`, class: 'mono' }, last.id)] : h('span', { class: 'muted' }, 'none')),
        );
      }),
    ),
  );
}

// ---------------------------------------------------------------- chart

const SERIES = [
  { key: 'accuracy', label: 'accuracy', stroke: '#2563eb' },
  { key: 'macroF1', label: 'macro-F1', stroke: '#ea580c' },
];
const PLOTTED = new Set(SERIES.map((s) => s.key));

/** Accuracy and macro-F1 per version, oldest on the left; a version without the metric leaves a gap. */
function chartData(doc) {
  const versions = [...(doc.versions ?? [])].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  const metric = (v, key) => (isNum(v.metrics?.[key]) ? v.metrics[key] : null);
  return {
    labels: versions.map((v) => v.version),
    series: SERIES.map((s) => versions.map((v) => metric(v, s.key))),
  };
}

function drawChart(el, data) {
  el.uplot?.destroy();
  el.uplot = undefined;
  el.dataset.labels = JSON.stringify(data.labels);
  if (!data.series.some((values) => values.some(isNum))) {
    el.replaceChildren(h('p', { class: 'empty' }, "No accuracy or macro-F1 yet: they appear once a training reports them (the built-in models do when they hold out a validation split)."));
    return;
  }
  el.replaceChildren();
  const xs = data.labels.map((_, i) => i);
  const opts = {
    width: Math.max(320, el.clientWidth || 640),
    height: 220,
    // A key of the two series; the values are in the versions table below.
    legend: { live: false },
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)] }, y: { range: [0, 1] } },
    axes: [
      { splits: () => xs, values: (_u, splits) => splits.map((i) => data.labels[i] ?? '') },
      { values: (_u, splits) => splits.map((v) => v.toFixed(1)) },
    ],
    series: [{ label: 'version' }, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true, points: { show: true, size: 9, fill: s.stroke } }))],
  };
  // The instance stays on its element so the browser tests can ask where a version's point was drawn.
  el.uplot = new uPlot(opts, [xs, ...data.series], el);
}

// ---------------------------------------------------------------- views

function overview() {
  const projects = h('div');
  const jobs = h('div');
  view.replaceChildren(h('h1', null, 'Projects'), h('section', { id: 'projects' }, projects), h('h1', null, 'Training jobs'), h('section', { id: 'jobs' }, jobs));
  return async () => {
    const [list, recent] = await Promise.all([api('projects'), api('jobs?limit=50')]);
    patch(projects, list.projects ?? [], projectsTable);
    patch(jobs, recent.jobs ?? [], (js) => jobsTable(js));
  };
}

function projectView(id) {
  const message = h('div');
  const summary = h('div');
  const chart = h('div', { class: 'chart', id: 'chart' });
  const versions = h('div');
  const jobs = h('div');
  view.replaceChildren(
    h('h1', null, h('a', { href: '#/' }, 'Projects'), ` / Project ${id}`),
    message,
    h('section', { id: 'summary' }, summary),
    h('section', null, h('h2', null, 'Accuracy and macro-F1 over versions'), chart),
    h('section', { id: 'versions' }, h('h2', null, 'Versions'), versions),
    h('section', { id: 'project-jobs' }, h('h2', null, 'Training jobs'), jobs),
  );

  async function pin(version) {
    try {
      const doc = await api(`projects/${enc(id)}/model-version`, { method: 'PUT', body: JSON.stringify({ version }) });
      message.replaceChildren(h('div', { class: 'notice' }, version === null ? `Unpinned: serving the newest version, ${doc.current}.` : `Pinned ${doc.current}: predictions now come from it.`));
      await refresh();
    } catch (err) {
      message.replaceChildren(h('div', { class: 'notice error' }, `Could not ${version === null ? 'unpin' : `pin ${version}`}: ${err.message}`));
    }
  }

  const versionsTable = (doc) => {
    if (!doc) return h('p', { class: 'empty' }, 'No versions yet.');
    const rows = (doc.versions ?? []).map((v) => {
      const isCurrent = v.version === doc.current;
      const bad = v.status === 'bad';
      const action = bad ? '' : isCurrent && doc.pinned ? h('button', { onclick: () => pin(null), 'data-unpin': v.version }, 'Unpin') : isCurrent ? '' : h('button', { onclick: () => pin(v.version), 'data-pin': v.version }, 'Pin');
      // The columns show accuracy and macro-F1; the model's other plain metrics fold away.
      const metrics = Object.fromEntries(Object.entries(v.metrics ?? {}).filter(([k, m]) => !PLOTTED.has(k) && (m === null || typeof m !== 'object')));
      return h(
        'tr',
        { 'data-version': v.version },
        h('td', { class: 'mono' }, v.version),
        h('td', null, isCurrent ? h('span', { class: 'badge served' }, 'served') : '', isCurrent && doc.pinned ? [' ', h('span', { class: 'badge pinned' }, 'pinned')] : '', bad ? h('span', { class: 'badge bad', title: v.error ?? '' }, 'bad') : ''),
        h('td', null, when(v.createdAt)),
        h('td', { class: 'num' }, fmt(v.metrics?.accuracy)),
        h('td', { class: 'num' }, fmt(v.metrics?.macroF1)),
        h('td', null, Object.keys(metrics).length ? h('details', null, h('summary', null, `${Object.keys(metrics).length} more`), kv(metrics)) : ''),
        h('td', null, v.jobId ? h('a', { href: `#/jobs/${enc(v.jobId)}`, class: 'mono' }, v.jobId) : ''),
        h('td', null, action),
      );
    });
    return [
      h('p', { class: 'muted' }, doc.pinned ? `Pinned to ${doc.current}: new trainings add versions but do not change what is served until you unpin.` : 'Following the newest version: each training that publishes one is served at once. Pin a version to roll back.'),
      h('table', null, h('thead', null, h('tr', null, ['version', '', 'created', 'accuracy', 'macro-F1', 'metrics', 'job', ''].map((t) => h('th', null, t)))), h('tbody', null, rows)),
    ];
  };

  let chartKey = '';
  async function refresh() {
    const [stats, doc] = await Promise.all([api(`projects/${enc(id)}/stats`).catch(notFoundAsNull), api(`projects/${enc(id)}/versions`).catch(notFoundAsNull)]);
    if (!stats && !doc) {
      patch(summary, null, () => h('p', { class: 'empty' }, `This backend knows no project ${id}.`));
      return;
    }
    const p = { ...(stats ?? {}), pinned: doc?.pinned };
    patch(summary, p, () =>
      h(
        'div',
        { class: 'cards' },
        h('div', null, h('h2', null, 'Label Studio'), counters(p, { all: true })),
        h('div', null, h('h2', null, 'Training'), fields([['threshold in force', threshold(p)], ['next training', nextTraining(p), 'next-training']])),
        h('div', null, h('h2', null, 'Served model'), fields([['version', served(p), 'served'], ['staleness', staleness(p), 'staleness']])),
      ),
    );
    patch(versions, doc, versionsTable);
    const data = doc ? chartData(doc) : { labels: [], series: [] };
    const key = JSON.stringify(data);
    if (key !== chartKey) {
      chartKey = key;
      drawChart(chart, data);
    }
    patch(jobs, (await api(`jobs?project=${enc(id)}&limit=20`)).jobs ?? [], (js) => jobsTable(js, { showProject: false }));
  }
  return refresh;
}

function jobView(id) {
  const body = h('div');
  view.replaceChildren(h('h1', null, h('a', { href: '#/' }, 'Jobs'), ` / Job ${id}`), h('section', { id: 'job' }, body));
  return async () => {
    const job = await api(`jobs/${enc(id)}`).catch(notFoundAsNull);
    patch(body, job, (j) => {
      if (!j) return h('p', { class: 'empty' }, `No training job ${id}.`);
      const project = j.projectId !== undefined ? h('a', { href: `#/projects/${enc(j.projectId)}` }, `Project ${j.projectId}`) : '—';
      const superseded = j.supersededBy;
      const metrics = j.result?.metrics;
      return [
        h('p', null, statusBadge(j), ' ', progressCell(j)),
        j.error ? h('div', { class: 'notice error' }, j.error) : null,
        fields([
          ['project', project],
          ['trigger', j.event ?? '—'],
          superseded ? ['trained by', h('a', { href: `#/jobs/${enc(superseded)}`, class: 'mono' }, superseded)] : null,
          ['created', when(j.createdAt) || '—'],
          ['started', when(j.startedAt) || '—'],
          ['finished', when(j.finishedAt) || '—'],
          ['duration', duration(j.durationMs) || '—'],
          ['attempts', fmt(j.attempts)],
          ['version', j.version ? h('span', { class: 'mono' }, j.version) : '—'],
        ].filter(Boolean)),
        j.result?.sync ? [h('h2', null, 'Sync from Label Studio'), h('p', null, syncSummary(j.result.sync))] : null,
        metrics && typeof metrics === 'object' ? [h('h2', null, 'Metrics'), kv(metrics)] : null,
        h('details', null, h('summary', null, 'the job record as JSON'), h('pre', null, JSON.stringify(j, null, 2))),
      ];
    });
  };
}

function notFoundAsNull(err) {
  if (err.status === 404) return null;
  throw err;
}

// ---------------------------------------------------------------- routing and polling

let refresh = async () => {};
let busy = false;

function route() {
  const [, kind, id] = /^#\/(projects|jobs)\/(.+)$/.exec(location.hash) ?? [];
  const target = id === undefined ? null : decodeURIComponent(id);
  refresh = kind === 'projects' ? projectView(target) : kind === 'jobs' ? jobView(target) : overview();
  tick();
}

async function tick() {
  if (busy || document.hidden) return;
  busy = true;
  try {
    await refresh();
    live.className = 'muted';
    live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    live.className = 'error';
    live.textContent = `cannot reach the backend: ${err.message}`;
  } finally {
    busy = false;
  }
}

async function header() {
  const health = await api('health').catch(() => null);
  if (health?.model_class) document.getElementById('model-class').textContent = `model ${health.model_class}`;
  // The queue dashboard exists in Redis mode only.
  const queues = await fetch('admin/queues', { headers: { accept: 'text/html' } }).catch(() => null);
  if (queues?.ok) document.getElementById('queues-link').hidden = false;
}

window.addEventListener('hashchange', route);
window.addEventListener('resize', () => {
  for (const el of document.querySelectorAll('.chart')) el.uplot?.setSize({ width: Math.max(320, el.clientWidth), height: 220 });
});
setInterval(tick, POLL_MS);
route();
header();
