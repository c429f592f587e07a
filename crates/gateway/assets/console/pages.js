// The other pages: all actions (catalog browser), recent actions, 24 h metrics, bulk jobs, audit,
// library, enrichment.
'use strict';

// --- all actions: the catalog by product, with search and a form for any action ---------------

R.pages.catalog = async (main, [product, action]) => {
  const search = h('input', { id: 'catalog-search', type: 'search', placeholder: 'isolate, indicator, user…', 'aria-describedby': 'catalog-hint' });
  const list = h('div', {});
  const detail = h('div', { id: 'catalog-detail' });
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const groups = {};
    for (const a of R.catalog) {
      const text = `${a.product} ${a.name} ${a.summary} ${(a.aliases || []).join(' ')}`.toLowerCase();
      if (q && !text.includes(q)) continue;
      (groups[a.product] = groups[a.product] || []).push(a);
    }
    list.replaceChildren(...Object.entries(groups).map(([p, actions]) => h('details', { open: q !== '' || p === product },
      h('summary', {}, `${p} (${actions.length})`),
      h('ul', {}, actions.map((a) => h('li', {},
        h('a', { href: `#/catalog/${a.product}/${a.name}` }, a.name), riskTag(a.risk),
        a.status === 'supported' ? '' : h('span', { class: 'muted' }, ' (not supported)'),
        h('span', { class: 'muted' }, ` — ${a.summary}`)))))));
  };
  search.addEventListener('input', render);
  render();
  if (product && action) {
    const s = spec(product, action);
    if (s) {
      const body = s.status !== 'supported'
        ? h('p', { class: 'error-inline' }, `Not supported: ${s.reason}${s.nearest ? ` — the nearest real action is ${s.nearest}` : ''}`)
        : mayRun(s.risk) ? actionForm(s, {}) : h('p', { class: 'muted' }, `Your role (${R.me.role}) may not run ${s.risk} actions.`);
      detail.replaceChildren(h('section', { class: 'card' }, h('h2', {}, `${s.product} / ${s.name}`, riskTag(s.risk)),
        h('p', {}, s.summary), h('p', { class: 'hint' }, `Permission: ${s.permission}${s.inverse ? ` · undone by ${s.inverse}` : ''}`), body));
    }
  }
  main.replaceChildren(h('h2', {}, 'All actions'), detail,
    h('label', { for: 'catalog-search' }, 'Search'), search,
    h('p', { class: 'hint', id: 'catalog-hint' }, `${R.catalog.length} actions, grouped by product.`), list);
};

// --- recent actions (seed 002's table), live ---------------------------------------------------

R.pages.recent = async (main) => {
  const type = h('select', { id: 'recent-type' }, ['', 'isolate', 'block-ip', 'disable-user', 'quarantine-email', 'other'].map((t) => h('option', { value: t }, t || 'all types')));
  const out = h('div', { id: 'recent-table', 'aria-live': 'polite' });
  const load = async () => {
    try {
      const rows = await recentActions('24h', 200);
      const shown = rows.filter((r) => !type.value || r.type === type.value);
      out.replaceChildren(actionsTable(shown));
    } catch (e) { showError(e, out); }
  };
  type.addEventListener('change', load);
  main.replaceChildren(h('h2', {}, 'Recent actions'), h('div', { class: 'row' }, h('div', {}, h('label', { for: 'recent-type' }, 'Type'), type)),
    h('p', { class: 'hint' }, 'From the audit log; refreshes every 5 seconds.'), out);
  await load();
  every(5000, load);
};

/** Recent response actions of the switcher's tenant (or all), from `/api/v1/mdr/actions`. */
async function recentActions(since, limit) {
  const t = R.tenant();
  const tenants = t && t !== 'all' ? [t] : (R.me.scoped ? R.me.tenants.map((x) => x.tenant_id) : [null]);
  const rows = [];
  for (const tenant of tenants) {
    const q = `since=${since}&limit=${limit}${tenant ? `&tenant_id=${encodeURIComponent(tenant)}` : ''}`;
    rows.push(...(await api('GET', `/api/v1/mdr/actions?${q}`)).data.actions);
  }
  return rows.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
}

function actionsTable(rows) {
  return table([
    { key: 'requestedAt', label: 'When', render: (r) => r.requestedAt.replace('T', ' ').slice(0, 19) },
    { key: 'who', label: 'Who' },
    { key: 'type', label: 'Type' },
    { key: 'action', label: 'Action', render: (r) => h('a', { href: `#/op/${r.operationId}` }, `${r.product} / ${r.action}`) },
    { key: 'tenant_id', label: 'Tenant', render: (r) => tenantName(r.tenant_id) },
    { key: 'target', label: 'Target' },
    { key: 'status', label: 'Status', render: (r) => statusBadge(r.status) },
  ], rows);
}

