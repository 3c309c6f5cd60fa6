// VirtualCluster dashboard: reads the /v1 API of the control plane that serves it, with the user's token, and
// follows /v1/live (server-sent events read through fetch, because EventSource cannot send an Authorization header).
// Everything shown is put in the page as text (never as HTML): names, messages and URLs come from the cluster.
'use strict';

const state = { token: null, status: null, alerts: null, events: [], sparks: new Map(), live: null };
const MAX_EVENTS = 200;
const $ = id => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ---- sign-in ---------------------------------------------------------------------------------------------------

function storedToken() {
  // A link may carry the token in its fragment (never sent to a server); it is moved to session storage at once.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('vc.token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('vc.token') || localStorage.getItem('vc.token');
}

async function api(path, init) {
  const response = await fetch(path, { ...init, headers: { Authorization: 'Bearer ' + state.token }, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) {
    const body = await response.json().catch(() => ({}));
    throw Object.assign(new Error(body.error || response.statusText), { auth: true });
  }
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || response.statusText);
  return response;
}

async function signIn(token, remember) {
  state.token = token;
  const who = await (await api('/v1/whoami')).json();
  sessionStorage.setItem('vc.token', token);
  if (remember) localStorage.setItem('vc.token', token);
  $('who').textContent = (who.subject || who.name || '') + (who.role ? ' (' + who.role + ')' : '');
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  startLive();
  refreshSparks();
}

function signOut(message) {
  sessionStorage.removeItem('vc.token');
  localStorage.removeItem('vc.token');
  state.token = null;
  if (state.live) state.live.abort();
  $('app').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  setLive('offline', 'off');
}

// ---- live stream -----------------------------------------------------------------------------------------------

function setLive(text, kind) {
  const e = $('live');
  e.textContent = text;
  e.className = 'pill ' + kind;
}

async function startLive() {
  let delay = 1000;
  while (state.token) {
    const controller = new AbortController();
    state.live = controller;
    try {
      const response = await fetch('/v1/live', { headers: { Authorization: 'Bearer ' + state.token }, signal: controller.signal, cache: 'no-store' });
      if (response.status === 401 || response.status === 403) { signOut('The token was refused: sign in again.'); return; }
      if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
      setLive('live', 'ok');
      delay = 1000;
      await readEvents(response.body.getReader(), onLiveEvent);
    } catch (e) {
      if (controller.signal.aborted && !state.token) return;
    }
    if (!state.token) return;
    setLive('reconnecting', 'warn');
    await new Promise(r => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// Server-sent events: blocks separated by a blank line, "event:" and "data:" fields (RFC-less, per the HTML standard).
async function readEvents(reader, onEvent) {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  }
}

function onLiveEvent(type, data) {
  let value;
  try { value = JSON.parse(data); } catch { return; }
  if (type === 'status') { state.status = value; renderStatus(); }
  else if (type === 'alerts') { state.alerts = value; renderAlerts(); renderSummary(); }
  else if (type === 'events' && Array.isArray(value)) {
    state.events = state.events.concat(value).slice(-MAX_EVENTS);
    renderEvents();
    renderFailovers();
  }
}

// ---- rendering -------------------------------------------------------------------------------------------------

const percent = (part, whole) => whole > 0 ? Math.max(0, Math.min(100, 100 * part / whole)) : 0;
const lower = s => String(s || '').toLowerCase();

function bar(p) {
  const b = el('span', { class: 'bar' + (p >= 90 ? ' high' : '') }, el('i'));
  b.firstChild.style.width = p.toFixed(1) + '%';
  return el('span', {}, b, el('span', { class: 'num', text: p.toFixed(0) + '%' }));
}

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? s.toFixed(0) + ' s ago' : s < 5400 ? (s / 60).toFixed(0) + ' min ago' : (s / 3600).toFixed(1) + ' h ago';
}

function time(iso) {
  const d = new Date(iso);
  return el('time', { datetime: iso, text: d.toLocaleTimeString() });
}

function renderStatus() {
  const s = state.status;
  if (!s) return;
  const nodes = $('nodes').tBodies[0];
  nodes.replaceChildren(...s.nodes.map(v => {
    const n = v.node, st = lower(n.state);
    const row = el('tr', { 'data-node': n.name, 'data-state': st },
      el('td', { text: n.name }),
      el('td', {}, el('span', { class: 'pill ' + st, text: st })),
      el('td', {}, bar(percent(n.usage.cpuMillicores, n.capacity.cpuMillicores))),
      el('td', {}, bar(percent(v.allocated.cpuMillicores, n.capacity.cpuMillicores))),
      el('td', {}, bar(percent(n.usage.memoryBytes, n.capacity.memoryBytes))),
      el('td', { text: v.instances }),
      el('td', { text: ago(n.lastHeartbeat) }),
      el('td', {}, spark(n.name)));
    return row;
  }));
  const services = $('services').tBodies[0];
  services.replaceChildren(...s.services.map(v => {
    const ok = v.running >= v.desired;
    const where = v.instances.map(i => i.nodeName + ' (' + lower(i.instance.state) + ')').join(', ');
    const url = v.url ? el('a', { href: v.url, rel: 'noopener noreferrer', target: '_blank', text: v.url }) : el('span', { class: 'muted', text: '—' });
    return el('tr', { 'data-service': v.spec.name, 'data-running': v.running, 'data-desired': v.desired },
      el('td', { text: v.spec.name }),
      el('td', {}, el('span', { class: 'pill ' + (ok ? 'ok' : 'warn'), text: v.running + ' / ' + v.desired })),
      el('td', { text: where || '—' }),
      el('td', {}, url));
  }));
  renderCapacity();
  renderSummary();
}

function renderSummary() {
  const s = state.status;
  if (!s) return;
  const alive = s.nodes.filter(v => lower(v.node.state) === 'alive').length;
  const healthy = s.services.filter(v => v.running >= v.desired).length;
  const running = s.services.reduce((a, v) => a + v.running, 0);
  const firing = state.alerts ? state.alerts.firing.length : 0;
  const card = (value, label, kind) => el('div', { class: 'card' + (kind ? ' ' + kind : '') }, el('b', { text: value }), el('span', { text: label }));
  $('summary').replaceChildren(
    card(alive + ' / ' + s.nodes.length, 'nodes alive'),
    card(healthy + ' / ' + s.services.length, 'services at their desired count'),
    card(running, 'instances running'),
    card(firing, firing === 1 ? 'alert firing' : 'alerts firing'));
}

function renderAlerts() {
  const a = state.alerts;
  const box = $('alerts');
  if (!a || a.firing.length === 0) { box.replaceChildren(el('p', { class: 'muted', text: 'No alert is firing.' })); return; }
  box.replaceChildren(...a.firing.map(x => el('div', { class: 'alert', 'data-alert': x.name },
    time(x.startsAt), el('span', { class: 'pill ' + (x.severity === 'critical' ? 'bad' : 'warn'), text: x.severity || 'alert' }), ' ',
    el('b', { text: x.name }), ' ', el('span', { text: x.summary || x.description || '' }))));
}

function renderCapacity() {
  const c = state.status && state.status.capacity;
  const box = $('capacity');
  if (!c || !c.cluster || c.cluster.length === 0) return;
  const rows = c.cluster.map(r => el('tr', {},
    el('td', { text: r.resource }),
    el('td', {}, bar(percent(r.used, r.capacity))),
    el('td', {}, bar(percent(r.allocated, r.capacity))),
    el('td', { text: r.exhaustedAt ? new Date(r.exhaustedAt).toLocaleString() : 'not within the horizon' })));
  box.replaceChildren(el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, el('th', { text: 'Resource' }), el('th', { text: 'Used' }), el('th', { text: 'Allocated' }), el('th', { text: 'Runs out' }))),
    el('tbody', {}, ...rows))));
}

