// The network dashboard: one page, plain JavaScript, charts by Chart.js (vendor/).
// It holds no data of its own: everything is read from the ledger's HTTP API with the bearer
// token the user pastes, which is kept in sessionStorage only (this tab, until sign-out).
// Works under the strict Content-Security-Policy ledgerd sends: no inline script or style;
// styles are set through the CSSOM only.
'use strict';

(function () {
  const TOKEN_KEY = 'ledger.dashboard.token';
  const LOCALE = 'nl-BE';
  const FUNCTIONS = [
    ['treatment', 'Treatment', '#0072B2'],
    ['support', 'Support', '#56B4E9'],
    ['community', 'Community', '#009E73'],
    ['support_mission', 'Support missions', '#E69F00'],
    ['concertation', 'Concertation', '#CC79A7'],
  ];
  const REASONS = {
    no_convention: 'No convention in force',
    provider_not_enrolled: 'Provider not enrolled',
    age_outside_network: "Age outside the network's population",
    no_assessment: 'No assessment before treatment',
    daily_limit: 'Daily limit reached',
    counter_exhausted: 'Session counter exhausted',
    group_too_small: 'Group too small',
    community_requirements: 'Community requirements not met',
    concertation_requirements: 'Concertation requirements not met',
  };
  const ITEMS = {
    individual_session: 'Individual session',
    group_session_psychologist: 'Group session (psychologist)',
    group_session_other: 'Group session (other)',
    community_psychologist: 'Community intervention (psychologist)',
    community_other: 'Community intervention (other)',
    community_intervention_psychologist: 'Community intervention (psychologist)',
    community_intervention_other: 'Community intervention (other)',
    support_mission_hour: 'Support mission hour',
    concertation_unit: 'Concertation unit',
  };
  const ROLES = { coordinator: 'Coordinator', auditor: 'Auditor', operator: 'Operator', recorder: 'Recorder' };

  const euro = new Intl.NumberFormat(LOCALE, { style: 'currency', currency: 'EUR' });
  const euroShort = new Intl.NumberFormat(LOCALE, {
    style: 'currency', currency: 'EUR', notation: 'compact', maximumFractionDigits: 1,
  });
  const count = new Intl.NumberFormat(LOCALE);
  const percent = new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: 1 });
  const dayFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const dayMonth = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
  const monthShort = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' });
  const monthLong = new Intl.DateTimeFormat('en-GB', { month: 'long', timeZone: 'UTC' });

  const $ = (id) => document.getElementById(id);

  // --- formatting ------------------------------------------------------------------------

  function money(cents) { return euro.format(Number(cents) / 100); }
  function moneyShort(euros) { return euroShort.format(euros); }
  function utc(y, m, d) { return new Date(Date.UTC(y, m, d)); }
  function parseDay(s) { const [y, m, d] = s.split('-').map(Number); return utc(y, m - 1, d); }
  function day(s) { return s ? dayFormat.format(parseDay(s)) : '–'; }
  function monthTitle(ym) { const [y, m] = ym.split('-').map(Number); return monthFormat.format(utc(y, m - 1, 1)); }
  function daysIn(y, m0) { return new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate(); }
  function lastDayOf(ym) {
    const [y, m] = ym.split('-').map(Number);
    return `${ym}-${String(daysIn(y, m - 1)).padStart(2, '0')}`;
  }
  function reasonLabel(code) { return REASONS[code] || code.replace(/_/g, ' '); }
  function itemLabel(code) { return ITEMS[code] || code.replace(/_/g, ' '); }
  function humanKey(key) { const s = key.replace(/_/g, ' '); return s.charAt(0).toUpperCase() + s.slice(1); }

  // Creates an element: el('td', {class: 'num', dataset: {x: 1}}, 'text', child...).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // --- the API ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, field, retryAfter) {
      super(message || code || `HTTP ${status}`);
      this.status = status;
      this.code = code || '';
      this.field = field || '';
      this.retryAfter = retryAfter || '';
    }
  }

  let token = null;

  async function api(path) {
    let res;
    try {
      res = await fetch(path, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'network failure');
    }
    const seq = res.headers.get('Ledger-Seq');
    if (seq) $('seq').textContent = `as of ledger seq ${seq}`;
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const e = (body && body.error) || {};
      throw new ApiError(res.status, e.code, e.message, e.field, res.headers.get('Retry-After'));
    }
    if (body === null) throw new ApiError(res.status, 'bad_answer', 'the answer was not JSON');
    return body;
  }

  // What to tell the user about a failed request; `what` names what was asked for.
  function describe(err, what) {
    const detail = err.message && err.code !== 'network' ? ` (${err.message})` : '';
    switch (err.status) {
      case 0:
        return `Cannot reach the ledger server at ${location.host}. Check your connection or that ` +
          'ledgerd is running, then try again.';
      case 401:
        return 'The token was not accepted: it is unknown or has been revoked. Sign in again with a valid token.';
      case 403:
        return `This token is not allowed to see ${what}${detail}.`;
      case 404:
        return `Not found: ${what}${detail}.`;
      case 400:
        return `The ledger refused the request for ${what}: ${err.message}${err.field ? ` (field ${err.field})` : ''}.`;
      case 503: {
        const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : ' Try again in a moment.';
        return `The ledger is busy and could not answer for ${what} now${detail}.${wait}`;
      }
      default:
        return `The ledger failed to answer for ${what} (HTTP ${err.status}${err.code ? `, ${err.code}` : ''})` +
          `${detail}. If this persists, tell the operator.`;
    }
  }

  function showError(node, message) {
    node.textContent = message;
    node.hidden = false;
  }
  function clearError(node) { node.textContent = ''; node.hidden = true; }
  const banner = () => $('error');

  // A failed request: 401 anywhere means the session is over; everything else is shown where
  // it happened (`node`, or the banner).
  function fail(err, what, node) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) {
      signOut();
      showError(banner(), describe(err, what));
      return;
    }
    showError(node || banner(), describe(err, what));
  }

  // --- state -----------------------------------------------------------------------------

  const state = {
    me: null,
    networks: [],
    network: null,   // id
    year: null,      // the balance loaded
    balance: null,
    month: null,     // YYYY-MM
    invoice: null,
    provider: null,
    generation: 0,   // bumps on every change of network or month: late answers are dropped
    charts: {},
    burnScale: 'allocation',
    sort: { key: 'provider', dir: 1 },
    lines: [],
  };

  function readHash() {
    const out = {};
    for (const part of location.hash.replace(/^#/, '').split('&')) {
      const [k, v] = part.split('=');
      if (k && v) out[decodeURIComponent(k)] = decodeURIComponent(v);
    }
    return out;
  }
  function writeHash() {
    const parts = [];
    if (state.network) parts.push(`network=${encodeURIComponent(state.network)}`);
    if (state.month) parts.push(`month=${state.month}`);
    history.replaceState(null, '', `#${parts.join('&')}`);
  }

  // --- sign in / out ---------------------------------------------------------------------

  async function signIn(candidate) {
    clearError(banner());
    token = candidate;
    let me;
    let networks;
    try {
      me = await api('/v1/me');
      networks = (await api('/v1/networks')).networks || [];
    } catch (err) {
      token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      if (err instanceof ApiError && err.status === 401) {
        showError(banner(), describe(err, 'the dashboard'));
      } else if (err instanceof ApiError && err.status === 403) {
        showError(banner(), 'This token may not read network figures (only coordinators, auditors ' +
          'and operators can use the dashboard).');
      } else {
        fail(err, 'who the token is');
      }
      showLogin();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    $('token').value = '';
    state.me = me;
    state.networks = networks;
    $('who-name').textContent = me.name || 'signed in';
    $('who-role').textContent = ROLES[me.role] || me.role;
    $('who').hidden = false;
    $('login-view').hidden = true;
    $('dashboard').hidden = false;
    $('foot').hidden = false;
    if (networks.length === 0) {
      showError(banner(), 'This token sees no network: there is nothing to show.');
      return;
    }
    renderNetworkPicker();
    const wanted = readHash();
    const known = networks.some((n) => n.network_id === wanted.network);
    const first = me.role === 'coordinator' && me.network_id ? me.network_id : networks[0].network_id;
    await openNetwork(known ? wanted.network : first, /^\d{4}-\d{2}$/.test(wanted.month || '') ? wanted.month : null);
  }

  function signOut() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    for (const c of Object.values(state.charts)) c.destroy();
    Object.assign(state, {
      me: null, networks: [], network: null, year: null, balance: null, month: null,
      invoice: null, provider: null, charts: {}, generation: state.generation + 1,
    });
    $('providers-body').replaceChildren();
    $('lines-body').replaceChildren();
    $('explain-body').replaceChildren();
    $('quota-result').replaceChildren();
    $('quota-niss').value = '';
    $('network-slot').replaceChildren();
    $('provider-view').hidden = true;
    $('explain-view').hidden = true;
    $('who').hidden = true;
    $('seq').textContent = '–';
    history.replaceState(null, '', location.pathname);
    showLogin();
  }

  function showLogin() {
    $('dashboard').hidden = true;
    $('foot').hidden = true;
    $('login-view').hidden = false;
    $('who').hidden = true;
    $('token').focus();
  }

  // --- network and month -----------------------------------------------------------------

  function networkText(n) { return n.name && n.name !== n.network_id ? `${n.network_id} · ${n.name}` : n.network_id; }

  function renderNetworkPicker() {
    const slot = $('network-slot');
    if (state.me.role === 'coordinator') {
      const n = state.networks.find((x) => x.network_id === state.me.network_id) || state.networks[0];
      const out = el('output', { id: 'network-select', class: 'network-fixed', 'data-testid': 'network', value: n.network_id },
        n.network_id, n.name && n.name !== n.network_id ? el('span', { class: 'muted' }, ` · ${n.name}`) : null);
      out.dataset.networkId = n.network_id;
      slot.replaceChildren(out);
      return;
    }
    const select = el('select', { id: 'network-select', 'data-testid': 'network' });
    for (const n of state.networks) {
      select.append(el('option', { value: n.network_id }, `${networkText(n)}${n.population ? ` (${n.population})` : ''}`));
    }
    select.addEventListener('change', () => openNetwork(select.value, state.month));
    slot.replaceChildren(select);
  }

  function networkNode() { return $('network-select'); }

  async function fetchBalance(network, year) {
    return api(`/v1/networks/${encodeURIComponent(network)}/balances/${year}`);
  }

  function lastSpendingMonth(balance) {
    const spent = (balance.months || []).filter((m) => m.consumed_cents > 0);
    return spent.length ? spent[spent.length - 1].month : null;
  }

  // Opens a network at `month`, or at the latest month with spending (this year, else one of
  // the five before).
  async function openNetwork(network, month) {
    const gen = ++state.generation;
    state.network = network;
    const node = networkNode();
    if (node && node.tagName === 'SELECT') node.value = network;
    clearError(banner());
    closeProvider();
    let balance;
    try {
      if (month) {
        balance = await fetchBalance(network, Number(month.slice(0, 4)));
      } else {
        const thisYear = new Date().getFullYear();
        for (let y = thisYear; y >= thisYear - 5; y--) {
          const b = await fetchBalance(network, y);
          if (gen !== state.generation) return;
          if (!balance) balance = b;
          if (lastSpendingMonth(b)) { balance = b; break; }
        }
        month = lastSpendingMonth(balance) || `${balance.year}-${String(new Date().getMonth() + 1).padStart(2, '0')}`;
      }
    } catch (err) {
      if (gen === state.generation) fail(err, `the budget of ${network}`);
      return;
    }
    if (gen !== state.generation) return;
    showBalance(balance);
    await openMonth(month, gen);
  }

  async function changeMonth(month) {
    if (!/^\d{4}-\d{2}$/.test(month) || !state.network) return;
    const gen = ++state.generation;
    clearError(banner());
    closeProvider();
    if (!state.balance || Number(month.slice(0, 4)) !== state.year) {
      try {
        const b = await fetchBalance(state.network, Number(month.slice(0, 4)));
        if (gen !== state.generation) return;
        showBalance(b);
      } catch (err) {
        if (gen === state.generation) fail(err, `the ${month.slice(0, 4)} budget of ${state.network}`);
        return;
      }
    }
    await openMonth(month, gen);
  }

  async function openMonth(month, gen) {
    state.month = month;
    $('month').value = month;
    if (!$('quota-on').value || $('quota-on').dataset.auto === '1') {
      $('quota-on').value = lastDayOf(month);
      $('quota-on').dataset.auto = '1';
    }
    writeHash();
    highlightMonth();
    $('month-name').textContent = monthTitle(month);
    try {
      const invoice = await api(`/v1/networks/${encodeURIComponent(state.network)}/invoices/${month}`);
      if (gen !== state.generation) return;
      showInvoice(invoice);
    } catch (err) {
      if (gen !== state.generation) return;
      showInvoice(null);
      fail(err, `the invoices of ${state.network} for ${month}`);
    }
  }

  // --- the year's budget -----------------------------------------------------------------

  function showBalance(b) {
    state.balance = b;
    state.year = b.year;
    const allocated = b.allocated_cents;
    $('kpi-year').textContent = String(b.year);
    $('burn-year').textContent = String(b.year);
    $('kpi-allocated').textContent = money(allocated);
    $('kpi-consumed').textContent = money(b.consumed_cents);
    $('kpi-remaining').textContent = money(b.remaining_cents);
    const share = allocated > 0 ? b.consumed_cents / allocated : 0;
    $('kpi-consumed-share').textContent = allocated > 0 ? `${percent.format(share)} of the allocation` : 'no allocation recorded';
    const meter = $('kpi-meter');
    meter.style.width = `${Math.min(100, share * 100).toFixed(1)}%`;
    meter.classList.toggle('over', share > 1);
    const card = $('kpi-exhaustion-card');
    if (b.projected_exhaustion) {
      $('kpi-exhaustion').textContent = day(b.projected_exhaustion);
      $('kpi-exhaustion-sub').textContent = 'at the spend rate so far';
      card.classList.add('alert');
      card.classList.remove('good');
    } else {
      $('kpi-exhaustion').textContent = allocated > 0 ? 'Lasts the year' : '–';
      $('kpi-exhaustion-sub').textContent = allocated > 0 ? 'at the spend rate so far' : '';
      card.classList.toggle('good', allocated > 0);
      card.classList.remove('alert');
    }
    $('as-of').textContent = b.as_of_care_date ? `Care recorded up to ${day(b.as_of_care_date)}` : 'No care recorded this year';
    drawBurnDown(b);
    drawFunctions(b);
  }

  // Position on the year axis: 0 = 1 January, k = the 1st of month k (0-based), 12 = 31 Dec end.
  function yearPosition(dateText, year) {
    const d = parseDay(dateText);
    if (d.getUTCFullYear() < year) return 0;
    if (d.getUTCFullYear() > year) return 12;
    const m0 = d.getUTCMonth();
    return m0 + d.getUTCDate() / daysIn(year, m0);
  }

  function positionText(x, year) {
    if (x <= 0) return `1 Jan ${year}`;
    if (x >= 12) return `31 Dec ${year}`;
    const m0 = Math.floor(x - 1e-9);
    const d = Math.max(1, Math.round((x - m0) * daysIn(year, m0)));
    return dayFormat.format(utc(year, m0, d));
  }

  function burnDownSeries(b) {
    const months = b.months || [];
    const actual = [{ x: 0, y: 0, label: `1 Jan ${b.year}` }];
    months.forEach((m, i) => {
      const [y, mm] = m.month.split('-').map(Number);
      let x = mm;  // the end of month mm
      let label = `End of ${monthLong.format(utc(y, mm - 1, 1))}`;
      const last = i === months.length - 1;
      if (last && b.as_of_care_date && b.as_of_care_date.startsWith(m.month)) {
        x = yearPosition(b.as_of_care_date, b.year);
        label = `${day(b.as_of_care_date)} (last care date)`;
      }
      actual.push({ x, y: m.cumulative_cents / 100, label });
    });
    const allocation = b.allocated_cents / 100;
    const end = actual[actual.length - 1];
    let projection = [];
    let exhaustion = null;
    if (b.projected_exhaustion && b.projected_exhaustion.startsWith(String(b.year))) {
      const xe = yearPosition(b.projected_exhaustion, b.year);
      exhaustion = xe;
      if (xe > end.x) projection = [{ x: end.x, y: end.y }, { x: xe, y: allocation }];
    } else if (end.x > 0 && end.y > 0) {
      projection = [{ x: end.x, y: end.y }, { x: 12, y: (end.y / end.x) * 12 }];
    }
    return { actual, allocation, projection, exhaustion };
  }

  // A round number at or above v (1, 2, 2.5 or 5 times a power of ten), for an axis maximum.
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
    return 10 * p;
  }

  function baseOptions() {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'nearest', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12, usePointStyle: true, font: { size: 12 } } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${euro.format(c.parsed.y)}` } },
      },
    };
  }

  function drawBurnDown(b) {
    if (state.charts.burn) state.charts.burn.destroy();
    const s = burnDownSeries(b);
    const year = b.year;
    const datasets = [
      {
        label: 'Spent (cumulative)', data: s.actual, borderColor: '#1d4f91', backgroundColor: 'rgba(29,79,145,0.12)',
        fill: 'origin', pointRadius: 3, pointHoverRadius: 5, borderWidth: 2.5, tension: 0, order: 1,
      },
      {
        label: `Allocation ${euro.format(s.allocation)}`, data: [{ x: 0, y: s.allocation }, { x: 12, y: s.allocation }],
        borderColor: '#5b6675', backgroundColor: '#5b6675', borderDash: [2, 3], borderWidth: 1.5, pointRadius: 0,
        pointHoverRadius: 0, pointStyle: 'line', order: 3,
      },
    ];
    if (s.projection.length) {
      datasets.push({
        label: 'Projection', data: s.projection, borderColor: '#1d4f91', backgroundColor: '#1d4f91', borderDash: [6, 5],
        borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, pointStyle: 'line', order: 2,
      });
    }
    if (s.exhaustion !== null) {
      datasets.push({
        label: `Runs out ${day(b.projected_exhaustion)}`,
        data: [{ x: s.exhaustion, y: 0 }, { x: s.exhaustion, y: s.allocation }],
        borderColor: '#b3261e', backgroundColor: '#b3261e', borderWidth: 2, borderDash: [4, 3],
        pointRadius: [0, 6], pointStyle: 'rectRot', pointHoverRadius: [0, 7], order: 0,
      });
    }
    const spent = Math.max(...s.actual.map((p) => p.y), ...s.projection.map((p) => p.y));
    const zoomed = state.burnScale === 'spending' && spent > 0;
    const top = zoomed ? spent : Math.max(s.allocation, spent);
    if (zoomed && s.allocation > top * 1.15) datasets[1].label = `Allocation ${euro.format(s.allocation)} (above the scale)`;
    const options = baseOptions();
    options.parsing = false;
    options.plugins.legend.labels.sort = (a, b) => a.datasetIndex - b.datasetIndex;
    options.scales = {
      x: {
        type: 'linear', min: 0, max: 12, grid: { color: '#eef1f4' },
        ticks: { stepSize: 1, display: false },
      },
      months: {
        type: 'linear', axis: 'x', position: 'bottom', min: 0, max: 12, grid: { display: false },
        afterBuildTicks: (axis) => { axis.ticks = Array.from({ length: 12 }, (_, i) => ({ value: i + 0.5 })); },
        ticks: { autoSkip: true, maxRotation: 0, callback: (v) => monthShort.format(utc(year, Math.floor(v), 1)) },
      },
      y: {
        min: 0, max: zoomed ? niceCeil(top * 1.15) : undefined, suggestedMax: zoomed ? undefined : top * 1.05, grid: { color: '#eef1f4' },
        ticks: { callback: (v) => moneyShort(v), maxTicksLimit: 6 },
      },
    };
    options.plugins.tooltip.callbacks.title = (items) => {
      const it = items[0];
      return it.raw && it.raw.label ? it.raw.label : positionText(it.parsed.x, year);
    };
    options.plugins.tooltip.filter = (item) => item.dataset.order !== 3 || item.dataIndex === 0;
    state.charts.burn = new Chart($('budget-canvas'), { type: 'line', data: { datasets }, options });
  }

  function drawFunctions(b) {
    if (state.charts.functions) state.charts.functions.destroy();
    const months = b.months || [];
    const labels = months.map((m) => {
      const [y, mm] = m.month.split('-').map(Number);
      return monthShort.format(utc(y, mm - 1, 1));
    });
    const datasets = FUNCTIONS.map(([key, label, color]) => ({
      label, backgroundColor: color, borderWidth: 0, maxBarThickness: 42,
      data: months.map((m) => ((m.by_function && m.by_function[key]) || 0) / 100),
    }));
    const options = baseOptions();
    options.interaction = { mode: 'index', intersect: false };
    options.plugins.tooltip.callbacks.title = (items) => monthTitle(months[items[0].dataIndex].month);
    options.plugins.tooltip.callbacks.footer = (items) =>
      `Total: ${money(months[items[0].dataIndex].consumed_cents)}`;
    options.scales = {
      x: {
        stacked: true, grid: { display: false },
        ticks: {
          color: (c) => (months[c.index] && months[c.index].month === state.month ? '#1b2430' : '#5b6675'),
          font: (c) => (months[c.index] && months[c.index].month === state.month ? { weight: 'bold' } : {}),
        },
      },
      y: { stacked: true, beginAtZero: true, grid: { color: '#eef1f4' }, ticks: { callback: (v) => moneyShort(v), maxTicksLimit: 6 } },
    };
    options.onClick = (evt, elements, chart) => {
      const hit = chart.getElementsAtEventForMode(evt, 'index', { intersect: false }, false);
      if (hit.length && months[hit[0].index]) changeMonth(months[hit[0].index].month);
    };
    options.onHover = (evt, elements, chart) => {
      chart.canvas.style.cursor = elements.length ? 'pointer' : 'default';
    };
    state.charts.functions = new Chart($('function-canvas'), { type: 'bar', data: { labels, datasets }, options });
  }

  function highlightMonth() {
    if (state.charts.functions) state.charts.functions.update('none');
  }

  // --- the month's invoices --------------------------------------------------------------

  function reasonChips(byReason, node) {
    const entries = Object.entries(byReason || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    if (!entries.length) {
      node.replaceChildren(el('span', { class: 'chip chip-none' }, 'No unbillable lines'));
      return;
    }
    node.replaceChildren(el('span', { class: 'muted small reasons-title' }, 'Unbillable lines:'),
      ...entries.map(([code, n]) => el('span', { class: 'chip', dataset: { reason: code, count: n } },
        el('strong', {}, count.format(n)), reasonLabel(code))));
  }

  function showInvoice(inv) {
    state.invoice = inv;
    const total = $('month-total');
    const body = $('providers-body');
    if (!inv) {
      total.removeAttribute('data-fee-cents');
      for (const id of ['total-fee', 'total-copay', 'total-insurer']) $(id).textContent = '–';
      $('month-reasons').replaceChildren();
      $('month-lines').textContent = '';
      body.replaceChildren();
      $('providers-empty').hidden = true;
      return;
    }
    total.dataset.feeCents = String(inv.totals.fee_cents);
    total.dataset.copayCents = String(inv.totals.copay_cents);
    total.dataset.insurerCents = String(inv.totals.insurer_cents);
    $('total-fee').textContent = money(inv.totals.fee_cents);
    $('total-copay').textContent = money(inv.totals.copay_cents);
    $('total-insurer').textContent = money(inv.totals.insurer_cents);
    const providers = inv.providers || [];
    $('month-lines').textContent = `${count.format(providers.length)} provider${providers.length === 1 ? '' : 's'} · ` +
      `${count.format(inv.billable_lines)} billable line${inv.billable_lines === 1 ? '' : 's'} · ` +
      `${count.format(inv.unbillable_lines)} unbillable`;
    reasonChips(inv.unbillable_by_reason, $('month-reasons'));
    $('providers-empty').hidden = providers.length > 0;
    $('providers-wrap').hidden = providers.length === 0;
    renderProviders();
  }

  const SORTS = {
    provider: (p) => p.provider_id,
    fee: (p) => p.totals.fee_cents,
    copay: (p) => p.totals.copay_cents,
    insurer: (p) => p.totals.insurer_cents,
    billable: (p) => p.billable_lines,
    unbillable: (p) => p.unbillable_lines,
  };

  // The month's providers in the order chosen (by id, as the API sends them, unless a column
  // header was clicked: then by that column, largest first, and again to reverse).
  function renderProviders() {
    const providers = [...((state.invoice && state.invoice.providers) || [])];
    const { key, dir } = state.sort;
    const f = SORTS[key];
    providers.sort((a, b) => {
      const x = f(a);
      const y = f(b);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return c * dir || (a.provider_id < b.provider_id ? -1 : 1);
    });
    $('providers-body').replaceChildren(...providers.map(providerRow));
    for (const th of document.querySelectorAll('#providers thead th')) {
      const b = th.querySelector('.sort');
      if (b && b.dataset.sort === key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    if (state.provider) {
      for (const r of document.querySelectorAll('#providers-body tr')) r.classList.toggle('selected', r.dataset.provider === state.provider);
    }
  }

  function sortBy(key) {
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key, dir: key === 'provider' ? 1 : -1 };
    renderProviders();
  }

  function reasonsText(byReason) {
    return Object.entries(byReason || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${n} ${reasonLabel(code).toLowerCase()}`).join(', ');
  }

  function providerRow(p) {
    const row = el('tr', {
      class: 'clickable', tabindex: 0, 'data-testid': 'provider-row',
      dataset: { provider: p.provider_id, feeCents: p.totals.fee_cents, insurerCents: p.totals.insurer_cents },
      'aria-label': `Open the invoice lines of ${p.provider_id}`,
    },
    el('td', {}, el('span', { class: 'row-link' }, p.provider_id)),
    el('td', { class: 'num' }, money(p.totals.fee_cents),
      el('span', { class: 'sub show-narrow' }, `insurer ${money(p.totals.insurer_cents)}`)),
    el('td', { class: 'num hide-narrow' }, money(p.totals.copay_cents)),
    el('td', { class: 'num hide-narrow' }, money(p.totals.insurer_cents)),
    el('td', { class: 'num hide-narrow' }, count.format(p.billable_lines)),
    el('td', { class: 'num' }, p.unbillable_lines ? count.format(p.unbillable_lines) : '–',
      p.unbillable_lines ? el('span', { class: 'sub hide-narrow' }, reasonsText(p.unbillable_by_reason)) : null));
    const open = () => openProvider(p.provider_id);
    row.addEventListener('click', open);
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
    return row;
  }

  function closeProvider() {
    state.provider = null;
    $('provider-view').hidden = true;
    closeExplain();
    for (const r of document.querySelectorAll('#providers-body tr.selected')) r.classList.remove('selected');
  }

  async function openProvider(id) {
    const gen = state.generation;
    state.provider = id;
    closeExplain();
    for (const r of document.querySelectorAll('#providers-body tr')) r.classList.toggle('selected', r.dataset.provider === id);
    const view = $('provider-view');
    $('provider-title').textContent = `Invoice lines of ${id} · ${monthTitle(state.month)}`;
    $('provider-summary').textContent = 'Loading…';
    $('lines-body').replaceChildren();
    state.lines = [];
    $('unbillable-only-label').hidden = true;
    clearError($('provider-error'));
    view.hidden = false;
    view.scrollIntoView({ block: 'start' });
    try {
      const inv = await api(`/v1/providers/${encodeURIComponent(id)}/invoices/${state.month}`);
      if (gen !== state.generation || state.provider !== id) return;
      const lines = inv.lines || [];
      const unbillable = lines.filter((l) => !l.billable).length;
      $('provider-summary').textContent = `${count.format(lines.length)} line${lines.length === 1 ? '' : 's'}` +
        `${unbillable ? ` (${count.format(unbillable)} unbillable)` : ''} · ` +
        `billable: fees ${money(inv.totals.fee_cents)}, co-pays ${money(inv.totals.copay_cents)}, ` +
        `insurer ${money(inv.totals.insurer_cents)}. Choose a line to see how it was priced.`;
      state.lines = lines;
      $('unbillable-only-label').hidden = unbillable === 0;
      $('unbillable-only').checked = false;
      renderLines();
    } catch (err) {
      if (gen !== state.generation || state.provider !== id) return;
      $('provider-summary').textContent = '';
      fail(err, `the invoice of ${id} for ${state.month}`, $('provider-error'));
    }
  }

  function renderLines() {
    const only = $('unbillable-only').checked;
    $('lines-body').replaceChildren(...state.lines.filter((l) => !only || !l.billable).map(lineRow));
  }

  function lineRow(l) {
    const status = l.billable
      ? el('span', { class: 'badge badge-ok' }, 'Billable')
      : el('span', { class: 'badge badge-warn', title: l.reason }, reasonLabel(l.reason || 'unbillable'));
    const row = el('tr', {
      class: 'clickable', tabindex: 0, 'data-testid': 'invoice-line',
      dataset: {
        eventId: l.event_id, feeCents: l.fee_cents, copayCents: l.copay_cents, insurerCents: l.insurer_cents,
        billable: l.billable ? 'true' : 'false',
      },
    },
    el('td', { class: 'nowrap' }, l.occurred_on ? dayMonth.format(parseDay(l.occurred_on)) : '–'),
    el('td', {}, itemLabel(l.item), el('span', { class: 'sub mono' }, l.event_id),
      el('span', { class: 'show-narrow' }, status.cloneNode(true))),
    el('td', { class: 'num' }, money(l.fee_cents)),
    el('td', { class: 'num hide-narrow' }, money(l.copay_cents)),
    el('td', { class: 'num hide-narrow' }, money(l.insurer_cents)),
    el('td', { class: 'hide-narrow' }, status));
    const open = () => {
      for (const r of document.querySelectorAll('#lines-body tr')) r.classList.toggle('selected', r === row);
      openExplain(l.event_id);
    };
    row.addEventListener('click', open);
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
    return row;
  }

  // --- explain ---------------------------------------------------------------------------

  const EVENT_TYPES = {
    'session.individual': 'Individual session',
    'session.group': 'Group session',
    'community.intervention': 'Community intervention',
    'support.mission': 'Support mission',
    'concertation.held': 'Concertation',
    'exception.granted': 'Exception',
  };
  const LABELS = {
    age_on_care_date: 'Age on the care date',
    bim: 'BIM (increased reimbursement)',
    outside_network_ages: "Outside the network's ages",
    enrolled_on_care_date: 'Enrolled on the care date',
    first_on: 'First assessment',
    on_or_before_care_date: 'Before or on the care date',
    first_session: 'First session',
    starts_here: 'Trajectory starts with this event',
    started_on: 'Started',
    ends_on: 'Ends',
    individual_used_before: 'Individual sessions used before',
    individual_max: 'Individual sessions allowed',
    group_used_before: 'Group sessions used before',
    concertation_units_before: 'Concertation units used before',
    billable_individual_sessions_earlier_that_day: 'Billable sessions earlier that day',
    with_context: 'With context',
    copay_rule: 'Co-pay rule',
    copay_rule_cents: 'Co-pay under that rule',
    copay_capped_at_fee: 'Co-pay capped at the fee',
    network_id: 'Network',
    provider_id: 'Provider',
    cents: 'Amount',
    default: 'Default row',
    valid_from: 'Valid from',
    valid_to: 'Valid to',
  };
  function label(key) { return LABELS[key] || humanKey(key.replace(/_cents$/, '').replace(/_id$/, '')); }

  function closeExplain() {
    $('explain-view').hidden = true;
    $('explain-body').replaceChildren();
    for (const r of document.querySelectorAll('#lines-body tr.selected')) r.classList.remove('selected');
  }

  function scalar(key, v) {
    if (v === null || v === undefined) return el('span', { class: 'muted' }, '–');
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number' && (key === 'cents' || /_cents$/.test(key))) return money(v);
    if (typeof v === 'number') return count.format(v);
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return day(v);
    if (key === 'reason') return reasonLabel(v);
    if (key === 'item') return itemLabel(v);
    return String(v);
  }

  // One object as a list of facts; nested objects become titled groups below it, arrays of
  // objects one line per element.
  function facts(obj) {
    const wrap = el('div', { class: 'facts-block' });
    const dl = el('dl', { class: 'facts' });
    const groups = [];
    for (const [k, v] of Object.entries(obj || {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        groups.push(el('div', { class: 'facts-group' }, el('h4', {}, label(k)), facts(v)));
      } else if (Array.isArray(v)) {
        const text = !v.length ? el('span', { class: 'muted' }, 'none')
          : el('ul', { class: 'facts-list' }, ...v.map((x) => el('li', {},
            x && typeof x === 'object'
              ? Object.entries(x).map(([kk, vv]) => `${label(kk)}: ${scalar(kk, vv)}`).join(' · ')
              : scalar(k, x))));
        dl.append(el('dt', {}, label(k)), el('dd', {}, text));
      } else {
        dl.append(el('dt', {}, label(k)), el('dd', {}, scalar(k, v)));
      }
    }
    if (dl.childElementCount) wrap.append(dl);
    wrap.append(...groups);
    return wrap;
  }

  function explainLine(line) {
    const a = line.arithmetic || {};
    const status = line.billable
      ? el('span', { class: 'badge badge-ok' }, 'Billable')
      : el('span', { class: 'badge badge-warn' }, reasonLabel(line.reason || 'unbillable'));
    const box = el('div', { class: 'explain-line' },
      el('h3', {}, itemLabel(line.item), ' ', status,
        line.provider_id ? el('span', { class: 'muted small' }, ` ${line.provider_id}`) : null));
    box.append(el('p', { class: 'equation' },
      el('span', {}, el('strong', {}, money(line.fee_cents)), ' fee'), el('span', { class: 'op' }, '='),
      el('span', {}, el('strong', {}, money(line.copay_cents)), ' co-pay'), el('span', { class: 'op' }, '+'),
      el('span', {}, el('strong', {}, money(line.insurer_cents)), ' insurer')));
    if (a.sum) {
      box.append(el('p', { class: 'small' }, 'In cents: ', el('span', { class: 'sum', 'data-testid': 'explain-sum' }, a.sum), ' ',
        a.consistent === true ? el('span', { class: 'yes' }, '✓ the explanation reproduces the line')
          : a.consistent === false ? el('span', { class: 'no' }, '✗ the explanation does not reproduce the line') : null));
    }
    const rest = {};
    if (line.rule) rest.rule = line.rule;
    for (const [k, v] of Object.entries(a)) {
      if (!['sum', 'consistent', 'fee_cents', 'copay_cents', 'insurer_cents'].includes(k)) rest[k] = v;
    }
    box.append(facts(rest));
    return box;
  }

  async function openExplain(eventId) {
    const gen = state.generation;
    const view = $('explain-view');
    const body = $('explain-body');
    clearError($('explain-error'));
    $('explain-title').textContent = `How ${eventId} was priced`;
    body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    view.hidden = false;
    view.scrollIntoView({ block: 'start' });
    try {
      const x = await api(`/v1/events/${encodeURIComponent(eventId)}/explain`);
      if (gen !== state.generation) return;
      const r = x.ruleset;
      const ruleset = r && typeof r === 'object'
        ? `${r.id} version ${r.version}${r.valid_from ? ` (valid from ${day(r.valid_from)}${r.valid_to ? ` to ${day(r.valid_to)}` : ''})` : ''}`
        : r ? String(r) : 'none in force';
      const head = el('p', { class: 'explain-head' },
        el('strong', {}, EVENT_TYPES[x.type] || x.type || 'Care event'),
        x.occurred_on ? ` on ${day(x.occurred_on)}` : '', x.network_id ? ` · ${x.network_id}` : '',
        x.voided ? el('span', { class: 'badge badge-warn' }, ' voided') : null,
        el('br'), el('span', { class: 'muted small' }, `Ruleset: ${ruleset}`));
      const lines = (x.lines || []).map(explainLine);
      const before = el('div', { class: 'explain-state' }, el('h3', {}, 'What the ledger knew before this event'),
        facts(x.state_before || {}));
      const raw = el('details', {}, el('summary', {}, 'The whole explanation as JSON'),
        el('pre', { class: 'mono' }, JSON.stringify(x, null, 2)));
      body.replaceChildren(head, ...(lines.length ? lines : [el('p', { class: 'muted' }, 'This event made no invoice line.')]), before, raw);
    } catch (err) {
      if (gen !== state.generation) return;
      body.replaceChildren();
      fail(err, `the explanation of ${eventId}`, $('explain-error'));
      if (err instanceof ApiError && err.status === 503) {
        const again = el('button', { type: 'button', class: 'button button-quiet retry' }, 'Try again');
        again.addEventListener('click', () => openExplain(eventId));
        $('explain-error').append(' ', again);
      }
    }
  }

  // --- quota lookup ----------------------------------------------------------------------

  async function lookUpQuota(e) {
    e.preventDefault();
    const out = $('quota-result');
    const errNode = $('quota-error');
    clearError(errNode);
    out.replaceChildren();
    const niss = $('quota-niss').value.replace(/[\s.\-/]/g, '');
    const on = $('quota-on').value;
    if (!/^\d{11}$/.test(niss)) {
      showError(errNode, 'A NISS has 11 digits (dots, dashes and spaces are ignored).');
      return;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(on)) {
      showError(errNode, 'Choose the date the counters are wanted on.');
      return;
    }
    out.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const q = await api(`/v1/beneficiaries/${niss}/quota?on=${on}`);
      showQuota(q, out);
    } catch (err) {
      out.replaceChildren();
      if (err instanceof ApiError && err.status === 404) {
        showError(errNode, `No beneficiary with this NISS is known${state.me && state.me.role === 'coordinator' ? ' in your network' : ''}.`);
      } else {
        fail(err, 'this beneficiary\'s quota', errNode);
      }
    }
  }

  function showQuota(q, out) {
    const ts = q.trajectories || [];
    if (!ts.length) {
      out.replaceChildren(el('p', { class: 'muted' }, `No trajectory active on ${day(q.on)}.`));
      return;
    }
    const fnName = (f) => (FUNCTIONS.find((x) => x[0] === f) || [f, humanKey(f)])[1];
    const rows = ts.map((t) => {
      const max = Number(t.max);
      const used = Number(t.used);
      const bar = max > 0 ? el('span', { class: 'progress' }, el('span')) : null;
      if (bar) bar.firstChild.style.width = `${Math.min(100, (used / max) * 100).toFixed(0)}%`;
      return el('tr', { 'data-testid': 'quota-row' },
        el('td', {}, fnName(t.function), el('span', { class: 'sub' }, t.network_id || '')),
        el('td', { class: 'num' }, `${day(t.started_on)} – ${day(t.ends_on)}`),
        el('td', {}, t.column ? humanKey(String(t.column)) : '–'),
        el('td', { class: 'num' }, max > 0 ? `${used} / ${max}` : String(used), bar),
        el('td', { class: 'num' }, t.remaining !== undefined && t.remaining !== null ? String(t.remaining) : '–'),
        el('td', { class: 'num hide-narrow' }, t.group_used !== undefined ? String(t.group_used) : '–'));
    });
    out.replaceChildren(el('p', { class: 'muted small' }, `Trajectories active on ${day(q.on)}:`),
      el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Function'), el('th', { scope: 'col', class: 'num' }, 'Period'),
          el('th', { scope: 'col' }, 'Column'), el('th', { scope: 'col', class: 'num' }, 'Sessions used'),
          el('th', { scope: 'col', class: 'num' }, 'Remaining'), el('th', { scope: 'col', class: 'num hide-narrow' }, 'Group used'))),
        el('tbody', {}, ...rows))));
  }

  // --- wiring ----------------------------------------------------------------------------

  function init() {
    if (window.Chart) {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = '#5b6675';
    }
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('token').value.trim();
      if (!t) { showError(banner(), 'Paste your token first.'); return; }
      signIn(t);
    });
    $('logout').addEventListener('click', () => { signOut(); clearError(banner()); });
    $('month').addEventListener('change', () => changeMonth($('month').value));
    $('provider-close').addEventListener('click', closeProvider);
    $('explain-close').addEventListener('click', closeExplain);
    $('quota-form').addEventListener('submit', lookUpQuota);
    $('unbillable-only').addEventListener('change', renderLines);
    for (const b of document.querySelectorAll('#providers .sort')) b.addEventListener('click', () => sortBy(b.dataset.sort));
    for (const b of document.querySelectorAll('.seg[data-scale]')) {
      b.addEventListener('click', () => {
        state.burnScale = b.dataset.scale;
        for (const o of document.querySelectorAll('.seg[data-scale]')) o.setAttribute('aria-pressed', String(o === b));
        if (state.balance) drawBurnDown(state.balance);
      });
    }
    $('quota-on').addEventListener('input', () => { $('quota-on').dataset.auto = '0'; });
    if (!window.Chart) {
      showError(banner(), 'The chart library did not load; the charts cannot be drawn.');
    }
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
    else showLogin();
  }

  init();
}());
