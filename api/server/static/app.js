// paysplit dashboard. One layout for every client; admins additionally pick the client and see
// payouts that need a decision. The page holds no key: it exchanges the key for an HttpOnly
// session cookie and sends the session's CSRF token on every state-changing request.
//
// Amounts arrive as integers in minor units. They are formatted as strings digit by digit, and
// those beyond 2^53 are read from the answer as BigInts (a JSON number is a float64 to the
// browser), so no amount shown as text ever passes through a float. Charts draw Numbers; their
// tooltips show the exact amounts.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    me: null,
    clientId: null, // what admins send as ?client_id=; clients never send one
    period: '30d',
    from: null,
    to: null,
    exponents: {},
    offboarded: false, // the client shown has left the agency (GET /api/v1/client status)
    payoutsCursor: null,
    attentionCursor: null, // next page of the admin's stuck payouts; null on the last
    charts: {},
    chartCurrency: {}, // canvas id → currency of its values ('' for counts)
    generation: 0, // bumps on every reload; answers of an older one are dropped
  };

  // --- HTTP -----------------------------------------------------------------------------------------

  // The CSRF cookie is __Host-paysplit_csrf when the API sets it Secure (HTTPS, production) and
  // paysplit_csrf on plain-HTTP development. The prefixed one first: an unprefixed cookie beside
  // it is one another host could have planted.
  function csrfToken() {
    for (const re of [/(?:^|;\s*)__Host-paysplit_csrf=([^;]+)/, /(?:^|;\s*)paysplit_csrf=([^;]+)/]) {
      const m = document.cookie.match(re);
      if (m) return decodeURIComponent(m[1]);
    }
    return '';
  }

  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
    const res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    let data = null;
    try { data = parseJSON(await res.text()); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new APIError(res.status, e.code || 'http_' + res.status, e.message || res.statusText);
    }
    return data;
  }

  // parseJSON reads integers a float64 cannot hold (the API's amounts are int64) as BigInts,
  // from the number's own text; a browser without the reviver's source text keeps the Number.
  function parseJSON(text) {
    return JSON.parse(text, (key, value, context) =>
      (typeof value === 'number' && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)
        ? BigInt(context.source) : value));
  }

  // minus subtracts two amounts, either of which may be a BigInt.
  function minus(a, b) {
    return typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a) - BigInt(b) : a - b;
  }

  // scoped adds the client to a client-API path for admins; a client's own credential decides
  // its client on the server.
  function scoped(path, params = {}) {
    const q = new URLSearchParams(params);
    if (state.me && state.me.role === 'admin' && state.clientId) q.set('client_id', state.clientId);
    const s = q.toString();
    return s ? path + '?' + s : path;
  }

  // --- formatting -----------------------------------------------------------------------------------

  function groupDigits(s) {
    return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // exponentOf is how many minor-unit digits currency has: as the API said (every answer with
  // amounts carries `exponents`), else as ISO 4217 says (static/currency-digits.js: 0 for JPY,
  // 3 for KWD and IQD). Not the browser's Intl: it follows CLDR, which gives IQD 0 digits and
  // IDR and HUF 0, their cash's, where the amounts have ISO's. Never a guess of 2: null when
  // neither knows the currency.
  function exponentOf(currency) {
    const known = state.exponents[currency];
    if (Number.isInteger(known)) return known;
    const iso = (window.paysplitCurrencyDigits || {})[String(currency).toLowerCase()];
    return Number.isInteger(iso) ? iso : null;
  }

  // formatMoney turns minor units into "USD 1,234.56" with string arithmetic only. An amount in a
  // currency nobody knows the digits of is shown as what it is: minor units.
  function formatMoney(minor, currency) {
    const exp = exponentOf(currency);
    if (exp === null) return (currency || '').toUpperCase() + ' ' + formatCount(minor) + ' (minor units)';
    const neg = minor < 0;
    const digits = String(neg ? -minor : minor).padStart(exp + 1, '0');
    let out = groupDigits(digits.slice(0, digits.length - exp));
    if (exp > 0) out += '.' + digits.slice(digits.length - exp);
    // "USD -20.00", as the weekly report prints it.
    return (currency || '').toUpperCase() + ' ' + (neg ? '-' : '') + out;
  }

  function formatCount(n) { return n < 0 ? '-' + groupDigits(String(-n)) : groupDigits(String(n)); }

  // noData is what a figure without a single synced day shows, as in the weekly report: a zero
  // would read as "nobody came".
  const noData = 'no data';

  // bps 4321 → "43.21%"
  function formatBps(bps) {
    const s = String(bps).padStart(3, '0');
    return s.slice(0, -2) + '.' + s.slice(-2) + '%';
  }

  function isoDay(d) { return d.toISOString().slice(0, 10); }

  // utcDay and utcMinute read an RFC 3339 time in whatever offset the server wrote it (its
  // process's zone): cutting the text would give that zone's day, not the UTC day the page's
  // ranges and charts use.
  function utcDay(ts) { return utcISO(ts).slice(0, 10); }
  function utcMinute(ts) { return utcISO(ts).slice(0, 16).replace('T', ' ') + ' UTC'; }
  function utcISO(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
  }

  function daysBack(n) {
    const to = new Date();
    const from = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate() - (n - 1)));
    return [isoDay(from), isoDay(to)];
  }

  function setTile(id, text, raw) {
    const el = $(id);
    el.textContent = text;
    el.dataset.value = String(raw);
  }

  // notice says text in the live region above the figures. The region is never hidden: it is
  // rendered (empty, and then without a box: app.css) from the moment the page is shown, as a
  // region hidden and shown with its text at once is not announced by some screen readers.
  function notice(text, isError) {
    const el = $('notice');
    el.textContent = text;
    el.className = isError ? 'error' : '';
  }

  // addNotice keeps what the notice already says: a warning about the figures must not hide, or
  // be hidden by, another one.
  function addNotice(text, isError) {
    const el = $('notice');
    if (!el.textContent) return notice(text, isError);
    el.textContent += ' ' + text;
    if (isError) el.className = 'error';
  }

  // announce says something to screen readers without moving the focus: what a click added to
  // the page out of view (a sighted person sees the rows come).
  function announce(text) {
    $('announce').textContent = text;
  }

  // fieldError marks a form field as wrong and ties the message saying why to it (read with the
  // field, and announced: error is a live region); an empty message clears both.
  function fieldError(field, error, message) {
    error.textContent = message;
    const ids = (field.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== error.id);
    if (message) {
      field.setAttribute('aria-invalid', 'true');
      ids.push(error.id);
    } else {
      field.removeAttribute('aria-invalid');
    }
    field.setAttribute('aria-describedby', ids.join(' '));
  }

  // isolate marks a name put into a line of text (FSI … PDI), for where no <bdi> can go (an
  // option holds text only): a Hebrew or Arabic name keeps its own order and does not take what
  // follows it, "(42-shop)", into its right-to-left stretch. Isolate marks in the name itself are
  // dropped, or a stray PDI would end the isolate early.
  function isolate(name) {
    return '\u2068' + String(name).replace(/[\u2066-\u2069]/g, '') + '\u2069';
  }

  // bdi is an element isolating a name among the text around it (see isolate).
  function bdi(name) {
    const el = document.createElement('bdi');
    el.textContent = name;
    return el;
  }

  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  // --- login ----------------------------------------------------------------------------------------

  async function start() {
    try {
      state.me = await api('GET', '/api/v1/me');
    } catch (e) {
      if (e.status === 401) return showLogin();
      return showLogin(e.message);
    }
    await showApp();
  }

  function showLogin(msg) {
    $('app').hidden = true;
    $('controls').hidden = true;
    $('login').hidden = false;
    // A message here is about the session, not the key typed.
    fieldError($('key'), $('login-error'), '');
    $('login-error').textContent = msg || '';
    $('client-name').textContent = '';
    // The next key may be another client's: nothing of this session waits in the hidden page.
    state.generation++;
    clearFigures();
    notice('', false);
    $('key').focus();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = $('key').value.trim();
    $('key').value = '';
    try {
      await api('POST', '/api/v1/session', { key });
      state.me = await api('GET', '/api/v1/me');
    } catch (e) {
      fieldError($('key'), $('login-error'), e.status === 401 ? 'That key is not valid.' : e.message);
      $('key').focus();
      return;
    }
    fieldError($('key'), $('login-error'), '');
    await showApp();
    // The form the focus was in is gone: the page's heading, naming the client, takes it, so
    // the next Tab starts at the controls and a screen reader says where it is; or, when a link
    // to one payment was opened, the payment view's heading.
    if (!$('app').hidden) ($('payment-view').hidden ? $('title') : $('payment-heading')).focus();
  });

  $('logout').addEventListener('click', async () => {
    try { await api('DELETE', '/api/v1/session'); } catch (_) { /* logged out anyway */ }
    state.me = null;
    state.clientId = null;
    showLogin();
  });

  // --- app ------------------------------------------------------------------------------------------

  async function showApp() {
    $('login').hidden = true;
    $('controls').hidden = false;
    $('app').hidden = false;
    const admin = state.me.role === 'admin';
    $('picker-label').hidden = !admin;
    $('attention').hidden = !admin;
    // A link to one payment (#payment=) opened before logging in is shown now.
    routeFromHash();
    // The login form is hidden from here on: a failure must be said on the page shown.
    try {
      await loadApp(admin);
    } catch (e) {
      if (e.status === 401) return showLogin('Your session ended: log in again.');
      notice(e.message, true);
    }
  }

  async function loadApp(admin) {
    if (admin) {
      const { clients } = await api('GET', '/api/v1/admin/clients');
      const picker = $('client-picker');
      picker.textContent = '';
      for (const c of clients) {
        const o = document.createElement('option');
        o.value = c.id;
        o.textContent = isolate(c.name) + ' (' + c.id + ')' + (c.status === 'offboarded' ? ' · offboarded' : '');
        picker.appendChild(o);
      }
      if (!clients.length) {
        notice('No clients yet: create one with the admin API.', false);
        return;
      }
      if (!clients.some((c) => c.id === state.clientId)) state.clientId = clients[0].id;
      picker.value = state.clientId;
    }
    await loadClient();
  }

  $('client-picker').addEventListener('change', async (ev) => {
    state.clientId = ev.target.value;
    leavePayment();
    // Until the new client's answers are in, nothing of the previous one may stay on the page.
    state.generation++;
    $('client-name').textContent = '';
    clearFigures();
    try {
      await loadClient();
    } catch (e) {
      if (e.status === 401) return showLogin('Your session ended: log in again.');
      notice(e.message, true);
    }
  });

  async function loadClient() {
    const { me, clientId } = state;
    const { client, settings } = await api('GET', scoped('/api/v1/client'));
    // Another client was picked (or the session ended) while this one was asked for: its name
    // must not head the other's figures, nor its reload replace them. (Not state.generation: a
    // period chosen meanwhile is still this client's.)
    if (state.me !== me || state.clientId !== clientId || $('app').hidden) return;
    $('client-name').replaceChildren('· ', bdi(client.name));
    // An offboarded client's KPIs are no longer synced: its figures stop at when it left, and
    // a refresh is refused (409), so the button is not offered.
    state.offboarded = client.status === 'offboarded';
    $('refresh').disabled = state.offboarded;
    setAccent(settings.accent_color);
    setPeriod(settings.default_period);
  }

  function setPeriod(period) {
    state.period = period;
    for (const b of document.querySelectorAll('[data-period]')) {
      b.setAttribute('aria-pressed', String(b.dataset.period === period));
    }
    $('custom-range').hidden = period !== 'custom';
    if (period === 'custom') {
      if (!$('from').value || !$('to').value) [$('from').value, $('to').value] = daysBack(30);
      return;
    }
    [state.from, state.to] = daysBack(period === '7d' ? 7 : 30);
    reload();
  }

  for (const b of document.querySelectorAll('[data-period]')) {
    b.addEventListener('click', () => {
      leavePayment();
      setPeriod(b.dataset.period);
    });
  }

  $('custom-range').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.from = $('from').value;
    state.to = $('to').value;
    reload();
  });

  $('refresh').addEventListener('click', async () => {
    const btn = $('refresh');
    btn.disabled = true;
    try {
      await api('POST', scoped('/api/v1/kpis/refresh'));
      await reload('Refresh started: the numbers update when the sync has finished.');
    } catch (e) {
      if (e.status === 501) {
        notice('On-demand refresh is not available yet; KPIs update with the regular sync.', false);
      } else {
        notice('Refresh failed: ' + e.message, true);
      }
    } finally {
      btn.disabled = state.offboarded;
    }
  });

  // reload fetches everything the page shows and renders it only if no newer reload started
  // meanwhile (switching client or period quickly must never show one client's numbers under
  // another's name).
  // info is shown in the notice above whatever the answers add to it.
  async function reload(info) {
    const generation = ++state.generation;
    notice(info || '', false);
    // The lists shown are about to be replaced: a next page of them, asked for now, would be
    // appended to their successors (its cursor is a position in the old list).
    $('payouts-more').hidden = $('attention-more').hidden = true;
    $('range').textContent = state.from + ' – ' + state.to + ' (UTC)';
    const range = { from: state.from, to: state.to };
    const admin = state.me.role === 'admin';
    try {
      const [kpis, revenue, payouts, reports, attention, recon, alerts, inbox, events] = await Promise.all([
        api('GET', scoped('/api/v1/kpis', range)),
        api('GET', scoped('/api/v1/revenue', range)),
        api('GET', scoped('/api/v1/payouts', { ...range, limit: '25' })),
        api('GET', scoped('/api/v1/reports')),
        admin ? api('GET', attentionPath(null)) : null,
        admin ? api('GET', '/api/v1/admin/reconciliation?limit=6') : null,
        admin ? api('GET', '/api/v1/admin/alerts') : null,
        admin ? api('GET', '/api/v1/admin/webhook-inbox?limit=1') : null,
        admin ? api('GET', oneOffPath()) : null,
      ]);
      if (generation !== state.generation) return;
      Object.assign(state.exponents, kpis.exponents, revenue.exponents, payouts.exponents, attention && attention.exponents);
      renderTiles(kpis, revenue);
      renderCharts(kpis, revenue);
      renderPayouts(payouts, true);
      renderReports(reports);
      if (attention) renderAttention(attention, true);
      $('books').hidden = !admin;
      if (recon) renderReconciliation(recon);
      if (alerts) renderAlerts(alerts);
      if (inbox) renderInbox(inbox);
      if (events) renderOneOffEvents(events);
      renderStale(kpis);
      renderSourceErrors(kpis);
      renderKPINotes(kpis);
      if (state.offboarded) {
        addNotice('This client is offboarded: its KPIs are no longer synced and it gets no weekly report; payments and payouts still are.', false);
      }
      document.body.dataset.loaded = kpis.client_id + '/' + state.from + '/' + state.to;
      loadDistinctVisitors(generation, range, kpis);
    } catch (e) {
      if (generation !== state.generation) return;
      if (e.status === 401) return showLogin('Your session ended: log in again.');
      // What is on the page is another period's or client's: the header already names the new
      // one, so those figures must not stay under it.
      clearFigures();
      notice(e.message, true);
    }
  }

  // clearFigures empties every figure, chart and list, as before the first answer.
  function clearFigures() {
    delete document.body.dataset.loaded;
    delete document.body.dataset.visitors;
    visitorsLabel(false);
    for (const el of document.querySelectorAll('.tile .value')) {
      el.textContent = '–';
      el.dataset.value = '';
    }
    $('also-captured').hidden = true;
    for (const c of Object.values(state.charts)) {
      c.data = { labels: [], datasets: [] };
      c.update();
    }
    for (const id of ['payouts-table', 'attention-table', 'recon-table', 'revenue-table', 'visitors-table']) $(id).tBodies[0].textContent = '';
    $('revenue-table').tFoot.textContent = '';
    announce('');
    for (const id of ['reports-list', 'alerts-list', 'events-list', 'inbox-status']) $(id).textContent = '';
    for (const id of ['payouts-more', 'payouts-more-error', 'payouts-empty', 'attention-more', 'attention-more-error', 'attention-empty',
      'recon-empty', 'reports-empty', 'alerts-empty', 'events-empty']) $(id).hidden = true;
    state.payoutsCursor = null;
    state.attentionCursor = null;
  }

  // mainCurrency is the client's default currency: the tiles and the revenue chart show it, and
  // payments in other currencies are listed beside them (amounts in different currencies are
  // never compared or added).
  function mainCurrency(revenue) {
    return revenue.default_currency || revenue.currencies[0];
  }

  // visitorsLabel names the visitors tile: the range's distinct visitors ("Visitors") once they
  // arrived, else the days' visitors summed, which count a visitor once for each day they came.
  function visitorsLabel(distinct) {
    $('tile-visitors').previousElementSibling.textContent = distinct ? 'Visitors' : 'Sum of daily visitors';
  }

  // loadDistinctVisitors asks for the range's distinct visitors (GA4 asked live, cached by the
  // API) after the page is shown, and puts them in the visitors tile if the page still shows that
  // range: GA4 slow or down never holds the figures back, and without an answer (no GA4, GA4
  // failing) the tile stays the sum of daily visitors, labelled so. body's data-visitors says
  // which the tile shows once settled.
  async function loadDistinctVisitors(generation, range, kpis) {
    let v = null;
    if (kpis.totals.traffic_days > 0) {
      try {
        v = await api('GET', scoped('/api/v1/kpis/visitors', range));
      } catch (e) {
        v = null;
      }
    }
    if (generation !== state.generation) return;
    if (v && typeof v.visitors === 'number') {
      visitorsLabel(true);
      setTile('tile-visitors', formatCount(v.visitors), v.visitors);
      // The count's own remarks (GA4 applied thresholding to it), unless the days' said the same.
      for (const n of v.notes || []) {
        if (!((kpis.notes || []).includes(n))) addNotice(n, false);
      }
      document.body.dataset.visitors = 'distinct';
    } else {
      document.body.dataset.visitors = 'sum';
    }
  }

  function renderTiles(kpis, revenue) {
    const t = kpis.totals;
    // Totals are over the days that have each part; without any, there is no figure to show.
    const traffic = t.traffic_days > 0;
    delete document.body.dataset.visitors;
    visitorsLabel(false);
    setTile('tile-visitors', traffic ? formatCount(t.visitors) : noData, traffic ? t.visitors : '');
    setTile('tile-new-visitors', traffic ? formatCount(t.new_visitors) : noData, traffic ? t.new_visitors : '');
    setTile('tile-bounce-rate', traffic ? formatBps(t.bounce_rate_bps) : noData, traffic ? t.bounce_rate_bps : '');
    const kr = t.revenue.find((x) => x.currency === kpis.currency) || t.revenue[0];
    if (t.revenue_days > 0 && kr) {
      setTile('tile-revenue', formatMoney(kr.amount, kr.currency), kr.amount);
    } else {
      setTile('tile-revenue', noData, '');
    }
    const main = mainCurrency(revenue);
    const r = revenue.totals.find((x) => x.currency === main);
    setTile('tile-gross', formatMoney(r.gross, r.currency), r.gross);
    setTile('tile-commission', formatMoney(r.commission, r.currency), r.commission);
    setTile('tile-vendor-payouts', formatMoney(r.vendor_payouts, r.currency), r.vendor_payouts);
    setTile('tile-refunds', formatMoney(r.refunds, r.currency), r.refunds);
    const others = revenue.totals.filter((x) => x.currency !== main && x.payments > 0);
    const lines = [];
    if (others.length) {
      lines.push('Also captured: ' + others.map((x) => formatMoney(x.gross, x.currency) + ' in ' + formatCount(x.payments) +
        (x.payments === 1 ? ' payment' : ' payments')).join('; ') + ' (not in the figures above, which are in ' + main.toUpperCase() + ').');
    }
    // The tile holds one currency; days the store sold in another are named, not left out silently.
    const storeOthers = t.revenue_days > 0 && kr ? t.revenue.filter((x) => x !== kr) : [];
    if (storeOthers.length) {
      lines.push('Store revenue also in ' + storeOthers.map((x) => formatMoney(x.amount, x.currency)).join('; ') +
        ' (not in the Store revenue tile, which is in ' + kr.currency.toUpperCase() + ').');
    }
    const also = $('also-captured');
    also.textContent = lines.join(' ');
    also.hidden = !lines.length;
  }

  // setAccent takes the client's colour (#rrggbb) for the page's accent, with text on it black
  // or white, whichever contrasts more, and text in it only where it reads on white (4.5:1,
  // WCAG 1.4.3); the client's choice of colour must not make the page unreadable.
  function setAccent(hex) {
    const root = document.documentElement.style;
    root.setProperty('--accent', hex);
    const onWhite = contrast(hex, '#ffffff');
    if (onWhite === null) return;
    root.setProperty('--on-accent', onWhite >= contrast(hex, '#000000') ? '#fff' : '#000');
    root.setProperty('--accent-text', onWhite >= 4.5 ? hex : 'var(--fg)');
  }

  // contrast is WCAG's contrast ratio of two #rrggbb colours; null for anything else.
  function contrast(a, b) {
    const la = luminance(a);
    const lb = luminance(b);
    if (la === null || lb === null) return null;
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function luminance(hex) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(hex));
    if (!m) return null;
    const [r, g, b] = m.slice(1).map((x) => {
      const c = parseInt(x, 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function accent() {
    return getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#2563eb';
  }

  // chart creates a chart once and afterwards only swaps its data, so the page never leaks
  // canvases and tests find the instance with Chart.getChart(id).
  function chart(id, type, data, currency) {
    state.chartCurrency[id] = currency;
    const existing = state.charts[id];
    if (existing) {
      existing.data = data;
      existing.update();
      return;
    }
    const fmt = (v) => {
      if (v === null || v === undefined) return noData;
      return state.chartCurrency[id] ? formatMoney(v, state.chartCurrency[id]) : formatCount(v);
    };
    state.charts[id] = new Chart($(id), {
      type, data,
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: type === 'bar' },
          y: {
            stacked: type === 'bar', beginAtZero: true,
            ticks: { precision: 0, callback: (v) => fmt(v) },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => ctx.dataset.label + ': ' + fmt(ctx.dataset.exact ? ctx.dataset.exact[ctx.dataIndex] : ctx.raw),
            },
          },
        },
      },
    });
  }

  // series is a dataset's values as Chart.js can draw them (Numbers), with the exact ones, which
  // may be BigInts, kept for the tooltip.
  function series(values) {
    return { data: values.map((v) => (typeof v === 'bigint' ? Number(v) : v)), exact: values };
  }

  function renderCharts(kpis, revenue) {
    const currency = mainCurrency(revenue);
    const days = revenue.days.filter((d) => d.currency === currency);
    const labels = days.map((d) => d.day);
    const a = accent();
    chart('revenue-chart', 'bar', {
      labels,
      datasets: [
        { label: 'Commission', ...series(days.map((d) => d.commission)), backgroundColor: a, stack: 'split' },
        { label: 'Vendor payouts', ...series(days.map((d) => d.vendor_payouts)), backgroundColor: '#10b981', stack: 'split' },
        { label: 'Affiliate payouts', ...series(days.map((d) => d.affiliate_payouts)), backgroundColor: '#f59e0b', stack: 'split' },
        { label: 'Refunds', ...series(days.map((d) => d.refunds)), backgroundColor: '#ef4444', stack: 'split' },
        // Captured but not split yet: without it a day's bars fall short of its gross.
        { label: 'Not split yet', ...series(days.map((d) => d.unsplit)), backgroundColor: '#9ca3af', stack: 'split' },
        { label: 'Gross', ...series(days.map((d) => d.gross)), type: 'line', borderColor: '#111827', backgroundColor: '#111827', stack: 'gross' },
      ],
    }, currency);
    chart('visitors-chart', 'line', {
      labels: kpis.days.map((d) => d.day),
      datasets: [
        // A day without web analytics is a gap (null), not zero visitors, as in the weekly report.
        { label: 'Visitors', ...series(kpis.days.map((d) => (d.has_traffic ? d.visitors : null))), borderColor: a, backgroundColor: a },
        { label: 'New visitors', ...series(kpis.days.map((d) => (d.has_traffic ? d.new_visitors : null))), borderColor: '#10b981', backgroundColor: '#10b981' },
      ],
    }, '');
    renderFigures(kpis, revenue, currency, days);
  }

  // renderFigures writes what the charts draw as tables: a canvas is one image to a screen
  // reader, and its tooltips need a mouse. Each canvas is described by its table.
  function renderFigures(kpis, revenue, currency, days) {
    const money = (v) => formatMoney(v, currency);
    const parts = ['gross', 'commission', 'vendor_payouts', 'affiliate_payouts', 'refunds', 'disputes_lost', 'unsplit'];
    figureTable('revenue-table', ['Day', 'Gross', 'Commission', 'Vendor payouts', 'Affiliate payouts', 'Refunds',
      'Lost disputes (in refunds)', 'Not split yet'], days.map((d) => [d.day, ...parts.map((k) => money(d[k]))]));
    const total = revenue.totals.find((x) => x.currency === currency);
    const foot = $('revenue-table').tFoot;
    foot.textContent = '';
    if (total) figureRow(foot.insertRow(), ['Total', ...parts.map((k) => money(total[k]))]);
    const count = (d, v) => (d.has_traffic ? formatCount(v) : noData);
    figureTable('visitors-table', ['Day', 'Visitors', 'New visitors'],
      kpis.days.map((d) => [d.day, count(d, d.visitors), count(d, d.new_visitors)]));
  }

  // figureTable fills a table with a header row of columns and a row per entry of rows, each
  // headed by its first cell (the day).
  function figureTable(id, columns, rows) {
    const table = $(id);
    table.tHead.textContent = '';
    const head = table.tHead.insertRow();
    columns.forEach((c, i) => {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = c;
      if (i > 0) th.className = 'num';
      head.appendChild(th);
    });
    const body = table.tBodies[0];
    body.textContent = '';
    for (const r of rows) figureRow(body.insertRow(), r);
  }

  function figureRow(row, values) {
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = values[0];
    row.appendChild(th);
    for (const v of values.slice(1)) cell(row, v, 'num');
  }

  // loadMore appends the next page of a paged list: fetchPage asks for it, render(page) appends
  // it. The button (id button) is disabled while a page is on its way, as a second click would
  // fetch the same cursor and list its rows twice; an answer to an older reload (another client
  // or period) is dropped; a failure is said in the list's own line (id error), not the notice
  // above the page (which may be warning about the figures), and the button stays for another
  // try: the rows shown are still true.
  // What a page added is announced ("Loaded 25 more payouts: 50 shown."), and a keyboard user's
  // focus stays on the button or, when the last page took it away, goes to the first row added.
  async function loadMore(button, error, table, what, fetchPage, render) {
    const generation = state.generation;
    const btn = $(button);
    const err = $(error);
    const rows = $(table).tBodies[0].rows;
    const hadFocus = document.activeElement === btn;
    btn.disabled = true;
    err.hidden = true;
    try {
      const page = await fetchPage();
      if (generation !== state.generation) return;
      Object.assign(state.exponents, page.exponents);
      const before = rows.length;
      render(page);
      announce('Loaded ' + formatCount(rows.length - before) + ' more ' + what + ': ' + (btn.hidden ? 'all ' : '') +
        formatCount(rows.length) + ' shown.');
      if (hadFocus && btn.hidden && rows.length > before) {
        rows[before].tabIndex = -1;
        rows[before].focus();
      }
    } catch (e) {
      if (generation !== state.generation) return;
      if (e.status === 401) return showLogin('Your session ended: log in again.');
      err.textContent = 'Could not load more ' + what + ': ' + e.message;
      err.hidden = false;
    } finally {
      // A newer reload's list enables its button itself (freshList); one of its own pages may be
      // on its way by now.
      if (generation === state.generation) {
        btn.disabled = false;
        // A disabled button loses the focus; it gets it back for the next page or another try.
        if (hadFocus && !btn.hidden) btn.focus();
      }
    }
  }

  // freshList readies a list's "more" button and error line for a fresh first page.
  function freshList(button, error) {
    $(button).disabled = false;
    $(error).hidden = true;
  }

  function loadMorePayouts() {
    const params = { from: state.from, to: state.to, limit: '25', cursor: state.payoutsCursor };
    return loadMore('payouts-more', 'payouts-more-error', 'payouts-table', 'payouts',
      () => api('GET', scoped('/api/v1/payouts', params)), (page) => renderPayouts(page, false));
  }

  function renderPayouts(page, fresh) {
    const tbody = $('payouts-table').tBodies[0];
    if (fresh) {
      tbody.textContent = '';
      freshList('payouts-more', 'payouts-more-error');
    }
    for (const p of page.payouts) {
      const row = tbody.insertRow();
      row.dataset.payment = p.payment;
      cell(row, utcDay(p.captured_at));
      cell(row, p.order_id);
      cell(row, p.payee_id);
      cell(row, p.party);
      cell(row, formatMoney(minus(p.amount, p.refunded), p.currency), 'num');
      cell(row, formatMoney(minus(p.transferred, p.reversed), p.currency), 'num');
      // What of the leg is held (a held leg's rest, or a top-up held for its payee while the leg
      // itself stays transferred) and why, as the list and the weekly report count it.
      const held = p.held > 0;
      cell(row, held ? formatMoney(p.held, p.currency) : '', 'num');
      let st = p.state + (p.reason ? ' (' + p.reason + ')' : '');
      if (held && p.held_reason && p.held_reason !== p.reason) st += '; held: ' + p.held_reason;
      // A top-up the provider refused stays due on a transferred leg: say what failed and why. A
      // refused reversal is failed negative: what the payee owes back and the provider would not
      // take. Its reason is often the leg's own, said once.
      const failedWhy = p.failed_reason && p.failed_reason !== p.reason ? ': ' + p.failed_reason : '';
      if (p.failed > 0 && p.state !== 'failed') {
        st += '; failed ' + formatMoney(p.failed, p.currency) + failedWhy;
      } else if (p.failed < 0) {
        st += '; reversal failed: owes back ' + formatMoney(minus(0, p.failed), p.currency) + failedWhy;
      }
      cell(row, st);
    }
    state.payoutsCursor = page.next_cursor;
    $('payouts-more').hidden = !page.next_cursor;
    $('payouts-empty').hidden = tbody.rows.length > 0;
  }

  $('payouts-more').addEventListener('click', loadMorePayouts);

  function renderReports({ reports }) {
    const list = $('reports-list');
    list.textContent = '';
    for (const r of reports) {
      const li = document.createElement('li');
      if (r.download_url) {
        const a = document.createElement('a');
        a.href = r.download_url;
        a.textContent = r.iso_week;
        li.appendChild(a);
      } else {
        li.textContent = r.iso_week;
      }
      list.appendChild(li);
    }
    $('reports-empty').hidden = reports.length > 0;
  }

  function attentionPath(cursor) {
    const q = new URLSearchParams({ client_id: state.clientId });
    if (cursor) q.set('cursor', cursor);
    return '/api/v1/admin/payouts?' + q.toString();
  }

  // loadMoreAttention appends the next page of stuck payouts: the list is newest first, so those
  // stuck longest are on the last pages.
  function loadMoreAttention() {
    const path = attentionPath(state.attentionCursor);
    return loadMore('attention-more', 'attention-more-error', 'attention-table', 'stuck payouts',
      () => api('GET', path), (page) => renderAttention(page, false));
  }

  $('attention-more').addEventListener('click', loadMoreAttention);

  // renderAttention lists the picked client's failed, held and parked payments with the decision
  // each one can take; fresh replaces the list, else the page is appended to it.
  function renderAttention(page, fresh) {
    const { payments } = page;
    const tbody = $('attention-table').tBodies[0];
    if (fresh) {
      tbody.textContent = '';
      freshList('attention-more', 'attention-more-error');
    }
    for (const p of payments) {
      const row = tbody.insertRow();
      row.dataset.payment = p.workflow_id;
      // The ID opens the payment's view; its workflow in the Temporal UI is linked beside it, but
      // not without one (production without TEMPORAL_UI_URL: workflow_url is "").
      const idCell = row.insertCell();
      idCell.append(paymentLink(p.workflow_id));
      if (p.workflow_url) idCell.append(' (', temporalLink(p.workflow_url, 'Temporal UI'), ')');
      cell(row, p.order_id);
      cell(row, p.status);
      cell(row, p.reason || p.legs.filter((l) => l.reason).map((l) => l.party + ': ' + l.reason).join('; '));
      cell(row, formatMoney(p.gross, p.currency), 'num');
      const actions = row.insertCell();
      // The row's one button is the decision that moves the payment on (a cancel is in its view):
      // a release of a held leg, else a retry; a payment held only by top-ups due (its legs paid,
      // code path 14) is sent by a retry.
      const action = decisionsFor(p).find((a) => a !== 'cancel') || 'retry';
      actions.append(decisionButton(p.workflow_id, action), ...resolveFormsOf(p));
    }
    state.attentionCursor = page.next_cursor || null;
    $('attention-more').hidden = !state.attentionCursor;
    $('attention-empty').hidden = tbody.rows.length > 0;
  }

  // decisionLabels are a decision's button before and after it was sent.
  const decisionLabels = {
    retry: ['Retry', 'Retried'],
    release: ['Release', 'Released'],
    cancel: ['Cancel payment', 'Cancelled'],
  };

  // decisionButton sends an admin's decision (retry, release, cancel) on a payment: the
  // attention table's rows and the payment view both use it. Its name says which payment it
  // acts on, as a table has one per row.
  function decisionButton(workflowId, action) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'action';
    btn.dataset.action = action;
    btn.textContent = decisionLabels[action][0];
    btn.setAttribute('aria-label', btn.textContent + ' ' + workflowId);
    btn.addEventListener('click', () => (action === 'cancel' ? askToCancel(workflowId, btn) : decide(workflowId, action, btn)));
    return btn;
  }

  // askToCancel asks once more before a cancel is sent: it cannot be undone, and the page has no
  // dialogs. The Cancel button gives its place to "Keep payment", which takes the focus (the choice
  // that changes nothing, so a second Enter or a key held down keeps the payment), and "Confirm
  // cancel", which sends it; the second click of a double click on Cancel does not confirm. Keep
  // or Escape puts Cancel back with the focus on it; so does a wait of confirmSeconds with the
  // focus elsewhere, without moving it.
  const confirmSeconds = 10;
  function askToCancel(workflowId, btn) {
    const ask = document.createElement('span');
    ask.className = 'confirm';
    ask.setAttribute('role', 'group');
    ask.setAttribute('aria-label', 'Cancel payment ' + workflowId + '? It cannot be undone.');
    const keep = document.createElement('button');
    keep.type = 'button';
    keep.dataset.keep = 'keep';
    keep.textContent = 'Keep payment';
    keep.setAttribute('aria-label', 'Keep payment ' + workflowId);
    const confirm = document.createElement('button');
    confirm.type = 'button';
    confirm.className = 'action danger';
    confirm.dataset.confirm = 'cancel';
    confirm.textContent = 'Confirm cancel';
    confirm.setAttribute('aria-label', 'Confirm cancel of payment ' + workflowId);
    ask.append(keep, confirm);
    let timer = 0;
    let done = false;
    const restore = (focus) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!ask.isConnected) return; // the view was drawn again meanwhile
      ask.replaceWith(btn);
      if (focus) btn.focus();
    };
    const expire = () => {
      if (ask.contains(document.activeElement)) timer = setTimeout(expire, confirmSeconds * 1000);
      else restore(false);
    };
    keep.addEventListener('click', () => restore(true));
    confirm.addEventListener('click', (ev) => {
      if (ev.detail > 1) return; // the second click of a double click on Cancel, in its place now
      restore(true);
      decide(workflowId, 'cancel', btn);
    });
    ask.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape') return;
      ev.preventDefault();
      restore(true);
    });
    btn.replaceWith(ask);
    keep.focus();
    timer = setTimeout(expire, confirmSeconds * 1000);
  }

  // resolveFormsOf are the forms of a payment's movements in doubt: a leg's transfer, or a top-up
  // due that was sent and not refused.
  function resolveFormsOf(p) {
    const out = [];
    for (const leg of p.legs) {
      if (leg.in_doubt) out.push(resolveForm(p.workflow_id, leg, leg.transfer_key, 'transfer'));
      for (const d of (leg.dues || []).filter((d) => d.kind === 'top_up' && !d.refused)) {
        out.push(resolveForm(p.workflow_id, leg, d.key, 'top-up'));
      }
    }
    return out;
  }

  // resolveForm lets an admin say what became of a leg's movement in doubt (its transfer, or a
  // top-up due), once looked up at the provider under its key: paid as a named movement (the
  // workflow checks it before booking it) or not paid (the next retry sends under a new key).
  let resolveForms = 0; // numbers the forms' error lines

  function resolveForm(workflowId, leg, movementKey, kind) {
    const form = document.createElement('div');
    form.className = 'resolve';
    form.setAttribute('role', 'group');
    form.setAttribute('aria-label', leg.party + ' ' + kind + ' in doubt');
    form.dataset.party = leg.party;
    form.dataset.payee = leg.payee_id;
    form.dataset.key = movementKey;
    const what = document.createElement('p');
    what.className = 'muted';
    what.append(leg.party + ' ' + leg.payee_id + ': ' + kind + ' in doubt; look up ');
    const key = document.createElement('code');
    key.textContent = movementKey;
    what.append(key, ' at the provider.');
    const ref = document.createElement('input');
    ref.name = 'provider_ref';
    const label = document.createElement('label');
    label.append('Stripe transfer or PayPal batch ID of the ' + leg.party + ' ' + kind + ' ', ref);
    // Said beside the field and tied to it, not at the top of the page.
    const error = document.createElement('p');
    error.className = 'error';
    error.id = 'resolve-error-' + (++resolveForms);
    error.setAttribute('role', 'alert');
    const made = document.createElement('button');
    made.type = 'button';
    made.dataset.action = 'resolve-made';
    made.textContent = 'Paid as';
    const notMade = document.createElement('button');
    notMade.type = 'button';
    notMade.dataset.action = 'resolve-not-made';
    notMade.textContent = 'Not paid';
    const send = async (body, btn) => {
      fieldError(ref, error, '');
      made.disabled = notMade.disabled = true;
      try {
        await api('POST', '/api/v1/admin/payments/' + encodeURIComponent(workflowId) + '/resolve',
          Object.assign({ party: leg.party, payee_id: leg.payee_id, key: movementKey }, body));
        notice('Resolve sent to ' + workflowId + ': the payment shows what came of it.', false);
        btn.textContent = 'Sent';
      } catch (e) {
        notice('Could not resolve ' + workflowId + ': ' + e.message, true);
        made.disabled = notMade.disabled = false;
      }
    };
    made.addEventListener('click', () => {
      const id = ref.value.trim();
      if (!id) {
        fieldError(ref, error, 'Name the provider\'s transfer or payout batch first.');
        ref.focus();
        return;
      }
      send({ made: true, provider_ref: id }, made);
    });
    notMade.addEventListener('click', () => send({ made: false }, notMade));
    form.append(what, label, made, notMade, error);
    return form;
  }

  // renderReconciliation shows the latest comparisons of the books with the providers. Drift is
  // only reported here: nothing is corrected without a person.
  function renderReconciliation({ runs }) {
    const tbody = $('recon-table').tBodies[0];
    tbody.textContent = '';
    for (const r of runs) {
      const row = tbody.insertRow();
      row.dataset.drift = String(r.drift_count);
      cell(row, utcDay(r.window_start));
      cell(row, r.provider);
      cell(row, formatCount(r.checked), 'num');
      cell(row, formatCount(r.drift_count), 'num' + (r.drift_count > 0 ? ' bad' : ''));
      cell(row, r.drifts.slice(0, 3).map((d) => d.kind.replaceAll('_', ' ') + ' ' + d.payee_id + ' (' + d.payment + ')').join('; ') +
        (r.drifts.length > 3 ? ' …' : ''));
    }
    $('recon-empty').hidden = runs.length > 0;
  }

  function renderAlerts({ alerts }) {
    const list = $('alerts-list');
    list.textContent = '';
    const firing = alerts.filter((a) => a.state === 'firing');
    for (const a of firing) {
      const li = document.createElement('li');
      li.append(bdi(a.monitor_name), ': ' + a.summary + ' (firing since ' + utcMinute(a.fired_at) + ')');
      if (a.payment) li.append(' ', ...paymentLinks(a.payment));
      list.appendChild(li);
    }
    $('alerts-empty').hidden = firing.length > 0;
  }

  // oneOffPath asks for the last 7 days' one-off alerts: events that happened once (a PayPal
  // payout taken back) are stored closed as they fire, so the firing alerts never show them, and
  // without alert email or webhook this list is an admin's only word of them.
  function oneOffPath() {
    const since = new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 19) + 'Z';
    return '/api/v1/admin/alerts?' + new URLSearchParams({ one_off: 'true', from: since, limit: '50' });
  }

  // renderOneOffEvents lists one-off alerts, newest first, as events to act on: their summaries
  // and subjects carry IDs from provider webhooks, so they are set as text, never as markup.
  function renderOneOffEvents({ alerts }) {
    const list = $('events-list');
    list.textContent = '';
    for (const a of alerts) {
      const li = document.createElement('li');
      li.append(utcMinute(a.fired_at) + ' ', bdi(a.monitor_name), ': ' + a.summary);
      if (a.payment) li.append(' ', ...paymentLinks(a.payment));
      else if (a.subjects && a.subjects.length) li.append(' (payment ' + a.subjects.join(', ') + ')');
      list.appendChild(li);
    }
    $('events-empty').hidden = alerts.length > 0;
  }

  // paymentLinks names the payment an alert is about, with its order and client, linked to the
  // dashboard's view of it (which reads its admin_url) and, where the deployment has one, its
  // workflow in the Temporal UI: an admin acts from the view.
  function paymentLinks(p) {
    const out = ['(payment ', paymentLink(p.workflow_id), ', order ', bdi(p.order_id), ', client ', bdi(p.client_id)];
    if (p.workflow_url) out.push('; ', temporalLink(p.workflow_url, 'Temporal UI'));
    out.push(')');
    return out;
  }

  // paymentLink links a payment's view on this page: a fragment, so a reload, a bookmark or a
  // link sent by email opens the same view (routeFromHash).
  function paymentLink(workflowId) {
    const a = document.createElement('a');
    a.href = '#payment=' + encodeURIComponent(workflowId);
    a.dataset.link = 'payment';
    a.textContent = workflowId;
    return a;
  }

  // temporalLink links a payment's workflow in the Temporal UI (another origin: no referrer).
  function temporalLink(url, text) {
    const a = document.createElement('a');
    a.href = url;
    a.rel = 'noreferrer';
    a.dataset.link = 'temporal';
    a.textContent = text;
    return a;
  }

  // renderInbox says whether provider webhooks reach Temporal: they are acknowledged once stored,
  // so a Temporal outage shows here (and in the webhook_inbox_age monitor), not at the providers.
  function renderInbox({ pending, oldest_wait_seconds: wait }) {
    const p = $('inbox-status');
    const late = pending > 0 && wait > 60;
    p.className = late ? 'bad' : 'muted';
    p.textContent = pending === 0
      ? 'Webhooks: every acknowledged event has reached Temporal.'
      : 'Webhooks: ' + formatCount(pending) + ' acknowledged event(s) waiting for Temporal, the oldest for ' +
        Math.round(wait) + ' s' + (late ? ': is Temporal reachable?' : '.');
  }

  // renderStale says so when the numbers are old, instead of letting old numbers pass for new.
  function renderStale(kpis) {
    if (kpis && kpis.stale) {
      addNotice('These KPIs are stale: last good sync ' + (kpis.last_synced_at ? utcMinute(kpis.last_synced_at) : 'never') + '.', true);
    }
  }

  // renderSourceErrors names the sources that failed for part of the period: their days are
  // missing from the tiles and charts, which would otherwise pass for the whole period's.
  function renderSourceErrors(kpis) {
    for (const e of (kpis && kpis.source_errors) || []) {
      addNotice('The ' + e.source + ' KPI source could not be read for the older days of this period, so their figures are missing' +
        (e.message ? ' (' + e.message + ').' : '.'), true);
    }
  }

  // renderKPINotes shows the remarks the figures must be read with (GA4 may have withheld low counts:
  // visitors may be lower than the real ones), as the weekly report's notes do.
  function renderKPINotes(kpis) {
    for (const n of (kpis && kpis.notes) || []) addNotice(n, false);
  }

  async function decide(workflowId, action, btn) {
    btn.disabled = true;
    try {
      await api('POST', '/api/v1/admin/payments/' + encodeURIComponent(workflowId) + '/' + action);
      notice(action + ' sent to ' + workflowId + '.', false);
      btn.textContent = decisionLabels[action][1];
      btn.setAttribute('aria-label', btn.textContent + ' ' + workflowId);
    } catch (e) {
      notice('Could not ' + action + ' ' + workflowId + ': ' + e.message, true);
      btn.disabled = false;
    }
  }

  // --- one payment ----------------------------------------------------------------------------------

  // The payment view shows one payment (GET /api/v1/admin/payments/{workflow_id}) in place of the
  // overview. It is opened by the page's fragment, #payment=<workflow id>, so that a reload, a
  // bookmark or a link sent by email keeps it; generation drops an answer for a payment no longer
  // shown, and opener is where the focus goes back to.
  const paymentView = { generation: 0, opener: null };

  // paymentInHash is the workflow ID the fragment names, or null.
  function paymentInHash() {
    const m = /^#payment=(.+)$/.exec(location.hash);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch (_) {
      return m[1];
    }
  }

  // routeFromHash shows what the fragment says: a payment's view, or the overview.
  function routeFromHash() {
    if (!state.me || $('app').hidden) return; // the login shows it once logged in (showApp)
    const id = paymentInHash();
    if (id) openPayment(id, false);
    else closePayment();
  }

  window.addEventListener('hashchange', routeFromHash);

  // leavePayment returns to the overview without moving the focus (another client or period
  // was picked, to be seen there), and drops the fragment without a history entry.
  function leavePayment() {
    if ($('payment-view').hidden) return;
    history.replaceState(null, '', location.pathname + location.search);
    paymentView.opener = null;
    closePayment();
  }

  // closePayment shows the overview again, with the focus where it was when the view opened (the
  // link followed), else on the page's heading.
  function closePayment() {
    paymentView.generation++;
    const v = $('payment-view');
    if (v.hidden) return;
    v.hidden = true;
    delete v.dataset.payment;
    delete v.dataset.state;
    $('overview').hidden = false;
    const o = paymentView.opener;
    paymentView.opener = null;
    if (o === null) return;
    if (o !== document.body && o.isConnected && o.getClientRects().length) o.focus();
    else $('title').focus();
  }

  // openPayment reads the payment and shows it; again (the "Read again" button) keeps what is
  // shown, and the focus, until the answer is in. The focus otherwise moves to the view's heading,
  // which names the payment. An error is said with the API's reason in the view (an alert).
  async function openPayment(workflowId, again) {
    const generation = ++paymentView.generation;
    const v = $('payment-view');
    if (v.hidden) paymentView.opener = document.activeElement;
    v.hidden = false;
    $('overview').hidden = true;
    v.dataset.payment = workflowId;
    v.dataset.state = 'loading';
    $('payment-error').textContent = '';
    $('payment-loading').textContent = 'Reading payment ' + workflowId + '…';
    if (!again) {
      $('payment-heading').textContent = 'Payment ' + workflowId;
      $('payment-body').hidden = true;
      $('payment-heading').focus();
    }
    // The fragment is anyone's to write (a link in an email, on another site). A workflow ID is
    // one path segment of the request (encodeURIComponent), but "." and ".." stay dot segments,
    // which the browser resolves: /api/v1/admin/payments/ and /api/v1/admin/ would be read.
    if (workflowId === '.' || workflowId === '..') {
      $('payment-loading').textContent = '';
      $('payment-error').textContent = 'Could not show payment ' + workflowId + ': it is not a payment\'s workflow ID.';
      v.dataset.state = 'error';
      return;
    }
    let p;
    try {
      p = await api('GET', '/api/v1/admin/payments/' + encodeURIComponent(workflowId));
    } catch (e) {
      if (generation !== paymentView.generation) return;
      if (e.status === 401) return showLogin('Your session ended: log in again.');
      $('payment-body').hidden = true;
      $('payment-loading').textContent = '';
      $('payment-error').textContent = 'Could not show payment ' + workflowId + ': ' + e.message;
      v.dataset.state = 'error';
      return;
    }
    if (generation !== paymentView.generation) return;
    Object.assign(state.exponents, p.exponents);
    renderPayment(p);
    $('payment-loading').textContent = '';
    $('payment-body').hidden = false;
    v.dataset.state = 'shown';
  }

  $('payment-reload').addEventListener('click', () => {
    const id = $('payment-view').dataset.payment;
    if (id) openPayment(id, true);
  });

  // renderPayment fills the view: the summary, the links, the decisions the payment's status
  // takes, its legs (and forms for movements in doubt) and its ledger entries. Everything from
  // the answer is set as text.
  function renderPayment(p) {
    const money = (v) => formatMoney(v, p.currency);
    const captured = p.captured_at && !String(p.captured_at).startsWith('0001-') ? utcMinute(p.captured_at) : 'not captured yet';
    const fields = [
      ['status', 'Status', p.status],
      ['reason', 'Reason', p.reason || ''],
      ['client_id', 'Client', p.client_id],
      ['order_id', 'Order', p.order_id],
      ['provider', 'Provider', p.provider + ' ' + p.payment_id],
      ['captured_at', 'Captured', captured],
      ['gross', 'Gross', money(p.gross)],
      ['subtotal', 'Subtotal', money(p.subtotal)],
      ['discount', 'Discount', money(p.discount)],
      ['tax', 'Tax', money(p.tax)],
      ['shipping', 'Shipping', money(p.shipping)],
      ['extras', 'Extras (tips, duties, fees)', money(p.extras || 0)],
      ['commission_base', 'Commission base', money(p.commission_base)],
      ['refunded', 'Refunded', money(p.refunded)],
      ['rule_version', 'Split rule version', String(p.rule_version)],
      ['decision', 'Decision number', String(p.decision)],
    ];
    // PayPal pays HUF and TWD payees in whole units: the legs are rounded to them.
    if (p.payout_unit > 1) fields.push(['payout_unit', 'Payees paid in whole units of', money(p.payout_unit)]);
    const dl = $('payment-summary');
    dl.textContent = '';
    for (const [key, label, value] of fields) {
      if (key === 'reason' && !value) continue;
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.dataset.field = key;
      dd.textContent = value;
      dl.append(dt, dd);
    }
    const raw = document.createElement('a');
    raw.href = '/api/v1/admin/payments/' + encodeURIComponent(p.workflow_id);
    raw.dataset.link = 'api';
    raw.textContent = 'The admin API\'s answer (JSON)';
    // No Temporal UI configured (production without TEMPORAL_UI_URL): workflow_url is "", and a
    // link to it would be this page.
    $('payment-links').replaceChildren(...(p.workflow_url ? [temporalLink(p.workflow_url, 'Workflow in the Temporal UI'), ' · '] : []), raw);
    $('payment-actions').replaceChildren(...decisionsFor(p).map((a) => decisionButton(p.workflow_id, a)));
    renderPaymentLegs(p, money);
    $('payment-resolve').replaceChildren(...resolveFormsOf(p));
    renderPaymentLedger(p.ledger_entries || []);
  }

  // decisionsFor is what the API takes for the payment as shown (admin.go: allowed, decideDues):
  // a payment whose only failed payouts are movements due (top-ups, reversals) is retried and
  // never cancelled; one held is released (when a leg is held) or cancelled; one parked or whose
  // payout failed is retried or cancelled; one waiting for its order is cancelled.
  function decisionsFor(p) {
    const waiting = !p.compensated && p.legs.some((l) => l.state === 'failed' || l.state === 'held');
    const dues = p.legs.some((l) => (l.dues || []).length > 0);
    if (dues && !waiting) return ['held', 'payout_failed'].includes(p.status) ? ['retry'] : [];
    switch (p.status) {
      case 'needs_attention':
      case 'payout_failed':
        return ['retry', 'cancel'];
      case 'held':
        return p.legs.some((l) => l.state === 'held') ? ['release', 'cancel'] : ['cancel'];
      case 'awaiting_metadata':
        return ['cancel'];
      default:
        return [];
    }
  }

  function renderPaymentLegs(p, money) {
    const tbody = $('payment-legs').tBodies[0];
    tbody.textContent = '';
    for (const l of p.legs) {
      const row = tbody.insertRow();
      row.dataset.party = l.party;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = l.party;
      row.appendChild(th);
      cell(row, l.payee_id || '');
      cell(row, money(l.amount), 'num');
      cell(row, money(l.refunded), 'num');
      cell(row, money(l.transferred), 'num');
      cell(row, money(l.reversed), 'num');
      cell(row, [l.transfer_id, ...(l.top_ups || []).map((t) => t.transfer_id)].filter(Boolean).join(', '));
      cell(row, legState(l, money));
    }
  }

  // legState is a leg's state with why, whether its transfer is in doubt (and the key to look up)
  // and the top-ups and reversals it owes or is owed.
  function legState(l, money) {
    let st = l.state + (l.reason ? ' (' + l.reason + ')' : '');
    if (l.in_doubt) st += '; transfer in doubt: look up ' + l.transfer_key;
    for (const d of l.dues || []) {
      st += '; ' + d.kind.replaceAll('_', ' ') + ' due ' + money(d.amount) + (d.held ? ', held' : d.refused ? ', refused' : '') +
        (d.reason && d.reason !== l.reason ? ': ' + d.reason : '');
    }
    return st;
  }

  // renderPaymentLedger lists the payment's journal entries a posting a row, each amount in its
  // entry's currency (debits positive, credits negative, as the ledger stores them).
  function renderPaymentLedger(entries) {
    const tbody = $('payment-ledger').tBodies[0];
    tbody.textContent = '';
    for (const e of entries) {
      for (const posting of e.postings) {
        const row = tbody.insertRow();
        row.dataset.entry = String(e.id);
        cell(row, '#' + e.id + (e.reverses_id ? ' (reverses #' + e.reverses_id + ')' : ''));
        cell(row, utcMinute(e.created_at));
        cell(row, e.description);
        cell(row, posting.account);
        cell(row, formatMoney(posting.amount, e.currency), 'num');
      }
    }
    $('payment-ledger-empty').hidden = entries.length > 0;
  }

  start();
})();
