#!/usr/bin/env node
// DEVELOPMENT TOOL, not a test and not part of ledgerd: serves api/ui/ and a stand-in for the
// network view API (the shapes of api/openapi.yaml's /v1/me, /v1/networks, network invoices
// and balances, provider invoices, explain, quota), so that the dashboard can be looked at
// without a ledgerd that has those routes. The figures are real: provider invoices, explain
// and quota come from `ledgerctl` on a ledger you give it; network invoices and balances are
// summed here from `ledgerctl export` the way the API defines them.
//
//   build/ledgerctl generate --seed 1 --events 20000 --out /tmp/demo.jsonl
//   build/ledgerctl append --db /tmp/demo /tmp/demo.jsonl
//   node tests/browser/mock_server.mjs --ledgerctl build/ledgerctl --db /tmp/demo --port 8099
//     [--port 0 --port-file FILE]   an ephemeral port, written to FILE
//     [--tight]   allocations cut so that each network's budget runs out during the year
//     [--busy]    explain answers 503 busy (Retry-After: 2)
// Tokens: coordinator (N-ADULT-01), coordinator2 (N-CHILD-01), auditor, operator, recorder.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const flag = (name) => args.includes(name);
const here = path.dirname(fileURLToPath(import.meta.url));
const uiDir = path.resolve(here, '../../api/ui');
const ctl = opt('--ledgerctl', path.resolve(here, '../../build/ledgerctl'));
const db = opt('--db');
const port = Number(opt('--port', '8099'));
const portFile = opt('--port-file');
const tight = flag('--tight');
const busy = flag('--busy');
if (!db) { console.error('usage: mock_server.mjs --db DIR [--ledgerctl PATH] [--port N] [--tight] [--busy]'); process.exit(2); }

