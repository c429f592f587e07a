// Riposte console: the shared pieces. A client of the same JSON API the CLI and SOARs use; the
// key (or an Entra ID access token) lives in sessionStorage only and goes out with every request. Every error an
// answer carries is shown with its message (nothing fails silently).
'use strict';

const R = {
  pages: {},
  catalog: null,
  me: null,
  features: {},
  timers: [],
  tenant() { return sessionStorage.getItem('riposte.tenant') || ''; },
};

// --- DOM -----------------------------------------------------------------------------------------

/** h('button', {onclick, class: 'x'}, 'text', child): builds elements without innerHTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, root) => (root || document).querySelector(sel);
let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

// --- API -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.code = e.code || ''; this.hint = e.hint || ''; this.field = e.field || ''; this.body = body;
  }
  describe() {
    const where = this.field ? ` (field ${this.field})` : '';
    return `${this.status} ${this.code}${where}: ${this.message}${this.hint ? ' — ' + this.hint : ''}`;
  }
}

/** The credential's header: an Entra ID access token (a JWT) as a bearer, an API key as x-api-key. */
function credentialHeaders() {
  const key = sessionStorage.getItem('riposte.key') || '';
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(key) ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
}

/** One API call; throws ApiError for any non-2xx answer, with the message it carried. */
async function api(method, path, body, headers) {
  const init = { method, headers: Object.assign(credentialHeaders(), headers || {}) };
  if (body instanceof Blob || body instanceof ArrayBuffer) init.body = body;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers['content-type'] = 'application/json'; }
  let resp;
  try { resp = await fetch(path, init); } catch (e) { throw new ApiError(0, { error: { code: 'NetworkError', message: `the gateway did not answer: ${e.message}` } }); }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { raw: text }; }
  if (!resp.ok) {
    if (resp.status === 401 && path !== '/v1/me') { signOut(`401: ${(data && data.error && data.error.message) || 'the key was refused'}`); }
    throw new ApiError(resp.status, data);
  }
  return { status: resp.status, data, headers: resp.headers };
}

// --- alerts --------------------------------------------------------------------------------------

function showError(err, target) {
  const text = err instanceof ApiError ? err.describe() : String(err && err.message || err);
  if (target) { target.replaceChildren(h('p', { class: 'error-inline', role: 'alert' }, text)); return; }
  notify(text, 'error');
}
function notify(text, kind) {
  const box = h('div', { class: `alert ${kind === 'info' ? 'info' : ''}` }, h('span', {}, text),
    h('button', { type: 'button', class: 'secondary', 'aria-label': 'Dismiss', onclick: (e) => e.target.closest('.alert').remove() }, '×'));
  $('#alerts').append(box);
  if (kind === 'info') setTimeout(() => box.remove(), 6000);
}

// --- session -------------------------------------------------------------------------------------

async function signIn(key) {
  sessionStorage.setItem('riposte.key', key.trim());
  try {
    R.me = (await api('GET', '/v1/me')).data;
  } catch (e) {
    sessionStorage.removeItem('riposte.key');
    throw e;
  }
  R.catalog = (await api('GET', '/v1/catalog')).data;
  await detectFeatures();
}

function signOut(reason) {
  sessionStorage.removeItem('riposte.key');
  R.me = null;
  R.timers.forEach(clearInterval); R.timers = [];
  $('#app').hidden = true; $('#nav').hidden = true; $('#session').hidden = true; $('#signin').hidden = false;
  if (reason) notify(reason);
  $('#key-input').focus();
}

/** What this gateway offers beyond the core: checked by asking, never assumed. */
async function detectFeatures() {
  const exists = async (path) => {
    try { await api('GET', path); return true; } catch (e) { return e.status !== 404 && e.status !== 405 && e.status !== 0; }
  };
  R.features.revertAfter = await exists('/v1/reverts?limit=1');
  R.features.jobs = await exists('/v1/jobs?limit=1');
  try {
    const doc = (await api('GET', '/v1/openapi.json')).data;
    R.features.dryRun = JSON.stringify(doc).includes('dryRun');
  } catch (_) { R.features.dryRun = false; }
}

function tenantName(id) {
  const t = (R.me && R.me.tenants || []).find((x) => x.tenant_id.toLowerCase() === String(id).toLowerCase());
  return t && t.name ? t.name : id;
}
function tenantLabel(id) {
  const name = tenantName(id);
  return name === id ? id : `${name} (${id.slice(0, 8)}…)`;
}
/** The tenant a per-tenant page acts on: the switcher's, else the only one. */
function currentTenant() {
  const t = R.tenant();
  if (t && t !== 'all') return t;
  const all = R.me.tenants;
  return all.length ? all[0].tenant_id : '';
}
function tenantSelect(id, selected, allowAll) {
  const sel = h('select', { id });
  if (allowAll) sel.append(h('option', { value: 'all' }, 'All tenants'));
  for (const t of R.me.tenants) sel.append(h('option', { value: t.tenant_id, selected: t.tenant_id === selected }, tenantLabel(t.tenant_id)));
  if (selected) sel.value = selected;
  return sel;
}
function mayRun(risk) {
  const role = R.me && R.me.role;
  if (risk === 'read') return true;
  if (risk === 'destructive') return role === 'admin';
  return role === 'admin' || role === 'responder';
}

