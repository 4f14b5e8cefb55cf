// The dashboard's rendering: the cluster view (server dashboard/cluster-view.ts) turned into DOM
// with textContent only (no HTML from data). Attributes `data-az`, `data-local-leader` and
// `data-node` name what a card or row shows, for people inspecting the page and for tests.

let options = { onToken: () => undefined, tokenSet: false, https: false };
let labels = {};

/** A node as the page names it (ClusterView.nodeLabels); `none` when there is no node (e.g. no leader). */
function nameOf(nodeId, none = 'none') {
  return nodeId === null || nodeId === undefined ? none : (labels[nodeId] ?? nodeId);
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function fill(id, ...children) {
  document.getElementById(id).replaceChildren(...children.flat());
}

const dash = '—';
const num = (n) => (n === null || n === undefined ? dash : String(n));

function ago(ms, now) {
  if (ms === null || ms === undefined) return 'never';
  return duration(now - ms) + ' ago';
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const hrs = Math.round(m / 60);
  if (hrs < 48) return `${hrs} h`;
  return `${Math.round(hrs / 24)} d`;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function toleranceClass(t) {
  return t.canLose >= 1 ? 'ok' : t.canLose === 0 ? 'warn' : 'bad';
}

function roleBadge(role) {
  const cls = role === 'leader' ? 'lead' : role === 'follower' ? 'ok' : role === 'inactive' ? '' : 'warn';
  return h('span', { class: `badge ${cls}` }, role);
}

export function setConnection(state) {
  const el = document.getElementById('connection');
  el.dataset.state = state;
  el.className = `badge ${state === 'live' ? 'ok' : 'wait'}`;
  el.textContent = state === 'live' ? 'live' : 'reconnecting…';
}

export function render(view, opts) {
  if (opts) options = opts;
  if (view === null) {
    renderAdmin(null);
    return;
  }
  labels = view.nodeLabels;
  document.getElementById('cluster-id').textContent = `cluster ${view.clusterId} · served by ${nameOf(view.servedBy)} · ${time(view.atMs)}`;
  const status = document.getElementById('connection');
  status.dataset.servedBy = view.servedBy;
  renderSummary(view);
  fill('azs', view.azs.map((az) => azCard(az, view)));
  renderGlobal(view);
  renderIssuance(view);
  renderCas(view);
  renderCrls(view);
  renderChanges(view);
}

function item(label, value, attrs) {
  return h('div', { class: 'item', ...attrs }, h('b', null, label), value);
}

function renderSummary(v) {
  const next = v.cas.find((c) => !c.revoked);
  fill(
    'summary',
    item('global leader', nameOf(v.globalLeader), { 'data-global-leader': v.globalLeader ?? '' }),
    item(`global VIP ${v.globalVip} held by`, nameOf(v.globalVipHolder, 'nobody')),
    item('global tier', h('span', { class: `tol ${toleranceClass(v.globalTolerance)}` }, v.globalToleranceText)),
    item('issuance', `${v.issuance.ratePerSecond.toFixed(1)}/s`),
    item('revocations', String(v.revocations)),
    item('next CA expiry', next ? `${next.label} in ${duration(next.notAfterMs - v.atMs)}` : dash),
  );
}

function azCard(az, v) {
  const rows = az.nodes.map((n) => {
    const leader = n.nodeId === az.localLeader;
    const cls = [leader ? 'leader' : '', n.reachable ? '' : 'down'].join(' ').trim();
    return h(
      'tr',
      { class: cls || null, 'data-node': n.nodeId },
      h('td', null, n.label, leader ? ' ★' : '', n.nodeId === v.globalLeader ? ' G' : ''),
      h('td', null, n.local ? roleBadge(n.local.role) : h('span', { class: 'badge bad' }, 'unreachable')),
      h('td', { class: 'num' }, num(n.local?.term)),
      h('td', { class: 'num' }, n.local ? `${n.local.commitIndex}/${n.local.appliedIndex}` : dash),
      h('td', { class: 'num' }, num(n.local?.lagEntries)),
      h('td', null, n.global && n.global.role !== 'inactive' ? `${n.global.role} t${n.global.term} · ${n.global.commitIndex}/${n.global.appliedIndex}` : dash),
      h('td', null, ago(n.lastContactMs, v.atMs)),
      h('td', null, h('span', { class: `badge ${n.status === 'inactive' ? 'bad' : n.health === 'healthy' ? 'ok' : n.health === 'suspect' ? 'warn' : 'bad'}` }, n.revoked ? 'revoked' : n.status === 'inactive' ? 'inactive' : n.health)),
      h('td', null, n.holdsVips.join(' ')),
    );
  });
  return h(
    'section',
    { class: 'card', 'data-az': az.name, 'data-local-leader': az.localLeader ?? '' },
    h('h2', null, az.name, ' ', h('span', { class: 'badge lead' }, `local leader ${nameOf(az.localLeader)}`)),
    h('div', { class: 'sub' }, `local VIP ${az.localVip} held by ${nameOf(az.localVipHolder, 'nobody')} · `, h('span', { class: `tol ${toleranceClass(az.tolerance)}` }, az.toleranceText), ` (${az.tolerance.reachable}/${az.tolerance.voters} voters reachable)`),
    h(
      'table',
      null,
      h('thead', null, h('tr', null, ['node', 'local role', 'term', 'commit/applied', 'lag', 'global seat (commit/applied)', 'last contact', 'health', 'VIPs'].map((c) => h('th', null, c)))),
      h('tbody', null, rows),
    ),
  );
}

function renderGlobal(v) {
  fill(
    'global',
    h('h2', null, 'Global tier'),
    h('div', { class: 'sub' }, `leading seat ${v.leadingSeat ?? 'none'} · global leader ${nameOf(v.globalLeader)} · `, h('span', { class: `tol ${toleranceClass(v.globalTolerance)}` }, v.globalToleranceText)),
    h(
      'table',
      null,
      h('thead', null, h('tr', null, ['seat (AZ)', 'role', 'term', 'lag'].map((c) => h('th', null, c)))),
      h('tbody', null, v.seats.map((s) => h('tr', { class: s.az === v.leadingSeat ? 'leader' : null }, h('td', null, s.az), h('td', null, s.role ? roleBadge(s.role) : dash), h('td', { class: 'num' }, num(s.term)), h('td', { class: 'num' }, num(s.lagEntries))))),
    ),
  );
}

function renderIssuance(v) {
  const i = v.issuance;
  const ms = (x) => (x === null ? dash : `${x.toFixed(1)} ms`);
  fill(
    'issuance',
    h('h2', null, 'Issuance'),
    h('div', { class: 'sub' }, `last ${Math.round(i.windowSeconds)} s, all nodes`),
    h(
      'table',
      null,
      h('tbody', null, [
        ['rate', `${i.ratePerSecond.toFixed(2)} /s`],
        ['latency p50', ms(i.p50Ms)],
        ['latency p95', ms(i.p95Ms)],
        ['errors (window)', String(i.errors)],
        ['requests since start', String(i.totalRequests)],
        ['errors since start', String(i.totalErrors)],
        ['revocations held', String(v.revocations)],
      ].map(([k, val]) => h('tr', null, h('th', null, k), h('td', { class: 'num' }, val)))),
    ),
  );
}

function renderCas(v) {
  const horizon = Math.max(1, ...v.cas.map((c) => c.notAfterMs - v.atMs));
  fill(
    'cas',
    h('h2', null, 'CA expiry timeline'),
    h('div', { class: 'sub' }, 'soonest first; bars to scale'),
    h(
      'table',
      null,
      h('thead', null, h('tr', null, ['CA', 'expires', 'in', 'renewal due', ''].map((c) => h('th', null, c)))),
      h('tbody', null, v.cas.map((c) => {
        const left = c.notAfterMs - v.atMs;
        const cls = c.revoked || left <= 0 ? 'gone' : left < horizon / 10 ? 'soon' : '';
        return h(
          'tr',
          null,
          h('td', null, c.label, c.revoked ? ' (revoked)' : ''),
          h('td', null, new Date(c.notAfterMs).toISOString().slice(0, 10)),
          h('td', { class: 'num' }, left > 0 ? duration(left) : 'expired'),
          h('td', { class: 'num' }, renewalText(c.renewAtMs, v.atMs)),
          h('td', null, h('div', { class: `bar ${cls}`, 'data-width': Math.round((100 * Math.max(0, left)) / horizon) })),
        );
      })),
    ),
  );
  // Widths through the CSSOM: the page's policy allows no inline style attribute.
  for (const bar of document.querySelectorAll('#cas .bar')) bar.style.width = `${bar.dataset.width}%`;
}

/** A CA's renewal: due in …, overdue (the renewal task retries), or not planned (root, replaced, revoked). */
function renewalText(renewAtMs, atMs) {
  if (renewAtMs === null || renewAtMs === undefined) return dash;
  return renewAtMs > atMs ? `in ${duration(renewAtMs - atMs)}` : 'due now';
}

function renderCrls(v) {
  fill(
    'crls',
    h('h2', null, 'CRLs'),
    h(
      'table',
      null,
      h('thead', null, h('tr', null, ['issuer', 'number', 'age', 'next update', 'size', 'OCSP signer age', 'OCSP signer ends'].map((c) => h('th', null, c)))),
      h('tbody', null, v.crls.map((c) => h('tr', null, h('td', null, c.label), h('td', { class: 'num' }, String(c.crlNumber)), h('td', { class: 'num' }, duration(v.atMs - c.thisUpdateMs)), h('td', { class: 'num' }, `in ${duration(c.nextUpdateMs - v.atMs)}`), h('td', { class: 'num' }, `${c.bytes} B`),
        h('td', { class: 'num' }, c.ocspSigner ? duration(v.atMs - c.ocspSigner.issuedAtMs) : dash),
        h('td', { class: 'num' }, c.ocspSigner ? `in ${duration(c.ocspSigner.notAfterMs - v.atMs)}` : dash)))),
    ),
  );
}

function renderChanges(v) {
  fill(
    'changes',
    h('h2', null, 'Recent leader changes'),
    v.leaderChanges.length === 0
      ? h('div', { class: 'muted' }, 'none seen')
      : h('ul', { class: 'changes' }, v.leaderChanges.map((c) => h('li', null, `${time(c.atMs)} `, h('b', null, nameOf(c.nodeId)), c.tier === 'local' ? ` became local leader of ${c.az}` : ` became global leader (seat ${c.az})`, ` · term ${c.term}`))),
  );
}

export function renderAdmin(admin) {
  const parts = [h('h2', null, 'Admin: recent revocations')];
  if (!options.https) {
    parts.push(h('div', { class: 'muted' }, 'Needs the admin token, accepted over HTTPS only: open this page on the HTTPS port.'));
  } else {
    const input = h('input', { type: 'password', placeholder: 'admin token', autocomplete: 'off' });
    const form = h('form', null, input, ' ', h('button', { type: 'submit' }, options.tokenSet ? 'replace token' : 'use token'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      options.tokenSet = input.value !== '';
      options.onToken(input.value);
    });
    parts.push(form);
  }
  if (admin !== null) {
    parts.push(
      h(
        'table',
        null,
        h('thead', null, h('tr', null, ['when', 'serial', 'reason', 'by'].map((c) => h('th', null, c)))),
        h('tbody', null, admin.revocations.map((r) => h('tr', null, h('td', null, time(r.revokedAtMs)), h('td', null, h('code', null, r.serialHex.slice(0, 16))), h('td', null, r.reason), h('td', null, r.requestedBy)))),
      ),
    );
  }
  fill('admin', parts);
}
