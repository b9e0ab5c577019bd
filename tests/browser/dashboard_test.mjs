// The dashboard in a real browser (headless Chromium driven by puppeteer-core), against a real
// ledgerd on a generated ledger: the page served at /ui/, the figures it shows equal to the
// API's, a wrong token refused, another network out of reach, no Content-Security-Policy
// violation, screenshots saved. Run by dashboard_test.sh (CTest), which finds Chromium and
// puppeteer-core; exit 0 passed, 1 failed, 77 skipped (with the reason on stdout).
//
// Until ledgerd serves /ui/ (FindUiAsset wired into the server), the page cannot be loaded
// from it: the test then loads the page's files from api/ui/ into ledgerd's origin by request
// interception (with the same headers), or, while ledgerd lacks the network routes too, runs
// against the development mock (mock_server.mjs), and reports SKIPPED, never passed.
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
};
const ledgerctl = arg('--ledgerctl');
const ledgerd = arg('--ledgerd');
const uiDir = arg('--ui');
const outDir = arg('--out');
const chromium = arg('--chromium');
const depsDir = arg('--deps');
const mockScript = arg('--mock');
const puppeteer = createRequire(path.join(depsDir, 'package.json'))('puppeteer-core');

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const TOKEN_KEY = 'ledger.dashboard.token';
const NETWORK = 'N-ADULT-01';
const OTHER = 'N-CHILD-01';

// --- a small TAP-like reporter ---------------------------------------------------------------
let checks = 0;
function ok(cond, what, detail) {
  checks++;
  if (!cond) {
    const e = new Error(`${what}${detail !== undefined ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
    e.check = true;
    throw e;
  }
  console.log(`ok ${checks} - ${what}`);
}
function eq(actual, expected, what) {
  ok(JSON.stringify(actual) === JSON.stringify(expected), what,
    `got ${JSON.stringify(actual).slice(0, 400)}, want ${JSON.stringify(expected).slice(0, 400)}`);
}

// --- processes -------------------------------------------------------------------------------
const children = [];
function cleanUp() { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); }
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanUp(); process.exit(1); });

function start(cmd, args, logFile, portFile) {
  const log = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30000;
    const poll = () => {
      if (child.exitCode !== null) { reject(new Error(`${path.basename(cmd)} exited: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`)); return; }
      const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
      if (/^\d+$/.test(text)) { resolve(Number(text)); return; }
      if (Date.now() > deadline) { reject(new Error(`${path.basename(cmd)} wrote no port in 30 s`)); return; }
      setTimeout(poll, 100);
    };
    poll();
  });
}

// --- the API, from outside the browser -------------------------------------------------------
let base = '';
async function get(p, token, tries = 20) {
  const res = await fetch(base + p, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (res.status === 503 && tries > 0) {
    await new Promise((r) => setTimeout(r, 250));
    return get(p, token, tries - 1);
  }
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = text; }
  return { status: res.status, headers: res.headers, body };
}
// The status of a GET whose path is sent exactly as written (fetch would normalise "..").
function rawStatus(rawPath) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: u.hostname, port: u.port, path: rawPath }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
  });
}

async function getOk(p, token) {
  const r = await get(p, token);
  if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

// The month the page opens by default: the latest with spending, this year or up to five back.
async function latestSpendingMonth(network, token, thisYear) {
  for (let y = thisYear; y >= thisYear - 5; y--) {
    const b = await getOk(`/v1/networks/${network}/balances/${y}`, token);
    const spent = b.months.filter((m) => m.consumed_cents > 0);
    if (spent.length) return spent[spent.length - 1].month;
  }
  return null;
}
async function anySpendingMonth(network, token) {
  for (let y = 2030; y >= 2015; y--) {
    const b = await getOk(`/v1/networks/${network}/balances/${y}`, token);
    const spent = b.months.filter((m) => m.consumed_cents > 0);
    if (spent.length) return spent.map((m) => m.month);
  }
  return [];
}

// --- the browser -----------------------------------------------------------------------------
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.md': 'text/markdown; charset=utf-8' };

async function newPage(browser, viewport, injectUi) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`);
    if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const origin = new URL(base).origin;
  const foreign = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.origin !== origin) { foreign.push(req.url()); req.abort(); return; }
    if (injectUi && u.pathname.startsWith('/ui/')) {
      const rel = u.pathname.slice(4) || 'index.html';
      const file = path.resolve(uiDir, rel);
      if (file.startsWith(uiDir + path.sep) && fs.existsSync(file)) {
        req.respond({ status: 200, contentType: TYPES[path.extname(file)] || 'application/octet-stream',
          headers: { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff',
            'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-cache' },
          body: fs.readFileSync(file) });
        return;
      }
    }
    req.continue();
  });
  return { page, problems, foreign };
}