function renderEvents() {
  $('events').replaceChildren(...state.events.slice().reverse().map(e =>
    el('li', { 'data-kind': e.kind }, time(e.timestamp), el('span', { class: 'kind', text: e.kind }), el('span', { text: e.message }))));
}

// A failover is an incident: the events that share its id, from the node loss to the replacement running.
function renderFailovers() {
  const incidents = new Map();
  for (const e of state.events) {
    if (!e.incident) continue;
    const i = incidents.get(e.incident) || { id: e.incident, first: e.timestamp, last: e.timestamp, count: 0, subject: e.node || e.subject };
    i.last = e.timestamp;
    i.count++;
    incidents.set(e.incident, i);
  }
  const box = $('failovers');
  if (incidents.size === 0) return;
  const list = [...incidents.values()].slice(-10).reverse();
  box.replaceChildren(el('ol', { class: 'events' }, ...list.map(i => el('li', { 'data-incident': i.id },
    time(i.first), el('span', { class: 'kind', text: i.id }),
    el('span', { text: i.subject + ': ' + i.count + ' events over ' + ((Date.parse(i.last) - Date.parse(i.first)) / 1000).toFixed(1) + ' s' })))));
}

// ---- sparklines from the stored history ------------------------------------------------------------------------

function spark(node) {
  const points = state.sparks.get(node);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 100 20');
  svg.setAttribute('preserveAspectRatio', 'none');
  if (points && points.length > 1) {
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', points.map((p, i) => (100 * i / (points.length - 1)).toFixed(1) + ',' + (20 - 20 * Math.max(0, Math.min(1, p))).toFixed(1)).join(' '));
    svg.append(line);
  }
  return svg;
}

async function refreshSparks() {
  while (state.token) {
    const nodes = state.status ? state.status.nodes.slice(0, 50).map(v => v.node.name) : [];
    for (const name of nodes) {
      try {
        const h = await (await api('/v1/metrics/nodes/' + encodeURIComponent(name) + '/cpu?range=10m&step=10s')).json();
        state.sparks.set(name, h.points.map(p => p.average));
      } catch (e) {
        if (e.auth) { signOut('The token was refused: sign in again.'); return; }
      }
    }
    if (nodes.length) renderStatus();
    await new Promise(r => setTimeout(r, nodes.length ? 30000 : 2000));
  }
}

// ---- start -----------------------------------------------------------------------------------------------------

window.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    $('signin-error').textContent = '';
    try {
      await signIn($('token').value.trim(), $('remember').checked);
      $('token').value = '';
    } catch (e) {
      state.token = null;
      $('signin-error').textContent = 'Sign-in failed: ' + e.message;
    }
  });
  $('signout').addEventListener('click', () => signOut());
  setInterval(() => { if (state.status) renderStatus(); }, 5000); // keeps "N s ago" honest between updates
  const token = storedToken();
  if (!token) { signOut(); return; }
  signIn(token, false).catch(e => signOut(e.auth ? 'The stored token was refused: sign in again.' : 'Could not reach the control plane: ' + e.message));
});