// --- response metrics, 24 h, in plain SVG -------------------------------------------------------

R.pages.metrics = async (main) => {
  const [rows, status] = await Promise.all([recentActions('24h', 1000), api('GET', '/api/v1/mdr/status').then((r) => r.data)]);
  const done = rows.filter((r) => ['Succeeded', 'PartiallySucceeded', 'Failed'].includes(r.status));
  const durations = done.map((r) => r.durationMs).sort((a, b) => a - b);
  const pct = (p) => durations.length ? durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] : 0;
  const throttledTenants = Object.values(status.integrations).flatMap((i) => i.tenants).filter((t) => t.throttled).length;
  const throttledActions = rows.filter((r) => ['Throttled', 'NotAdmitted'].includes(r.status)).length;
  const kpis = h('div', { class: 'kpis', id: 'kpis' },
    kpi('Actions (24 h)', rows.length, 'kpi-actions'),
    kpi('Succeeded', rows.filter((r) => r.status === 'Succeeded').length, 'kpi-succeeded'),
    kpi('Failed', rows.filter((r) => r.status === 'Failed').length, 'kpi-failed'),
    kpi('Median time to completion', `${(pct(0.5) / 1000).toFixed(1)} s`, 'kpi-p50'),
    kpi('90th percentile', `${(pct(0.9) / 1000).toFixed(1)} s`, 'kpi-p90'),
    kpi('Throttling', `${throttledTenants} tenant·APIs now, ${throttledActions} actions`, 'kpi-throttling'));
  // By type and outcome.
  const byType = {};
  for (const r of rows) {
    const t = (byType[r.type] = byType[r.type] || { ok: 0, fail: 0, other: 0 });
    if (r.status === 'Succeeded') t.ok++; else if (r.status === 'Failed') t.fail++; else t.other++;
  }
  // Over time: hourly buckets over the last 24 h.
  const now = Date.now();
  const hours = Array.from({ length: 24 }, () => 0);
  for (const r of rows) {
    const age = Math.floor((now - Date.parse(r.requestedAt)) / 3600000);
    if (age >= 0 && age < 24) hours[23 - age]++;
  }
  const targets = {};
  for (const r of rows) if (r.target) targets[r.target] = (targets[r.target] || 0) + 1;
  const top = Object.entries(targets).sort((a, b) => b[1] - a[1]).slice(0, 10);
  main.replaceChildren(h('h2', {}, 'Response metrics, last 24 hours'), kpis,
    h('section', { class: 'card' }, h('h3', {}, 'Actions by type and outcome'), typeChart(byType)),
    h('section', { class: 'card' }, h('h3', {}, 'Actions per hour'), hourChart(hours)),
    h('section', { class: 'card' }, h('h3', {}, 'Top targets'),
      top.length ? table([{ key: 0, label: 'Target' }, { key: 1, label: 'Actions' }], top) : h('p', { class: 'muted' }, 'No actions yet.')));
};

function kpi(label, value, id) { return h('div', { class: 'kpi', id }, h('span', { class: 'muted' }, label), h('b', {}, String(value))); }

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Horizontal stacked bars: succeeded, failed, other per MDR type. */
function typeChart(byType) {
  const entries = Object.entries(byType);
  if (!entries.length) return h('p', { class: 'muted' }, 'No actions yet.');
  const max = Math.max(...entries.map(([, v]) => v.ok + v.fail + v.other));
  const width = 640, left = 130, row = 26;
  const svg = s('svg', { width: '100%', viewBox: `0 0 ${width} ${entries.length * row + 24}`, role: 'img', 'aria-label': 'Actions by type and outcome' });
  entries.forEach(([type, v], i) => {
    const y = i * row + 4, scale = (width - left - 190) / max;
    svg.append(s('text', { x: 0, y: y + 14 }, type));
    let x = left;
    for (const [n, cls, what] of [[v.ok, 'bar', 'succeeded'], [v.fail, 'bar fail', 'failed'], [v.other, 'bar other', 'other']]) {
      if (!n) continue;
      svg.append(s('rect', { class: cls, x, y, width: n * scale, height: row - 8 }, s('title', {}, `${type}: ${n} ${what}`)));
      x += n * scale;
    }
    svg.append(s('text', { x: x + 6, y: y + 14 }, `${v.ok} ok · ${v.fail} failed · ${v.other} other`));
  });
  svg.append(s('text', { x: left, y: entries.length * row + 18 }, 'blue: succeeded · red: failed · amber: in progress or other'));
  return svg;
}