const visible = (page, sel) => page.$eval(sel, (e) => !e.hidden && e.offsetParent !== null && e.getClientRects().length > 0).catch(() => false);

async function signIn(page, token) {
  await page.$eval('[data-testid=token]', (e) => { e.value = ''; });
  await page.type('[data-testid=token]', token);
  await page.click('[data-testid=login]');
}

async function waitForMonth(page, month, feeCents) {
  await page.waitForFunction((m, f) => {
    const t = document.querySelector('[data-testid=month-total]');
    return document.querySelector('[data-testid=month]').value === m && t && t.dataset.feeCents === String(f);
  }, { timeout: 15000 }, month, feeCents);
}

async function setMonth(page, month) {
  await page.$eval('[data-testid=month]', (e, m) => {
    e.value = m;
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }, month);
}

// The figures shown for `network` in `month` against the API's, as `token` sees them.
async function checkMonth(page, network, month, token, label) {
  const inv = await getOk(`/v1/networks/${network}/invoices/${month}`, token);
  await waitForMonth(page, month, inv.totals.fee_cents);
  const shown = await page.$eval('[data-testid=month-total]', (e) => Number(e.dataset.feeCents));
  eq(shown, inv.totals.fee_cents, `${label}: month-total data-fee-cents = the API's totals.fee_cents (${month})`);
  const text = await page.$eval('#total-fee', (e) => e.textContent);
  const want = await page.evaluate((c) => new Intl.NumberFormat('nl-BE', { style: 'currency', currency: 'EUR' }).format(c / 100), inv.totals.fee_cents);
  eq(text, want, `${label}: the month's fees shown in Belgian format`);
  ok(/^€\s\d{1,3}(\.\d{3})*,\d{2}$/.test(text.replace(/\u00a0/g, ' ')), `${label}: euros read like "€ 1.234,56"`, text);
  const rows = await page.$$eval('[data-testid=provider-row]', (rs) => rs.map((r) => [r.dataset.provider, Number(r.dataset.feeCents)]));
  eq(rows, inv.providers.map((p) => [p.provider_id, p.totals.fee_cents]), `${label}: one provider-row per provider, each with the API's fee_cents`);
  return inv;
}

