// Action cards, forms generated from catalog parameters, the safety rules, and the live
// operation view with undo.
'use strict';

/** The common responses (seed 002's cards), as catalog actions. */
const CARDS = [
  { id: 'isolate', title: 'Isolate endpoint', product: 'MDE', action: 'IsolateDevice' },
  { id: 'block-ip', title: 'Block IP', product: 'MDE', action: 'AddIPIndicator' },
  { id: 'disable-user', title: 'Disable user', product: 'EntraID', action: 'DisableUser' },
  { id: 'quarantine-email', title: 'Quarantine email', product: 'MDO', action: 'RemediateEmails' },
  { id: 'live-response', title: 'Run a live-response script', product: 'MDE', action: 'RunScript' },
  { id: 'investigation-package', title: 'Collect investigation package', product: 'MDE', action: 'CollectInvestigationPackage' },
];
/** Parameters that take the reason a contain-class action asks for, when the action has one. */
const REASON_PARAMS = ['comment', 'description', 'justification', 'reason'];
/** Parameters naming what a destructive action hits: the name to type to confirm. */
const TARGET_PARAMS = ['deviceIds', 'deviceId', 'userId', 'networkMessageIds', 'vmName', 'instanceId', 'indicatorValue', 'sourceIp', 'ip'];
const REVERT_CHOICES = [['', 'Do not revert'], ['PT1H', '1 hour'], ['PT4H', '4 hours'], ['PT24H', '24 hours'], ['P7D', '7 days']];

function spec(product, action) {
  return R.catalog.find((a) => a.product === product && a.name === action);
}

// --- the respond page --------------------------------------------------------------------------

/** `#/respond[/card?prefill-json]`: the cards; a hunt's "respond" opens one pre-filled. */
R.pages.respond = async (main, args) => {
  const [open, prefillText] = args;
  let prefill = {};
  try { prefill = prefillText ? JSON.parse(prefillText) : {}; } catch (_) { prefill = {}; }
  const grid = h('div', { class: 'cards' });
  for (const card of CARDS) {
    const s = spec(card.product, card.action);
    if (!s) continue;
    const allowed = mayRun(s.risk);
    const body = h('div', {});
    const section = h('section', { class: 'card', id: `card-${card.id}`, 'aria-labelledby': `card-${card.id}-title` },
      h('h2', { id: `card-${card.id}-title` }, card.title, riskTag(s.risk)),
      h('p', { class: 'hint' }, s.summary), body);
    if (!allowed) {
      body.append(h('p', { class: 'muted' }, `Your role (${R.me.role}) may not run ${s.risk} actions.`));
    } else {
      body.append(actionForm(s, open === card.id ? prefill : {}));
    }
    grid.append(section);
  }
  main.replaceChildren(h('h2', {}, 'Respond'), grid);
  if (open) {
    const card = $(`#card-${open}`);
    if (card) { card.scrollIntoView(); const first = card.querySelector('input, select'); if (first) first.focus(); }
  }
};

function riskTag(risk) { return h('span', { class: `risk risk-${risk}` }, risk); }

/**
 * A form for one action: a field per catalog parameter (label, kind, hint), the safety block,
 * and a submit that runs it through the native API and opens the live operation view.
 */
