// The dashboard's connection: one Server-Sent Events stream (GET /dashboard/events), read with
// fetch so that the admin token can go in an Authorization header (HTTPS only), parsed as the
// HTML Standard's event-stream format, and opened again after a lost connection (the node behind
// a VIP died: the VIP's next holder answers). No polling: every update is pushed.
import { render, renderAdmin, setConnection } from './view.js';

const TOKEN_KEY = 'adrestia-admin-token';
let retryMs = 1000;
let current = null;

function token() {
  return location.protocol === 'https:' ? sessionStorage.getItem(TOKEN_KEY) : null;
}

/** Feeds complete events of `buffer` to `onEvent`; returns the unfinished rest. */
function parseEvents(buffer, onEvent) {
  let rest = buffer.replace(/\r\n?/g, '\n');
  let end;
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (data.length > 0) onEvent(event, data.join('\n'));
  }
  return rest;
}

function onEvent(event, data) {
  const value = JSON.parse(data);
  if (event === 'cluster') render(value);
  else if (event === 'admin') renderAdmin(value);
}

async function connect() {
  const controller = new AbortController();
  current = controller;
  const headers = { accept: 'text/event-stream' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  try {
    const res = await fetch('/dashboard/events', { headers, cache: 'no-store', signal: controller.signal });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
    setConnection('live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseEvents(buffer + value, onEvent);
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    console.warn('dashboard stream:', err);
  }
  if (current !== controller) return;
  setConnection('reconnecting');
  setTimeout(connect, retryMs);
}

/** A new token takes effect on a new stream. */
export function useToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  current?.abort();
  void connect();
}

window.addEventListener('DOMContentLoaded', () => {
  render(null, { onToken: useToken, tokenSet: token() !== null, https: location.protocol === 'https:' });
  void connect();
});