/** Vertical bars per hour, oldest left. */
function hourChart(hours) {
  const max = Math.max(1, ...hours);
  const width = 560, height = 140, bw = width / 24;
  const svg = s('svg', { width: '100%', viewBox: `0 0 ${width} ${height + 20}`, role: 'img', 'aria-label': 'Actions per hour over the last 24 hours' });
  svg.append(s('line', { class: 'axis', x1: 0, y1: height, x2: width, y2: height }));
  hours.forEach((n, i) => {
    const bh = (n / max) * (height - 16);
    svg.append(s('rect', { class: 'bar', x: i * bw + 2, y: height - bh, width: bw - 4, height: bh }, s('title', {}, `${23 - i} h ago: ${n}`)));
    if (n) svg.append(s('text', { x: i * bw + 4, y: height - bh - 3 }, n));
  });
  svg.append(s('text', { x: 0, y: height + 15 }, '24 h ago'), s('text', { x: width - 30, y: height + 15 }, 'now'));
  return svg;
}

// --- bulk jobs ----------------------------------------------------------------------------------

R.pages.jobs = async (main) => {
  const out = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(h('h2', {}, 'Bulk jobs'), out);
  const load = async () => {
    try {
      const { data } = await api('GET', '/v1/jobs');
      const jobs = data.jobs || data.items || [];
      if (!jobs.length) { out.replaceChildren(h('p', { class: 'muted' }, 'No bulk jobs.')); return; }
      out.replaceChildren(...jobs.map(renderJob));
    } catch (e) { showError(e, out); }
  };
  await load();
  every(3000, load);
};

function renderJob(job) {
  const verbs = [['pause', 'Pause'], ['resume', 'Resume'], ['cancel', 'Cancel'], ['retry-failed', 'Retry failed'], ['undo', 'Undo']];
  const result = h('div', {});
  const states = Object.keys(job.counts || {});
  const perTenant = Object.entries(job.tenants || {}).map(([tenant, counts]) => Object.assign({ tenant: tenantName(tenant) }, counts));
  const done = (job.counts.Succeeded || 0) + (job.counts.Failed || 0) + (job.counts.Cancelled || 0);
  return h('section', { class: 'card job', dataset: { job: job.id } },
    h('h3', {}, `${job.name || `${job.product} / ${job.action}`} `, statusBadge(job.state)),
    h('p', {}, h('progress', { max: job.total, value: done, 'aria-label': 'items done' }), ` ${done} of ${job.total} items`,
      job.throughput_per_second ? ` · ${job.throughput_per_second.toFixed(1)}/s` : '', job.eta_seconds ? ` · ETA ${Math.round(job.eta_seconds)} s` : ''),
    h('p', { class: 'hint' }, `job ${job.id} by ${job.principal}${job.undo_of ? ` · undoes ${job.undo_of}` : ''}`),
    perTenant.length ? table([{ key: 'tenant', label: 'Tenant' }].concat(states.map((k) => ({ key: k, label: k }))), perTenant) : null,
    h('div', { class: 'row' }, verbs.map(([verb, label]) => h('button', {
      type: 'button', class: 'secondary',
      onclick: async () => {
        try { await api('POST', `/v1/jobs/${encodeURIComponent(job.id)}/${verb}`, {}); notify(`${label}: done`, 'info'); }
        catch (e) { showError(e, result); }
      },
    }, label))), result);
}

// --- audit search with chain verification -------------------------------------------------------