// The NISS and care date of individual session `eventId` (from the generated events).
let eventsFile = '';
function sessionOf(eventId) {
  const needle = `"id":"${eventId}"`;
  for (const line of fs.readFileSync(eventsFile, 'utf8').split('\n')) {
    if (!line.includes(needle)) continue;
    const e = JSON.parse(line);
    if (e.id === eventId) return { niss: e.beneficiary.niss, on: e.occurred_on };
  }
  throw new Error(`no event ${eventId} in the generated history`);
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(outDir)) if (f.endsWith('.png')) fs.rmSync(path.join(outDir, f));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-dashboard-'));
  const db = path.join(work, 'db');
  const events = path.join(work, 'events.jsonl');
  eventsFile = events;
  const tokensFile = path.join(work, 'tokens.jsonl');
  execFileSync(ledgerctl, ['generate', '--seed', '1', '--events', '20000', '--out', events]);
  execFileSync(ledgerctl, ['append', '--db', db, events], { stdio: ['ignore', 'ignore', 'inherit'] });
  const addToken = (...a) => execFileSync(ledgerctl, ['tokens', 'add', '--file', tokensFile, ...a]).toString().trim();
  let tokens = {
    c1: addToken('--role', 'coordinator', '--network', NETWORK, '--name', 'c1'),
    c2: addToken('--role', 'coordinator', '--network', OTHER, '--name', 'c2'),
    auditor: addToken('--role', 'auditor', '--name', 'a1'),
  };
  const port = await start(ledgerd, ['--db', db, '--listen', '127.0.0.1:0', '--port-file', path.join(work, 'port'),
    '--tokens', tokensFile, '--quiet'], path.join(work, 'ledgerd.log'), path.join(work, 'port'));
  base = `http://127.0.0.1:${port}`;

  // What this ledgerd can do: serve the page, answer the network view.
  const uiProbe = await get('/ui/');
  const uiServed = uiProbe.status === 200 && /^text\/html/.test(uiProbe.headers.get('content-type') || '');
  const apiReady = (await get('/v1/networks', tokens.auditor)).status === 200;
  const mode = uiServed && apiReady ? 'ledgerd' : apiReady ? 'ledgerd-api' : 'mock';
  if (uiServed) {
    eq(uiProbe.headers.get('content-security-policy'), CSP, 'GET /ui/ sends the strict Content-Security-Policy');
    eq(uiProbe.headers.get('x-content-type-options'), 'nosniff', 'GET /ui/ sends X-Content-Type-Options: nosniff');
    eq(uiProbe.headers.get('referrer-policy'), 'no-referrer', 'GET /ui/ sends Referrer-Policy: no-referrer');
    eq(uiProbe.headers.get('cache-control'), 'no-cache', 'GET /ui/ sends Cache-Control: no-cache');
    const js = await get('/ui/app.js');
    ok(js.status === 200 && /^text\/javascript/.test(js.headers.get('content-type')), 'GET /ui/app.js is served as JavaScript');
    eq(fs.readFileSync(path.join(uiDir, 'app.js'), 'utf8') === js.body, true, 'GET /ui/app.js is the file under api/ui/');
    for (const raw of ['/ui/../CMakeLists.txt', '/ui/..%2fCMakeLists.txt', '/ui/%2e%2e/api/CMakeLists.txt', '/ui//etc/passwd']) {
      const status = await rawStatus(raw);
      ok(status === 404 || status === 400, `${raw} (sent as is) is refused`, status);
    }
    eq((await get('/ui/nope.js')).status, 404, 'an unknown /ui/ file answers 404');
    const redirect = await fetch(`${base}/`, { redirect: 'manual' });
    ok([301, 302, 303, 307, 308].includes(redirect.status) && /\/ui\/$/.test(redirect.headers.get('location') || ''),
      'GET / redirects to /ui/', `${redirect.status} ${redirect.headers.get('location')}`);
  }
  if (mode === 'mock') {
    console.log('# ledgerd has no /v1/networks yet: checking the page against the development mock instead');
    const mockPort = await start(process.execPath, [mockScript, '--db', db, '--ledgerctl', ledgerctl, '--port', '0',
      '--port-file', path.join(work, 'mock-port')], path.join(work, 'mock.log'), path.join(work, 'mock-port'));
    base = `http://127.0.0.1:${mockPort}`;
    tokens = { c1: 'coordinator', c2: 'coordinator2', auditor: 'auditor' };
  } else if (mode === 'ledgerd-api') {
    console.log('# ledgerd does not serve /ui/ yet: the page\'s files are injected into its origin from api/ui/');
  }
  // LEDGER_BROWSER_INJECT=1 injects the files whatever serves them (to try the injection).
  const inject = mode === 'ledgerd-api' || process.env.LEDGER_BROWSER_INJECT === '1';

  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${fs.mkdtempSync(path.join(work, 'chromium-'))}`, '--lang=en-GB'],
  });
  try {
    await run(browser, tokens, inject);
  } finally {
    await browser.close();
  }
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`# ${checks} checks passed; screenshots in ${outDir}`);
  if (mode !== 'ledgerd') {
    const lacks = !apiReady && !uiServed ? 'has neither the network view routes nor /ui/'
      : !apiReady ? 'serves /ui/ but has no /v1/networks' : 'does not serve /ui/';
    console.log(`SKIPPED: ledgerd ${lacks} yet; the page passed against ` +
      `${mode === 'mock' ? 'the development mock' : "ledgerd's API with the files injected"}`);
    process.exit(77);
  }
  cleanUp();  // ledgerd and the other children would keep the event loop alive
  process.exit(0);
}

