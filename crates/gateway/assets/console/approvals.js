// Riposte console: the approvals page. Actions and bulk jobs the approval policy holds, why, and
// a reasoned approve / reject for keys the policy lets decide (never on one's own request: the
// API answers 403 saying so, and the page shows that answer). A client of /v1/approvals.
'use strict';

R.pages.approvals = async (main) => {
  const status = h('select', { id: 'approvals-status' },
    ['Pending', 'Approved', 'Rejected', 'Expired', 'all'].map((s) => h('option', { value: s }, s)));
  const out = h('div', { 'aria-live': 'polite' });
  const policy = h('details', { class: 'card' }, h('summary', {}, 'Policy in force'), h('p', { class: 'muted' }, 'Loading…'));
  main.replaceChildren(h('h2', {}, 'Approvals'),
    h('div', { class: 'row' }, h('label', { for: 'approvals-status' }, 'Show'), status), out, policy);
  const load = async () => {
    try {
      const q = status.value === 'all' ? '' : `?status=${encodeURIComponent(status.value)}`;
      const { data } = await api('GET', `/v1/approvals${q}`);
      if (!data.approvals.length) { out.replaceChildren(h('p', { class: 'muted' }, `No ${status.value === 'all' ? '' : status.value.toLowerCase() + ' '}approval requests.`)); return; }
      out.replaceChildren(...data.approvals.map(renderApproval));
    } catch (e) { showError(e, out); }
  };
  status.addEventListener('change', load);
  try {
    const { data } = await api('GET', '/v1/approvals/policy');
    policy.replaceChildren(h('summary', {}, 'Policy in force'),
      data.source && data.source.error ? h('p', { class: 'error-inline', role: 'alert' }, `The policy file was refused (the previous policy stays): ${data.source.error}`) : null,
      h('p', { class: 'hint' }, data.source ? `${data.source.path}, read ${data.source.loadedAt}` : 'No policy file: nothing is held.'),
      h('pre', {}, JSON.stringify({ approverRoles: data.approverRoles, expiresAfterSeconds: data.expiresAfterSeconds, rules: data.rules, blastRadius: data.blastRadius, tier0: data.tier0 }, null, 2)));
  } catch (e) { showError(e, policy); }
  await load();
  every(5000, () => { if (!main.contains(document.activeElement) || document.activeElement === main) load(); });
};

function renderApproval(a) {
  const result = h('div', {});
  const reasonId = nextId('approval-reason');
  const reason = h('input', { id: reasonId, placeholder: 'ticket, who confirmed, why', required: true, maxlength: 2000 });
  const decide = (verb) => async () => {
    if (!reason.value.trim()) { showError(new Error('a decision needs a reason'), result); reason.focus(); return; }
    try {
      const { data } = await api('POST', `/v1/approvals/${encodeURIComponent(a.id)}/${verb}`, { reason: reason.value });
      notify(`${a.action}: ${data.status} by ${data.decided_by}`, 'info');
      result.replaceChildren(h('p', {}, statusBadge(data.status), ' ', h('a', { href: subjectLink(a) }, 'follow it')));
    } catch (e) { showError(e, result); }
  };
  const pending = a.status === 'Pending';
  return h('section', { class: 'card approval', dataset: { approval: a.id } },
    h('h3', {}, `${a.product} / ${a.action} `, statusBadge(a.status)),
    h('p', {}, `${a.kind === 'job' ? 'Bulk job' : 'Action'} on ${a.targets} target${a.targets === 1 ? '' : 's'} in ${a.tenants.map(tenantName).join(', ')}, requested by ${a.requester}`),
    h('ul', {}, (a.reasons || []).map((r) => h('li', {}, h('code', {}, r.rule), ` ${r.why}`))),
    h('pre', { class: 'params' }, JSON.stringify(a.params, null, 2)),
    h('p', { class: 'hint' }, pending ? `expires ${a.expires_at}` : `${a.status} by ${a.decided_by || '?'} at ${a.decided_at || '?'}: ${a.reason || ''}`,
      ' · ', h('a', { href: subjectLink(a) }, a.kind === 'job' ? 'the job' : 'the operation')),
    pending ? h('div', { class: 'row' },
      h('label', { for: reasonId }, 'Reason'), reason,
      h('button', { type: 'button', onclick: decide('approve') }, 'Approve'),
      h('button', { type: 'button', class: 'secondary', onclick: decide('reject') }, 'Reject')) : null,
    result);
}

function subjectLink(a) { return a.kind === 'job' ? '#/jobs' : `#/op/${encodeURIComponent(a.subject_id)}`; }