R.pages.audit = async (main) => {
  const tenant = tenantSelect('audit-tenant', currentTenant(), !R.me.scoped);
  const action = h('input', { id: 'audit-action', placeholder: 'IsolateDevice' });
  const since = h('input', { id: 'audit-since', placeholder: '2026-12-01T00:00:00Z' });
  const chain = h('p', { id: 'audit-chain', 'aria-live': 'polite' }, 'Verifying the chain…');
  const out = h('div', {});
  const form = h('form', { class: 'row' },
    h('div', {}, h('label', { for: 'audit-tenant' }, 'Tenant'), tenant),
    h('div', {}, h('label', { for: 'audit-action' }, 'Action'), action),
    h('div', {}, h('label', { for: 'audit-since' }, 'Since (RFC 3339)'), since),
    h('div', {}, h('button', { type: 'submit' }, 'Search')));
  const load = async () => {
    const q = new URLSearchParams({ limit: '500' });
    if (tenant.value && tenant.value !== 'all') q.set('tenant', tenant.value);
    if (action.value.trim()) q.set('action', action.value.trim());
    if (since.value.trim()) q.set('since', since.value.trim());
    try {
      const { data } = await api('GET', `/v1/audit?${q}`);
      out.replaceChildren(h('p', {}, `${data.count} records`), table([
        { key: 'seq', label: '#' }, { key: 'at', label: 'When' }, { key: 'principal', label: 'Who' },
        { key: 'tenant', label: 'Tenant', render: (r) => r.tenant ? tenantName(r.tenant) : '' },
        { key: 'action', label: 'Action' }, { key: 'kind', label: 'Kind' }, { key: 'outcome', label: 'Outcome' },
        { key: 'operation_id', label: 'Operation', render: (r) => r.operation_id ? h('a', { href: `#/op/${r.operation_id}` }, r.operation_id.slice(0, 8)) : '' },
      ], [...data.records].reverse()));
    } catch (e) { showError(e, out); }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  main.replaceChildren(h('h2', {}, 'Audit'), chain, form, out);
  api('GET', '/v1/audit/verify').then(({ data }) => {
    chain.replaceChildren(h('span', { class: `status status-${data.ok ? 'Succeeded' : 'Failed'}` },
      data.ok ? `Chain verified: ${data.rows} records, no problem found.` : `Chain BROKEN: ${data.problems.join('; ')}`));
  }).catch((e) => showError(e, chain));
  await load();
};

// --- library: upload, list, delete scripts ------------------------------------------------------

R.pages.library = async (main) => {
  const tenant = tenantSelect('library-tenant', currentTenant(), false);
  const file = h('input', { id: 'library-file', type: 'file' });
  const out = h('div', {});
  const msg = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const { data } = await api('GET', `/v1/library?tenant=${encodeURIComponent(tenant.value)}`);
      const files = data.files || data.items || [];
      out.replaceChildren(files.length ? table([
        { key: 'fileName', label: 'Name', render: (f) => f.fileName || f.name },
        { key: 'size', label: 'Bytes' }, { key: 'sha256', label: 'SHA-256', render: (f) => (f.sha256 || '').slice(0, 16) },
        { key: 'uploadedBy', label: 'Uploaded by', render: (f) => f.uploadedBy || f.uploader || '' },
      ], files, { extra: { label: 'Delete', render: (f) => h('button', { type: 'button', class: 'secondary', onclick: () => remove(f.fileName || f.name) }, 'Delete') } })
        : h('p', { class: 'muted' }, 'No files in this tenant\'s library.'));
    } catch (e) { showError(e, out); }
  };
  const remove = async (name) => {
    if (!confirm(`Delete ${name} from the library?`)) return;
    try { await api('DELETE', `/v1/library/${encodeURIComponent(name)}?tenant=${encodeURIComponent(tenant.value)}`); notify(`${name} deleted`, 'info'); load(); }
    catch (e) { showError(e, msg); }
  };
  const form = h('form', { class: 'row' }, h('div', {}, h('label', { for: 'library-tenant' }, 'Tenant'), tenant),
    h('div', {}, h('label', { for: 'library-file' }, 'Script or file'), file), h('div', {}, h('button', { type: 'submit' }, 'Upload')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) { showError(new Error('Choose a file first.'), msg); return; }
    try {
      await api('POST', `/v1/library?tenant=${encodeURIComponent(tenant.value)}&fileName=${encodeURIComponent(f.name)}`, f);
      notify(`${f.name} uploaded`, 'info'); load();
    } catch (err) { showError(err, msg); }
  });
  tenant.addEventListener('change', load);
  main.replaceChildren(h('h2', {}, 'Live-response library'), h('section', { class: 'card' }, form, msg), out);
  await load();
};

// --- enrichment ---------------------------------------------------------------------------------

R.pages.enrichment = async (main) => {
  const status = h('div', {});
  const hash = h('input', { id: 'enrich-hash', placeholder: 'SHA-256, SHA-1 or MD5' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'row' }, h('div', {}, h('label', { for: 'enrich-hash' }, 'Look up a hash'), hash), h('div', {}, h('button', { type: 'submit' }, 'Look up')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const { data } = await api('GET', `/v1/enrichment/lookups?hash=${encodeURIComponent(hash.value.trim())}`);
      out.replaceChildren(h('pre', {}, JSON.stringify(data, null, 2)));
    } catch (err) { showError(err, out); }
  });
  main.replaceChildren(h('h2', {}, 'Enrichment'), h('section', { class: 'card' }, h('h3', {}, 'Scanner status'), status), h('section', { class: 'card' }, form, out));
  try {
    const { data } = await api('GET', '/v1/enrichment/status');
    status.replaceChildren(h('pre', {}, JSON.stringify(data, null, 2)));
  } catch (e) { showError(e, status); }
};