function actionForm(s, prefill) {
  const form = h('form', { novalidate: true, class: 'action-form', dataset: { action: s.name, product: s.product } });
  const tenantId = nextId('tenant');
  const tenant = tenantSelect(tenantId, prefill.tenant || currentTenant(), false);
  form.append(h('label', { for: tenantId }, 'Tenant'), tenant);
  const inputs = {};
  const reasonParam = s.risk !== 'read' ? s.params.find((p) => REASON_PARAMS.includes(p.name)) : null;
  for (const p of s.params) {
    if (p === reasonParam) continue;
    const { wrap, input } = field(p, prefill[p.name], () => tenant.value);
    inputs[p.name] = input;
    form.append(wrap);
  }
  // Safety: a reason for contain-class (and stronger) actions, typed confirmation for destructive.
  let reason = null, confirm = null, revert = null;
  if (s.risk === 'contain' || s.risk === 'destructive' || s.risk === 'remediate') {
    const id = nextId('reason');
    reason = h('textarea', { id, name: 'reason', rows: 2, required: true, 'aria-describedby': `${id}-hint` });
    const box = h('div', { class: `safety ${s.risk}` },
      h('label', { for: id }, 'Reason (required)'), reason,
      h('p', { class: 'hint', id: `${id}-hint` }, reasonParam ? `Recorded as the action's ${reasonParam.name}.` : `${s.name} has no text field upstream: the reason is asked for, not sent.`));
    if (s.risk === 'destructive') {
      const cid = nextId('confirm');
      confirm = h('input', { id: cid, name: 'confirm', autocomplete: 'off', 'aria-describedby': `${cid}-hint` });
      box.append(h('label', { for: cid }, 'Type the target to confirm'), confirm,
        h('p', { class: 'hint', id: `${cid}-hint` }, 'This cannot be undone: type the exact target (e.g. the device id) to enable the button.'));
    }
    if (s.inverse && R.features.revertAfter) {
      const rid = nextId('revert');
      revert = h('select', { id: rid, name: 'revertAfter' }, REVERT_CHOICES.map(([v, l]) => h('option', { value: v }, l)));
      box.append(h('label', { for: rid }, `Revert automatically (${s.inverse})`), revert);
    }
    form.append(box);
  }
  const errors = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, s.risk === 'read' ? 'Run' : `Run ${s.name}`);
  if (s.risk === 'destructive') submit.classList.add('danger');
  const buttons = h('div', { class: 'row' }, submit);
  if (R.features.dryRun) buttons.append(h('button', { type: 'button', class: 'secondary', onclick: () => run(true) }, 'Preview (dry run)'));
  form.append(buttons, errors);

  const target = () => {
    const name = TARGET_PARAMS.find((n) => inputs[n] && inputs[n].value.trim());
    return name ? inputs[name].value.trim() : '';
  };
  if (confirm) {
    const check = () => { submit.disabled = !target() || confirm.value.trim() !== target(); };
    confirm.addEventListener('input', check);
    for (const i of Object.values(inputs)) i.addEventListener('input', check);
    check();
  }
  async function run(dryRun) {
    errors.replaceChildren();
    const params = {};
    for (const p of s.params) {
      if (p === reasonParam) continue;
      const v = readValue(p, inputs[p.name]);
      if (v !== undefined) params[p.name] = v;
    }
    if (reason) {
      if (!reason.value.trim()) { errors.replaceChildren(h('p', { class: 'error-inline', role: 'alert' }, 'A reason is required for this action.')); reason.focus(); return; }
      if (reasonParam) params[reasonParam.name] = reason.value.trim();
    }
    if (confirm && confirm.value.trim() !== target()) {
      errors.replaceChildren(h('p', { class: 'error-inline', role: 'alert' }, 'Type the target exactly to confirm.')); confirm.focus(); return;
    }
    if (revert && revert.value) params.revertAfter = revert.value;
    submit.disabled = true;
    try {
      const path = `/v1/tenants/${encodeURIComponent(tenant.value)}/actions/${s.product}/${s.name}`;
      if (dryRun) {
        // Nothing is sent upstream and nothing is created: no idempotency key is spent.
        const { data } = await api('POST', `${path}?dryRun=true`, params);
        errors.replaceChildren(dryRunPreview(data));
        return;
      }
      const headers = { prefer: 'wait=3', 'idempotency-key': `console-${crypto.randomUUID ? crypto.randomUUID() : Date.now()}` };
      const { data } = await api('POST', path, params, headers);
      location.hash = `#/op/${data.operation_id}`;
    } catch (e) { showError(e, errors); }
    finally { submit.disabled = false; if (confirm) confirm.dispatchEvent(new Event('input')); }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); run(false); });
  return form;
}

/**
 * A dry run's preview: each upstream request as it would go out (method, URL, body; never a
 * header), the reads sent to resolve targets, the permission check and the expected change.
 */
function dryRunPreview(p) {
  const box = h('section', { class: 'dry-run', 'aria-label': 'Dry run preview' },
    h('h3', {}, 'Dry run: the upstream calls (nothing was sent)'),
    h('p', { class: 'hint' }, p.expectedChange && p.expectedChange.summary || ''));
  const list = h('ol', { class: 'dry-run-requests' });
  for (const r of p.requests || []) {
    const validation = r.validation ? ` [${r.validation.code}]` : '';
    list.append(h('li', { class: 'dry-run-request' },
      h('code', { class: 'method' }, r.method), ' ', h('code', { class: 'url' }, r.url), validation,
      r.body === undefined || r.body === null ? '' : h('pre', {}, JSON.stringify(r.body, null, 2))));
  }
  if (!(p.requests || []).length) list.append(h('li', {}, 'No request would change anything.'));
  box.append(list);
  if ((p.reads || []).length) box.append(h('p', { class: 'hint' }, `${p.reads.length} read(s) were sent to resolve the targets.`));
  const perm = p.permission || {};
  if (perm.ok === false) {
    for (const m of perm.missing || []) box.append(h('p', { class: 'error-inline', role: 'alert' }, `Missing permission: ${m.fix}`));
  } else {
    box.append(h('p', { class: 'hint' }, `Permission ${perm.declared || ''}: granted.`));
  }
  if (p.complete === false && p.stoppedAt) box.append(h('p', { class: 'hint' }, `Later steps depend on answers only the real call gives: ${p.stoppedAt.message}`));
  return box;
}

