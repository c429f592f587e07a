// Hunting: a KQL editor with the saved queries, run across tenants (POST /v1/hunt), results as a
// sortable table with CSV export, and a "respond" menu on each row's device or user that opens
// the matching action card pre-filled (seed 004's "investigate, then respond").
'use strict';

/** Columns that name a device (MDE machine id or DNS name) or a user, most precise first. */
const DEVICE_COLUMNS = ['DeviceId', 'DeviceName', 'MachineId', 'ComputerName'];
const USER_COLUMNS = ['AccountUpn', 'UserPrincipalName', 'AccountUPN', 'InitiatingProcessAccountUpn', 'RecipientEmailAddress'];

R.pages.hunt = async (main) => {
  const queries = (await api('GET', '/v1/queries')).data.queries;
  const editor = h('textarea', { id: 'kql', class: 'kql', 'aria-describedby': 'kql-hint', spellcheck: 'false' },
    'DeviceInfo\n| summarize arg_max(Timestamp, *) by DeviceId\n| project DeviceId, DeviceName, OSPlatform\n| take 20');
  const saved = h('select', { id: 'saved' }, h('option', { value: '' }, '(write a query)'),
    queries.map((q) => h('option', { value: q.name }, q.name + (q.builtin ? ' (built-in)' : ''))));
  saved.addEventListener('change', () => {
    const q = queries.find((x) => x.name === saved.value);
    if (q && q.query) editor.value = q.query;
  });
  const tenants = h('select', { id: 'hunt-tenants', multiple: true, size: Math.min(4, R.me.tenants.length + 1) },
    h('option', { value: 'all', selected: true }, 'All tenants'),
    R.me.tenants.map((t) => h('option', { value: t.tenant_id }, tenantLabel(t.tenant_id))));
  const out = h('div', { id: 'hunt-results', 'aria-live': 'polite' });
  const runBtn = h('button', { type: 'submit', id: 'run-hunt' }, 'Run hunt');
  const form = h('form', {},
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'saved' }, 'Saved queries'), saved),
      h('div', {}, h('label', { for: 'hunt-tenants' }, 'Tenants'), tenants)),
    h('label', { for: 'kql' }, 'KQL'), editor,
    h('p', { class: 'hint', id: 'kql-hint' }, 'Advanced hunting KQL; results gain a leading TenantId column. Ctrl+Enter runs.'),
    runBtn);
  editor.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    runBtn.disabled = true;
    out.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    const chosen = [...tenants.selectedOptions].map((o) => o.value);
    const body = { query: editor.value, tenants: chosen.includes('all') || chosen.length === 0 ? 'all' : chosen };
    try {
      const { data } = await api('POST', '/v1/hunt', body);
      out.replaceChildren(...renderHunt(data));
    } catch (err) { showError(err, out); }
    finally { runBtn.disabled = false; }
  });
  main.replaceChildren(h('h2', {}, 'Hunting'), h('section', { class: 'card' }, form), out);
};

function renderHunt(data) {
  const per = data.tenants.map((t) => `${tenantName(t.tenantId)}: ${t.status}, ${t.rowCount} rows${t.error ? ' — ' + (t.error.message || JSON.stringify(t.error)) : ''}`);
  const columns = data.schema.map((c) => ({ key: c.name, label: c.name }));
  const parts = [
    h('p', {}, h('b', {}, `${data.rowCount} rows`), ` · ${data.status} · ${data.durationMs} ms`, data.truncated ? ' · truncated' : ''),
    h('ul', { class: 'hint' }, per.map((p) => h('li', {}, p))),
    h('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv(data) }, 'Export CSV'),
  ];
  const respond = (row) => respondMenu(row);
  parts.push(table(columns, data.rows, { extra: { label: 'Respond', render: respond } }));
  return parts;
}

/** The "respond" menu of a row: isolate its device, disable its user. */
function respondMenu(row) {
  const device = DEVICE_COLUMNS.map((c) => row[c]).find((v) => typeof v === 'string' && v);
  const user = USER_COLUMNS.map((c) => row[c]).find((v) => typeof v === 'string' && v.includes('@'));
  if (!device && !user) return '';
  const tenant = row.TenantId || currentTenant();
  const items = [];
  if (device) {
    items.push(['Isolate device', 'isolate', { deviceIds: device, tenant }]);
    items.push(['Collect investigation package', 'investigation-package', { deviceIds: device, tenant }]);
    items.push(['Run live-response script', 'live-response', { deviceId: device, tenant }]);
  }
  if (user) items.push(['Disable user', 'disable-user', { userId: user, tenant }]);
  const list = h('ul', { role: 'menu', hidden: true });
  const toggle = h('button', { type: 'button', class: 'secondary', 'aria-haspopup': 'menu', 'aria-expanded': 'false' }, 'Respond ▾');
  const close = () => { list.hidden = true; toggle.setAttribute('aria-expanded', 'false'); };
  for (const [label, card, prefill] of items) {
    list.append(h('li', { role: 'none' }, h('button', {
      type: 'button', role: 'menuitem',
      onclick: () => { close(); location.hash = `#/respond/${card}/${encodeURIComponent(JSON.stringify(prefill))}`; },
    }, label)));
  }
  toggle.addEventListener('click', () => {
    const open = list.hidden; list.hidden = !open; toggle.setAttribute('aria-expanded', String(open));
    if (open) list.querySelector('button').focus();
  });
  list.addEventListener('keydown', (e) => {
    const buttons = [...list.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === 'Escape') { close(); toggle.focus(); }
    else if (e.key === 'ArrowDown') { buttons[(i + 1) % buttons.length].focus(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { buttons[(i - 1 + buttons.length) % buttons.length].focus(); e.preventDefault(); }
  });
  return h('div', { class: 'menu' }, toggle, list);
}

function downloadCsv(data) {
  const cols = data.schema.map((c) => c.name);
  const quote = (v) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [cols.map(quote).join(',')].concat(data.rows.map((r) => cols.map((c) => quote(r[c])).join(',')));
  const url = URL.createObjectURL(new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' }));
  const a = h('a', { href: url, download: `hunt-${data.runId}.csv` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