const TOKENS = {
  coordinator: { role: 'coordinator', network_id: 'N-ADULT-01', name: 'demo-coordinator' },
  coordinator2: { role: 'coordinator', network_id: 'N-CHILD-01', name: 'child-coordinator' },
  auditor: { role: 'auditor', network_id: null, name: 'demo-auditor' },
  operator: { role: 'operator', network_id: null, name: 'demo-operator' },
  recorder: { role: 'recorder', network_id: null, name: 'demo-recorder' },
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.md': 'text/markdown; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

function run(...a) { return execFileSync(ctl, [...a, '--db', db], { maxBuffer: 1 << 28 }).toString(); }

// What the events say: networks, each care event's function, the last seq.
const networks = new Map();
const functionOf = new Map();
let seq = 0;
for (const line of run('events').split('\n')) {
  if (!line) continue;
  const e = JSON.parse(line);
  seq = e.seq;
  if (e.type === 'network.registered') networks.set(e.network_id, { network_id: e.network_id, name: e.name, population: e.population });
  if (e.function) functionOf.set(e.id, e.function);
}
function fnOf(line) {
  if (line.item.startsWith('community')) return 'community';
  if (line.item === 'support_mission_hour') return 'support_mission';
  if (line.item === 'concertation_unit') return 'concertation';
  return functionOf.get(line.event_id) === 'treatment' ? 'treatment' : 'support';
}

const exports = new Map();
function monthExport(month) {
  if (!exports.has(month)) exports.set(month, JSON.parse(run('export', '--month', month)).invoices);
  return exports.get(month);
}
const zero = () => ({ fee_cents: 0, copay_cents: 0, insurer_cents: 0 });
function add(t, l) { t.fee_cents += l.fee_cents; t.copay_cents += l.copay_cents; t.insurer_cents += l.insurer_cents; }

// One provider's lines in `month` as `who` sees them (a coordinator: their network's only).
function providerInvoice(provider, month, network) {
  const inv = monthExport(month).find((i) => i.provider_id === provider);
  const lines = (inv ? inv.lines : []).filter((l) => !network || l.network_id === network);
  const totals = zero();
  let billable = 0;
  for (const l of lines) if (l.billable) { add(totals, l); billable++; }
  return { provider_id: provider, month, totals, billable_lines: billable, unbillable_lines: lines.length - billable, lines };
}

function networkInvoice(network, month) {
  const out = { network_id: network, month, totals: zero(), billable_lines: 0, unbillable_lines: 0, unbillable_by_reason: {}, providers: [] };
  for (const inv of monthExport(month)) {
    const p = { provider_id: inv.provider_id, totals: zero(), billable_lines: 0, unbillable_lines: 0, unbillable_by_reason: {} };
    for (const l of inv.lines) {
      if (l.network_id !== network) continue;
      if (l.billable) { add(p.totals, l); add(out.totals, l); p.billable_lines++; out.billable_lines++; } else {
        p.unbillable_lines++; out.unbillable_lines++;
        p.unbillable_by_reason[l.reason] = (p.unbillable_by_reason[l.reason] || 0) + 1;
        out.unbillable_by_reason[l.reason] = (out.unbillable_by_reason[l.reason] || 0) + 1;
      }
    }
    if (p.billable_lines + p.unbillable_lines) out.providers.push(p);
  }
  out.providers.sort((a, b) => (a.provider_id < b.provider_id ? -1 : 1));
  return out;
}

function isoDay(d) { return d.toISOString().slice(0, 10); }
function balance(network, year) {
  const b = JSON.parse(run('balance', '--network', network, '--year', String(year)));
  const months = [];
  let cumulative = 0;
  let last = -1;
  for (let m = 1; m <= 12; m++) {
    const month = `${year}-${String(m).padStart(2, '0')}`;
    const by = { community: 0, support: 0, treatment: 0, support_mission: 0, concertation: 0 };
    let consumed = 0;
    for (const inv of monthExport(month)) {
      for (const l of inv.lines) {
        if (l.network_id !== network || !l.billable) continue;
        by[fnOf(l)] += l.insurer_cents;
        consumed += l.insurer_cents;
      }
    }
    cumulative += consumed;
    months.push({ month, consumed_cents: consumed, cumulative_cents: cumulative, by_function: by });
    if (consumed > 0) last = m;
  }
  months.length = Math.max(0, last);
  let allocated = b.allocated_cents;
  const asOf = b.as_of_care_date;
  let exhaustion = b.projected_exhaustion;
  if (tight && asOf && cumulative > 0) {
    const start = Date.UTC(year, 0, 1);
    const days = (Date.parse(asOf) - start) / 864e5 + 1;
    allocated = Math.round((cumulative / days) * 365 * 0.78);
    const runsOut = start + Math.ceil(allocated / (cumulative / days)) * 864e5 - 864e5;
    exhaustion = runsOut <= Date.UTC(year, 11, 31) ? isoDay(new Date(runsOut)) : null;
  }
  return { network_id: network, year, allocated_cents: allocated, consumed_cents: cumulative,
    remaining_cents: allocated - cumulative, projected_exhaustion: exhaustion, as_of_care_date: asOf, months };
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Ledger-Seq': String(seq), ...headers });
  res.end(text);
}
const err = (res, status, code, message, field, headers) =>
  send(res, status, { error: { code, message, ...(field ? { field } : {}) } }, headers);

function serveUi(req, res, rel) {
  const file = path.resolve(uiDir, rel || 'index.html');
  if (!file.startsWith(uiDir + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found'); return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
    'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : fs.readFileSync(file));
}

function route(req, res) {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (p === '/' || p === '/ui') { res.writeHead(308, { Location: '/ui/' }); res.end(); return; }
  if (p.startsWith('/ui/')) { serveUi(req, res, decodeURIComponent(p.slice(4))); return; }
  const auth = (req.headers.authorization || '').replace(/^Bearer /, '');
  const who = TOKENS[auth];
  if (!who) { err(res, 401, 'unauthenticated', 'no or unknown bearer token', null, { 'WWW-Authenticate': 'Bearer' }); return; }
  const scoped = who.role === 'coordinator' ? who.network_id : null;
  const reads = who.role !== 'recorder';
  let m;
  if (p === '/v1/me') { send(res, 200, who); return; }
  if (!reads) { err(res, 403, 'forbidden', 'a recorder token may not read'); return; }
  if (p === '/v1/networks') {
    const all = [...networks.values()].sort((a, b) => (a.network_id < b.network_id ? -1 : 1));
    send(res, 200, { networks: all.filter((n) => !scoped || n.network_id === scoped) }); return;
  }
  if ((m = p.match(/^\/v1\/networks\/([^/]+)\/(invoices|balances)\/([^/]+)$/))) {
    const [, id, what, when] = m;
    if (scoped && id !== scoped) { err(res, 403, 'forbidden', `a coordinator of ${scoped} may not read ${id}`); return; }
    if (!networks.has(id)) { err(res, 404, 'not_found', `no network ${id}`); return; }
    if (what === 'invoices') {
      if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(when)) { err(res, 400, 'invalid_argument', 'month must be YYYY-MM', 'month'); return; }
      send(res, 200, networkInvoice(id, when)); return;
    }
    if (!/^\d{4}$/.test(when)) { err(res, 400, 'invalid_argument', 'year must be YYYY', 'year'); return; }
    send(res, 200, balance(id, Number(when))); return;
  }
  if ((m = p.match(/^\/v1\/providers\/([^/]+)\/invoices\/(\d{4}-\d{2})$/))) {
    const inv = providerInvoice(m[1], m[2], scoped);
    if (scoped && inv.lines.length === 0 && !monthExport(m[2]).some((i) => i.provider_id === m[1])) {
      err(res, 404, 'not_found', `no provider ${m[1]} in ${scoped}`); return;
    }
    send(res, 200, inv); return;
  }
  if ((m = p.match(/^\/v1\/events\/([^/]+)\/explain$/))) {
    if (busy) { err(res, 503, 'busy', 'the audit thread is busy', null, { 'Retry-After': '2' }); return; }
    try {
      const x = JSON.parse(run('explain', '--event', m[1]));
      if (scoped && x.network_id !== scoped) { err(res, 403, 'forbidden', `event ${m[1]} is not in ${scoped}`); return; }
      send(res, 200, x);
    } catch (e) { err(res, 404, 'not_found', `no care event ${m[1]}`); }
    return;
  }
  if ((m = p.match(/^\/v1\/beneficiaries\/([^/]+)\/quota$/))) {
    const on = url.searchParams.get('on');
    if (!/^\d{11}$/.test(m[1])) { err(res, 400, 'invalid_argument', 'not a valid NISS', 'niss'); return; }
    try {
      const q = JSON.parse(run('quota', '--niss', m[1], '--on', on));
      if (scoped) q.trajectories = q.trajectories.filter((t) => t.network_id === scoped);
      if (scoped && !q.trajectories.length) { err(res, 404, 'not_found', 'no such beneficiary in your network'); return; }
      send(res, 200, q);
    } catch (e) { err(res, 400, 'invalid_argument', 'not a valid NISS', 'niss'); }
    return;
  }
  err(res, 404, 'not_found', `no route ${p}`);
}

const server = http.createServer((req, res) => {
  try { route(req, res); } catch (e) { console.error(e); err(res, 500, 'storage', String(e.message)); }
});
server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  if (portFile) fs.writeFileSync(portFile, `${bound}\n`);
  console.log(`mock ledgerd (dev tool) on http://127.0.0.1:${bound}/ui/`);
});