/** One parameter's label, input and hint, by its kind. */
function field(p, prefill, tenantOf) {
  const id = nextId(p.name);
  const kind = p.kind && p.kind.type;
  const hintId = `${id}-hint`;
  const common = { id, name: p.name, 'aria-describedby': hintId, required: p.required || null };
  let input;
  if (kind === 'enum') {
    input = h('select', common, p.required ? null : h('option', { value: '' }, p.default ? `(default: ${p.default})` : '(none)'),
      p.kind.values.map((v) => h('option', { value: v }, v)));
  } else if (kind === 'bool') {
    input = h('select', common, h('option', { value: '' }, p.default ? `(default: ${p.default})` : '(none)'), h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
  } else if (kind === 'int') {
    input = h('input', Object.assign({ type: 'number', min: p.kind.min, max: p.kind.max, placeholder: p.default || '' }, common));
  } else if (kind === 'secret') {
    input = h('input', Object.assign({ type: 'password', autocomplete: 'off' }, common));
  } else if (['json_object', 'json_objects', 'indicators', 'sender_entries'].includes(kind)) {
    input = h('textarea', Object.assign({ rows: 3, placeholder: 'JSON' }, common));
  } else {
    input = h('input', Object.assign({ type: 'text', autocomplete: 'off', placeholder: p.default || '' }, common));
  }
  if (prefill !== undefined && prefill !== null) input.value = Array.isArray(prefill) ? prefill.join(', ') : String(prefill);
  const label = h('label', { for: id }, p.name, p.required ? ' *' : '');
  const hint = h('p', { class: 'hint', id: hintId }, `${p.doc}${kindHint(p)}`);
  let wrap = h('div', { class: 'field' }, label, input, hint);
  if (['device_id', 'device_ids', 'managed_device'].includes(kind)) wrap = typeahead(wrap, input, 'device', tenantOf);
  else if (kind === 'user_ref') wrap = typeahead(wrap, input, 'user', tenantOf);
  return { wrap, input };
}

function kindHint(p) {
  const k = p.kind || {};
  switch (k.type) {
    case 'device_ids': case 'resource_ids': case 'email_addresses': case 'text_list': case 'paired_ids': case 'ip_prefixes':
      return ' · several: comma-separated';
    case 'date_time': return ' · RFC 3339, e.g. 2026-12-31T00:00:00Z';
    case 'int': return ` · ${k.min}–${k.max}`;
    case 'text': return k.max ? ` · up to ${k.max} characters` : '';
    default: return '';
  }
}

function readValue(p, input) {
  const raw = input.value.trim();
  if (raw === '') return undefined;
  const kind = p.kind && p.kind.type;
  if (kind === 'bool') return raw === 'true';
  if (kind === 'int') return Number(raw);
  if (['json_object', 'json_objects', 'indicators', 'sender_entries'].includes(kind)) {
    try { return JSON.parse(raw); } catch (_) { return raw; }
  }
  return raw;
}

/** A text input with suggestions from `GET /v1/typeahead` (arrow keys, Enter, Escape). */
function typeahead(wrap, input, kind, tenantOf) {
  const listId = nextId('suggest');
  const list = h('ul', { id: listId, role: 'listbox', hidden: true });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listId);
  input.setAttribute('aria-expanded', 'false');
  let active = -1, timer = null, items = [];
  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); active = -1; };
  const choose = (item) => {
    const parts = input.value.split(',');
    parts[parts.length - 1] = kind === 'device' ? item.label : item.value;
    input.value = parts.map((s) => s.trim()).filter(Boolean).join(', ');
    input.dispatchEvent(new Event('input')); close();
  };
  const mark = () => [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
  input.addEventListener('input', (e) => {
    if (!e.isTrusted) return;
    clearTimeout(timer);
    const q = input.value.split(',').pop().trim();
    if (q.length < 2) { close(); return; }
    timer = setTimeout(async () => {
      try {
        const { data } = await api('GET', `/v1/typeahead?kind=${kind}&tenant=${encodeURIComponent(tenantOf())}&q=${encodeURIComponent(q)}`);
        items = data.items;
        list.replaceChildren(...items.map((it, i) => h('li', { role: 'option', id: `${listId}-${i}`, onmousedown: (ev) => { ev.preventDefault(); choose(it); } },
          it.label, it.detail ? h('span', { class: 'muted' }, ` — ${it.detail}`) : null)));
        list.hidden = items.length === 0; input.setAttribute('aria-expanded', String(items.length > 0)); active = -1;
      } catch (err) { showError(err, wrap.querySelector('.hint')); }
    }, 200);
  });
  input.addEventListener('keydown', (e) => {
    if (list.hidden) return;
    if (e.key === 'ArrowDown') { active = Math.min(active + 1, items.length - 1); mark(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { active = Math.max(active - 1, 0); mark(); e.preventDefault(); }
    else if (e.key === 'Enter' && active >= 0) { choose(items[active]); e.preventDefault(); }
    else if (e.key === 'Escape') close();
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  wrap.classList.add('typeahead');
  wrap.insertBefore(list, wrap.querySelector('.hint'));
  return wrap;
}

// --- the live operation view -------------------------------------------------------------------

/** `#/op/{id}`: the operation followed to its end, with its results and the undo button. */
R.pages.op = async (main, [id]) => {
  const view = h('div', {});
  main.replaceChildren(h('h2', {}, 'Operation'), view);
  let done = false;
  const refresh = async () => {
    if (done) return;
    try {
      const op = (await api('GET', `/v1/operations/${encodeURIComponent(id)}`)).data;
      done = ['Succeeded', 'PartiallySucceeded', 'Failed', 'Cancelled', 'Unknown'].includes(op.status);
      view.replaceChildren(...renderOperation(op, done));
    } catch (e) { showError(e, view); done = true; }
  };
  await refresh();
  every(1000, refresh);
};

function renderOperation(op, done) {
  const s = spec(op.product, op.action);
  const parts = [
    h('p', {}, h('b', {}, `${op.product} / ${op.action}`), ' on ', tenantLabel(op.tenant), ' by ', op.principal),
    h('p', {}, 'State: ', h('span', { class: `status status-${op.status}`, id: 'op-status' }, op.status),
      done ? '' : h('span', { class: 'muted' }, ' — following…')),
    h('p', { class: 'hint' }, `operation ${op.id} · created ${op.created_at} · updated ${op.updated_at}`),
  ];
  const result = op.result || {};
  const rows = perTarget(result);
  if (rows.length) {
    const cols = Object.keys(rows[0]).slice(0, 8).map((k) => ({ key: k, label: k }));
    parts.push(h('h3', {}, 'Per-target results'), table(cols, rows));
  }
  if (result.verification || result.verified !== undefined) {
    parts.push(h('h3', {}, 'Effect verification'), h('pre', {}, JSON.stringify(result.verification ?? result.verified, null, 2)));
  }
  if (op.upstream_request_ids && op.upstream_request_ids.length) {
    parts.push(h('h3', {}, 'Upstream request ids'), h('ul', {}, op.upstream_request_ids.map((r) => h('li', {}, h('code', {}, r)))));
  }
  if (op.error) parts.push(h('h3', {}, 'Error'), h('p', { class: 'error-inline' }, op.error.message || JSON.stringify(op.error)));
  parts.push(h('details', {}, h('summary', {}, 'Parameters and full result'), h('pre', {}, JSON.stringify({ params: op.params, result: op.result, tracking: op.tracking }, null, 2))));
  if (done && s && s.inverse && ['Succeeded', 'PartiallySucceeded'].includes(op.status)) {
    const inv = spec(op.product, s.inverse);
    if (inv && mayRun(inv.risk)) {
      const out = h('div', {});
      parts.push(h('button', { type: 'button', id: 'undo', onclick: () => undo(op, inv, out) }, `Undo (${inv.name})`), out);
    }
  }
  return parts;
}

/** The per-device (per-target) rows of a result, whichever shape the action answered in. */
function perTarget(result) {
  for (const key of ['results', 'rows', 'items', 'value', 'steps', 'machineActions']) {
    if (Array.isArray(result[key]) && result[key].length && typeof result[key][0] === 'object') return result[key];
  }
  return [];
}

/** The inverse action with the same target parameters. */
async function undo(op, inv, out) {
  const params = {};
  for (const p of inv.params) {
    if (op.params && op.params[p.name] !== undefined) params[p.name] = op.params[p.name];
  }
  const reasonParam = inv.params.find((p) => REASON_PARAMS.includes(p.name));
  if (reasonParam) params[reasonParam.name] = `Undo of operation ${op.id}`;
  try {
    const { data } = await api('POST', `/v1/tenants/${encodeURIComponent(op.tenant)}/actions/${inv.product}/${inv.name}`, params, { prefer: 'wait=3' });
    location.hash = `#/op/${data.operation_id}`;
  } catch (e) { showError(e, out); }
}