async function run(browser, tokens, inject) {
  const desktop = { width: 1366, height: 900 };
  const phone = { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

  // 1. A wrong token: a visible error, nothing kept, no dashboard.
  const { page, problems, foreign } = await newPage(browser, desktop, inject);
  const nav = await page.goto(`${base}/ui/`, { waitUntil: 'networkidle0' });
  eq(nav.status(), 200, 'the page loads from /ui/');
  await page.waitForSelector('[data-testid=token]', { visible: true });
  await page.screenshot({ path: path.join(outDir, 'login-desktop.png') });
  await signIn(page, 'not-a-token-at-all');
  await page.waitForSelector('[data-testid=error]:not([hidden])', { visible: true, timeout: 10000 });
  const message = await page.$eval('[data-testid=error]:not([hidden])', (e) => e.textContent);
  ok(/not accepted/i.test(message), 'a wrong token shows a visible error naming the token', message);
  ok(!(await visible(page, '#dashboard')), 'a wrong token shows no figures');
  eq(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null, 'a wrong token is not kept');
  await page.screenshot({ path: path.join(outDir, 'wrong-token-desktop.png') });

  // 2. The coordinator: their network only, the default month, the figures equal the API's.
  await signIn(page, tokens.c1);
  await page.waitForSelector('[data-testid=provider-row]', { timeout: 20000 });
  ok(!(await visible(page, '[data-testid=error]')), 'signed in: no error shown');
  eq(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), tokens.c1, 'the token is kept in sessionStorage');
  eq(await page.evaluate((k) => localStorage.getItem(k), TOKEN_KEY), null, 'the token is not in localStorage');
  const networkShown = await page.$$eval('[data-testid=network]', (es) => es.map((e) => [e.tagName, e.value || e.textContent, e.dataset.networkId || null]));
  eq(networkShown.length, 1, 'one network element');
  ok(networkShown[0][0] !== 'SELECT', "a coordinator gets no network picker", networkShown);
  ok(String(networkShown[0][1]).includes(NETWORK), `the coordinator's page shows ${NETWORK}`, networkShown);
  const thisYear = await page.evaluate(() => new Date().getFullYear());
  const defaultMonth = await latestSpendingMonth(NETWORK, tokens.c1, thisYear);
  const months = await anySpendingMonth(NETWORK, tokens.c1);
  ok(months.length >= 2, 'the generated ledger has months with spending', months);
  let month;
  if (defaultMonth) {
    month = defaultMonth;
    eq(await page.$eval('[data-testid=month]', (e) => e.value), month, 'the month shown by default is the latest with spending');
  } else {
    console.log(`# no spending within five years of ${thisYear}: choosing ${months[months.length - 1]}`);
    month = months[months.length - 1];
    await setMonth(page, month);
  }
  const inv = await checkMonth(page, NETWORK, month, tokens.c1, 'coordinator');

  // The year's budget: key figures and the chart.
  const balance = await getOk(`/v1/networks/${NETWORK}/balances/${month.slice(0, 4)}`, tokens.c1);
  const fmt = (c) => page.evaluate((x) => new Intl.NumberFormat('nl-BE', { style: 'currency', currency: 'EUR' }).format(x / 100), c);
  eq(await page.$eval('#kpi-allocated', (e) => e.textContent), await fmt(balance.allocated_cents), 'the allocation shown is the API\'s');
  eq(await page.$eval('#kpi-consumed', (e) => e.textContent), await fmt(balance.consumed_cents), 'the spend shown is the API\'s');
  eq(await page.$eval('#kpi-remaining', (e) => e.textContent), await fmt(balance.remaining_cents), 'the remainder shown is the API\'s');
  const exhaustion = await page.$eval('[data-testid=exhaustion]', (e) => e.textContent);
  if (balance.projected_exhaustion) {
    const want = await page.evaluate((d) => new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${d}T00:00:00Z`)), balance.projected_exhaustion);
    eq(exhaustion, want, 'the projected exhaustion date is shown');
  } else {
    eq(exhaustion, 'Lasts the year', 'no exhaustion date: the budget lasts the year');
  }
  const chart = await page.$eval('[data-testid=budget-chart] canvas', (c) => [c.width, c.height, c.toDataURL().length]);
  ok(chart[0] > 200 && chart[1] > 100 && chart[2] > 5000, 'the budget chart is drawn', chart);

  // A provider's lines equal the API's; a line's explanation is the API's.
  const provider = [...inv.providers].sort((a, b) => (b.billable_lines + b.unbillable_lines) - (a.billable_lines + a.unbillable_lines))[0];
  const pinv = await getOk(`/v1/providers/${provider.provider_id}/invoices/${month}`, tokens.c1);
  eq(pinv.totals.fee_cents, provider.totals.fee_cents, `the API agrees with itself: ${provider.provider_id}'s invoice = its row in the network's`);
  await page.click(`[data-testid=provider-row][data-provider="${provider.provider_id}"]`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=invoice-line]').length === n, { timeout: 15000 }, pinv.lines.length);
  const lines = await page.$$eval('[data-testid=invoice-line]', (rs) => rs.map((r) => [r.dataset.eventId, Number(r.dataset.feeCents)]));
  eq(lines, pinv.lines.map((l) => [l.event_id, l.fee_cents]), `${provider.provider_id}'s invoice-lines are the API's lines, in order`);
  const line = pinv.lines.find((l) => !l.billable) || pinv.lines[0];
  const explain = await getOk(`/v1/events/${encodeURIComponent(line.event_id)}/explain`, tokens.c1);
  await page.click(`[data-testid=invoice-line][data-event-id="${line.event_id}"]`);
  await page.waitForSelector('[data-testid=explain-sum], #explain-body .facts', { timeout: 15000 });
  const sums = await page.$$eval('[data-testid=explain-sum]', (es) => es.map((e) => e.textContent));
  eq(sums, explain.lines.filter((l) => l.arithmetic && l.arithmetic.sum).map((l) => l.arithmetic.sum), `the explanation of ${line.event_id} shows the API's arithmetic`);

  // The quota of the beneficiary of a billable session of that provider (the NISS is typed,
  // never printed).
  const session = pinv.lines.find((l) => l.billable && l.item === 'individual_session');
  ok(session !== undefined, `${provider.provider_id} has a billable individual session in ${month}`);
  const { niss, on: onDay } = sessionOf(session.event_id);
  const quota = await getOk(`/v1/beneficiaries/${niss}/quota?on=${onDay}`, tokens.c1);
  await page.$eval('[data-testid=quota-niss]', (e) => { e.value = ''; });
  await page.type('[data-testid=quota-niss]', niss);
  await page.$eval('[data-testid=quota-on]', (e, d) => { e.value = d; e.dispatchEvent(new Event('input', { bubbles: true })); }, onDay);
  await page.click('[data-testid=quota-lookup]');
  await page.waitForFunction(() => document.querySelector('[data-testid=quota-result]').textContent.includes('active on'), { timeout: 15000 });
  const quotaRows = await page.$$eval('[data-testid=quota-row]', (rs) => rs.map((r) => r.children[3].textContent.trim()));
  ok(quota.trajectories.length > 0, 'the beneficiary has a trajectory active on the session\'s date');
  eq(quotaRows, quota.trajectories.map((t) => (Number(t.max) > 0 ? `${t.used} / ${t.max}` : String(t.used))),
    'the quota lookup shows the API\'s trajectories and counters');
  await page.$eval('[data-testid=quota-niss]', (e) => { e.value = '12345'; });
  await page.click('[data-testid=quota-lookup]');
  ok(await visible(page, '#quota-error'), 'a malformed NISS shows an error');

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(outDir, 'dashboard-desktop.png'), fullPage: true });

  // Another month, picked.
  const other = months.filter((m) => m !== month).pop();
  await setMonth(page, other);
  await checkMonth(page, NETWORK, other, tokens.c1, 'coordinator, another month');
  ok(!(await visible(page, '#provider-view')), 'changing the month closes the provider view');

  // 3. Another network is out of reach from the coordinator's page.
  const all = (await getOk('/v1/networks', tokens.auditor)).networks.map((n) => n.network_id);
  ok(all.includes(OTHER) && all.length > 2, 'the auditor sees every network', all.length);
  eq((await getOk('/v1/networks', tokens.c1)).networks.map((n) => n.network_id), [NETWORK], 'the coordinator\'s /v1/networks lists theirs alone');
  const text = await page.evaluate(() => document.body.innerText);
  eq(all.filter((id) => id !== NETWORK && text.includes(id)), [], 'the coordinator\'s page names no other network');
  const direct = await page.evaluate(async (k, n, m) => {
    const r = await fetch(`/v1/networks/${n}/invoices/${m}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem(k)}` } });
    const b = await r.json().catch(() => null);
    return [r.status, b && b.error && b.error.code];
  }, TOKEN_KEY, OTHER, other);
  eq(direct, [403, 'forbidden'], `a fetch for ${OTHER}'s invoices from the page answers 403`);
  const directBalance = await page.evaluate(async (k, n, y) => (await fetch(`/v1/networks/${n}/balances/${y}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem(k)}` } })).status, TOKEN_KEY, OTHER, other.slice(0, 4));
  eq(directBalance, 403, `a fetch for ${OTHER}'s balance from the page answers 403`);
  await page.goto(`${base}/ui/#network=${OTHER}&month=${other}`, { waitUntil: 'networkidle0' });
  await waitForMonth(page, other, (await getOk(`/v1/networks/${NETWORK}/invoices/${other}`, tokens.c1)).totals.fee_cents);
  const after = await page.$eval('[data-testid=network]', (e) => e.value || e.textContent);
  ok(after.includes(NETWORK) && !after.includes(OTHER), `asking for ${OTHER} in the address shows ${NETWORK} still`, after);

  // 4. Signing out forgets the token.
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=token]', { visible: true });
  eq(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null, 'signing out forgets the token');
  ok(!(await visible(page, '#dashboard')), 'signing out hides the figures');

  // 5. The auditor picks a network.
  await signIn(page, tokens.auditor);
  await page.waitForSelector('select[data-testid=network]', { timeout: 15000 });
  const options = await page.$$eval('select[data-testid=network] option', (os) => os.map((o) => o.value));
  eq(options, all, 'the auditor picks among every network');
  const childMonths = await anySpendingMonth(OTHER, tokens.auditor);
  await page.select('select[data-testid=network]', OTHER);
  const childMonth = childMonths[childMonths.length - 1];
  await page.waitForFunction(() => document.querySelector('[data-testid=month-total]').dataset.feeCents !== undefined, { timeout: 15000 });
  await setMonth(page, childMonth);
  await checkMonth(page, OTHER, childMonth, tokens.auditor, `auditor on ${OTHER}`);

  eq(await page.evaluate(() => window.__csp), [], 'no Content-Security-Policy violation');
  eq(problems, [], 'no script error on the page');
  eq(foreign, [], 'nothing requested from another origin');
  await page.close();

  // 6. A phone: the coordinator's page at 390 px, nothing wider than the screen.
  const p2 = await newPage(browser, phone, inject);
  await p2.page.goto(`${base}/ui/`, { waitUntil: 'networkidle0' });
  await signIn(p2.page, tokens.c1);
  await p2.page.waitForSelector('[data-testid=provider-row]', { timeout: 20000 });
  const overflow = await p2.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  ok(overflow <= 0, 'at 390 px the page is no wider than the screen', overflow);
  await p2.page.click('[data-testid=provider-row]');
  await p2.page.waitForSelector('[data-testid=invoice-line]', { timeout: 15000 });
  await p2.page.evaluate(() => window.scrollTo(0, 0));
  await p2.page.screenshot({ path: path.join(outDir, 'dashboard-phone.png'), fullPage: true });
  eq(await p2.page.evaluate(() => window.__csp), [], 'phone: no Content-Security-Policy violation');
  eq(p2.problems, [], 'phone: no script error on the page');
  await p2.page.close();
  for (const f of ['login-desktop.png', 'wrong-token-desktop.png', 'dashboard-desktop.png', 'dashboard-phone.png']) {
    ok(fs.statSync(path.join(outDir, f)).size > 10000, `screenshot ${f} saved`);
  }
}

main().catch((e) => {
  console.log(`not ok ${checks + 1} - ${e.check ? e.message : `${e.stack}`}`);
  cleanUp();
  process.exit(1);
});
