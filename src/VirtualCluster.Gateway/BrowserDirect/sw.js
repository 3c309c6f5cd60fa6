// VirtualCluster browser-direct service worker. It cannot hold a WebRTC connection itself (RTCPeerConnection is not
// available in workers), so it hands each request of the app's frame to the bootstrap page, which sends it over a data
// channel straight to the node running the service and streams the response back. When the page has no direct link
// (none came up, or it dropped), the request goes to the gateway like any other, marked so the gateway proxies it.
'use strict';
const PREFIX = '/.vc/direct/';
const HEAD_TIMEOUT_MS = 15000;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', event => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', event => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith(PREFIX)) return;
  // The tab's own navigation gets the bootstrap page from the gateway.
  if (event.request.mode === 'navigate' && event.request.destination === 'document') return;
  event.respondWith(handle(event.request));
});

async function handle(request) {
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.clone().arrayBuffer();
  const page = await pageClient();
  if (page) {
    const response = await viaPage(page, request, body).catch(() => null);
    if (response) return response;
  }
  return viaGateway(request, body);
}

async function pageClient() {
  const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return all.find(c => c.frameType === 'top-level' && new URL(c.url).origin === self.location.origin) || null;
}

function viaGateway(request, body) {
  const headers = new Headers(request.headers);
  headers.set('X-VC-Direct', 'fallback');
  return fetch(request.url, {
    method: request.method, headers, body, credentials: 'include', cache: 'no-store',
    redirect: request.mode === 'navigate' ? 'manual' : request.redirect,
  });
}

// Resolves to the page's response, or null when the page says the request must go to the gateway.
function viaPage(page, request, body) {
  return new Promise(resolve => {
    const channel = new MessageChannel();
    let controller = null;
    let settled = false;
    const settle = value => { if (!settled) { settled = true; clearTimeout(timer); resolve(value); } };
    const idempotent = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(request.method);
    const timer = setTimeout(() => { if (idempotent) settle(null); }, HEAD_TIMEOUT_MS);
    channel.port1.onmessage = event => {
      const m = event.data;
      if (m.type === 'fallback') settle(null);
      else if (m.type === 'head') {
        const nullBody = request.method === 'HEAD' || [204, 205, 304].includes(m.status);
        const stream = nullBody ? null : new ReadableStream({ start(c) { controller = c; } });
        settle(new Response(stream, { status: m.status, statusText: m.statusText, headers: m.headers }));
      } else if (m.type === 'body') { if (controller) controller.enqueue(new Uint8Array(m.chunk)); }
      else if (m.type === 'end') { if (controller) controller.close(); channel.port1.close(); }
      else if (m.type === 'error') {
        if (controller) controller.error(new Error(m.message));
        else settle(new Response(m.message, { status: 502, statusText: 'Bad Gateway' }));
        channel.port1.close();
      }
    };
    const transfer = body ? [channel.port2, body] : [channel.port2];
    page.postMessage({ type: 'fetch', method: request.method, url: request.url, headers: [...request.headers], body }, transfer);
  });
}