function renderSession() {
  const sw = $('#tenant-switch');
  sw.replaceChildren();
  if (R.me.tenants.length > 1) sw.append(h('option', { value: 'all' }, 'All tenants'));
  for (const t of R.me.tenants) sw.append(h('option', { value: t.tenant_id }, tenantLabel(t.tenant_id)));
  sw.value = R.tenant() || sw.options[0] && sw.options[0].value || '';
  sessionStorage.setItem('riposte.tenant', sw.value);
  $('#who').textContent = `${R.me.name} · ${R.me.role}`;
  $('#signin').hidden = true; $('#app').hidden = false; $('#nav').hidden = false; $('#session').hidden = false;
}

// --- routing -------------------------------------------------------------------------------------

async function route() {
  if (!R.me) return;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || 'respond').split('/');
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  R.timers.forEach(clearInterval); R.timers = [];
  startHealth();
  const main = $('#main');
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const page = R.pages[name] || R.pages.respond;
  try {
    await page(main, rest.map(decodeURIComponent));
  } catch (e) { showError(e, main); }
}
/** Re-run every `ms` while the page is shown. */
function every(ms, fn) { R.timers.push(setInterval(fn, ms)); }

// --- health sidebar ------------------------------------------------------------------------------

async function renderHealth() {
  const box = $('#health');
  try {
    const s = (await api('GET', '/api/v1/mdr/status')).data;
    const parts = [h('h2', {}, 'Service health'),
      h('p', {}, 'Overall: ', h('span', { class: `status status-${s.status}`, id: 'health-overall' }, s.status))];
    for (const [name, integ] of Object.entries(s.integrations)) {
      parts.push(h('h3', {}, name, ' ', h('span', { class: `status status-${integ.status}` }, integ.status)));
      for (const t of integ.tenants) {
        const last = t.lastCall ? `last call ${t.lastCall.status || 'no answer'} at ${t.lastCall.at.slice(11, 19)}` : 'no call yet';
        parts.push(h('div', { class: 'health-tenant' },
          `${tenantName(t.tenant_id)}: token ${t.tokenOk ? 'OK' : 'FAILED'}; ${last}${t.throttled ? '; THROTTLED' : ''}`,
          t.error ? h('div', { class: 'error-inline' }, t.error) : null));
      }
    }
    parts.push(h('p', { class: 'hint' }, `checked ${s.checkedAt.slice(11, 19)} UTC`));
    box.replaceChildren(...parts);
  } catch (e) { showError(e, box); }
}
function startHealth() { renderHealth(); every(30000, renderHealth); }

// --- tables --------------------------------------------------------------------------------------

/** A sortable table: columns [{key, label, render?}], rows of objects. */
function table(columns, rows, opts) {
  let sortKey = null, asc = true;
  const tbody = h('tbody');
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col' },
    h('button', { type: 'button', class: 'sort', onclick: () => { asc = sortKey === c.key ? !asc : true; sortKey = c.key; fill(); } }, c.label))));
  if (opts && opts.extra) head.append(h('th', { scope: 'col' }, opts.extra.label));
  function fill() {
    const sorted = sortKey === null ? rows : [...rows].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      const n = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true });
      return asc ? n : -n;
    });
    tbody.replaceChildren(...sorted.map((r) => {
      const tr = h('tr', {}, columns.map((c) => h('td', {}, c.render ? c.render(r) : cell(r[c.key]))));
      if (opts && opts.extra) tr.append(h('td', {}, opts.extra.render(r)));
      return tr;
    }));
  }
  fill();
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, head), tbody));
}
function cell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function statusBadge(s) { return h('span', { class: `status status-${s}` }, s); }

// --- start ---------------------------------------------------------------------------------------

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme; else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem('riposte.theme'));
$('#theme').addEventListener('click', () => {
  const dark = getComputedStyle(document.documentElement).getPropertyValue('--bg').trim() === '#12151c';
  const next = dark ? 'light' : 'dark';
  localStorage.setItem('riposte.theme', next); applyTheme(next);
});
$('#signout').addEventListener('click', () => signOut());
$('#tenant-switch').addEventListener('change', (e) => { sessionStorage.setItem('riposte.tenant', e.target.value); route(); });
$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const btn = e.target.querySelector('button'); btn.disabled = true;
  try { await signIn($('#key-input').value); $('#key-input').value = ''; renderSession(); await route(); $('#main').focus(); }
  catch (err) { showError(err); }
  finally { btn.disabled = false; }
});
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  if (!sessionStorage.getItem('riposte.key')) { signOut(); return; }
  try { await signIn(sessionStorage.getItem('riposte.key')); renderSession(); await route(); }
  catch (e) { signOut(e instanceof ApiError ? e.describe() : String(e)); }
});
