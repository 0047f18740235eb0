// solod admin page, Dashboard tab: sign-ins, failures, sign-outs, kicks and
// sessions over a chosen range (GET /api/admin/stats) as totals, two uPlot
// charts, and the ten IP addresses and usernames with the most failed
// sign-ins, each a link into the audit log ("#audit?ip=…"). Counted in UTC
// hours or days, shown in the browser's time zone.
'use strict';

(function (admin) {
  const { $, el, format_time, format_clock, query_string, state } = admin;
  const { api, error_text, show_error, FAILURE_TEXT } = admin;

  /** The dashboard's preset ranges: their length and the bucket the API counts in. */
  const RANGES = {
    '24h': { hours: 24, bucket: 'hour' },
    '7d': { hours: 24 * 7, bucket: 'day' },
    '30d': { hours: 24 * 30, bucket: 'day' },
  };

  /** The two charts: where they go and their series (the data's order). */
  const CHARTS = {
    activity: {
      box: 'chart-activity',
      series: [
        { key: 'logins', label: 'Sign-ins', stroke: '#17803d', fill: 'rgba(23, 128, 61, 0.08)' },
        { key: 'failures', label: 'Failed', stroke: '#b42318' },
        { key: 'logouts', label: 'Sign-outs', stroke: '#5d6878' },
        { key: 'kicks', label: 'Kicks', stroke: '#c27c0e' },
      ],
    },
    sessions: {
      box: 'chart-sessions',
      series: [
        { key: 'new_sessions', label: 'New sessions', stroke: '#2457c5', fill: 'rgba(36, 87, 197, 0.08)' },
        { key: 'peak_live', label: 'Peak live', stroke: '#6532b0' },
      ],
    },
  };

  /** The kinds of kick (stats `kicks` keys), in words. */
  const KICK_TEXT = { superseded: 'replaced', terminated: 'by admin', expired: 'expired' };

  // This tab's part of what the page shows now (`state`, see common.js).
  state.dash = { range: '24h', query: null, plot: null, charts: {}, seq: 0, loaded: false };

  /** A Date as a datetime-local input's value (local time, to the minute). */
  function to_local_input(date) {
    const p = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
  }

  /** A datetime-local input's value (local time) as a Date; null when empty or malformed. */
  function from_local_input(value) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value || '')) return null;
    const d = new Date(value);   // no zone given: the browser's local time
    return Number.isNaN(d.getTime()) ? null : d;
  }

  /** The stats query of the chosen range ({from, to, bucket}), or an error text. */
  function dash_query() {
    const d = state.dash;
    if (d.range !== 'custom') {
      const r = RANGES[d.range] || RANGES['24h'];
      const to = new Date();
      const from = new Date(to.getTime() - r.hours * 3600 * 1000);
      return { query: { from: from.toISOString(), to: to.toISOString(), bucket: r.bucket } };
    }
    const from = from_local_input($('dash-from').value);
    const to = from_local_input($('dash-to').value);
    if (!from || !to) return { error: 'Choose both "From" and "To".' };
    if (from >= to) return { error: '"From" must be before "To".' };
    // As the server would choose: hours up to three days, days beyond.
    const bucket = to - from <= 72 * 3600 * 1000 ? 'hour' : 'day';
    return { query: { from: from.toISOString(), to: to.toISOString(), bucket } };
  }

  function choose_range(range) {
    const d = state.dash;
    d.range = range;
    for (const b of document.querySelectorAll('#dash-range-form .segment')) {
      b.setAttribute('aria-pressed', String(b.dataset.range === range));
    }
    $('dash-custom').hidden = range !== 'custom';
    if (range === 'custom') {
      // Start from what is shown now; nothing loads until "Show".
      if (!$('dash-from').value || !$('dash-to').value) {
        const q = d.query || dash_query().query;
        $('dash-from').value = to_local_input(new Date(q.from));
        $('dash-to').value = to_local_input(new Date(q.to));
      }
      $('dash-from').focus();
      return;
    }
    load_stats();
  }

  async function load_stats() {
    const d = state.dash;
    const q = dash_query();
    if (q.error) {
      show_error('dash-error', q.error);
      return;
    }
    d.loaded = true;
    const seq = ++d.seq;
    const panel = $('panel-dashboard');
    panel.setAttribute('aria-busy', 'true');
    $('dash-refresh').disabled = true;
    $('dash-apply').disabled = true;
    const r = await api('GET', `/api/admin/stats${query_string(q.query)}`);
    if (seq !== d.seq) return;   // a newer range was asked for meanwhile
    panel.setAttribute('aria-busy', 'false');
    $('dash-refresh').disabled = false;
    $('dash-apply').disabled = false;
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('dash-error', error_text(r, 'Could not load the statistics'));
      return;
    }
    show_error('dash-error', '');
    d.query = q.query;
    render_stats(r.body || {});
    $('dash-updated').textContent = `Updated ${format_clock(new Date())}`;
  }

  /** The stats answer as chart data and totals. */
  function summarize_stats(body) {
    const buckets = body.buckets || [];
    const n = (v) => Number(v) || 0;
    const kicks = (b) => Object.values(b.kicks || {}).reduce((sum, v) => sum + n(v), 0);
    const series = {
      logins: buckets.map((b) => n((b.events || {}).login_success)),
      failures: buckets.map((b) => n((b.events || {}).login_failure)),
      logouts: buckets.map((b) => n((b.events || {}).logout)),
      kicks: buckets.map(kicks),
      new_sessions: buckets.map((b) => n(b.new_sessions)),
      peak_live: buckets.map((b) => n(b.peak_live)),
    };
    const sum = (list) => list.reduce((a, b) => a + b, 0);
    const totals = {
      logins: sum(series.logins),
      failures: sum(series.failures),
      logouts: sum(series.logouts),
      kicks: sum(series.kicks),
      new_sessions: sum(series.new_sessions),
      peak_live: series.peak_live.length ? Math.max(...series.peak_live) : 0,
    };
    const merge = (field) => {
      const m = {};
      for (const b of buckets) {
        for (const [k, v] of Object.entries(b[field] || {})) m[k] = (m[k] || 0) + n(v);
      }
      return m;
    };
    return {
      xs: buckets.map((b) => Date.parse(b.start) / 1000),
      series, totals, failures: merge('failures'), kicks: merge('kicks'),
    };
  }

  /** "4 wrong password · 1 unknown user": the non-zero counts, largest first. */
  function count_words(counts, names) {
    return Object.entries(counts)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, v]) => `${v} ${names[k] || k.replace(/_/g, ' ')}`)
      .join(' · ');
  }

  function render_stats(body) {
    const d = state.dash;
    const sum = summarize_stats(body);
    const bucket = body.bucket === 'day' ? 'day' : 'hour';
    const panel = $('panel-dashboard');
    panel.dataset.from = body.from || '';
    panel.dataset.to = body.to || '';
    panel.dataset.bucket = bucket;
    panel.dataset.buckets = String(sum.xs.length);
    $('dash-bucket-word').textContent = `${bucket}s`;
    for (const w of document.querySelectorAll('#panel-dashboard .bucket-word')) w.textContent = bucket;
    $('dash-range-text').textContent =
      `${format_time(body.from)} – ${format_time(body.to)} · ${sum.xs.length} ${bucket === 'day' ? 'daily' : 'hourly'} buckets`;

    for (const tile of document.querySelectorAll('#dash-totals .stat')) {
      tile.querySelector('.stat-value').textContent = String(sum.totals[tile.dataset.key]);
      tile.dataset.value = String(sum.totals[tile.dataset.key]);
    }
    document.querySelector('#dash-totals [data-key="failures"] .stat-detail').textContent =
      count_words(sum.failures, FAILURE_TEXT);
    document.querySelector('#dash-totals [data-key="kicks"] .stat-detail').textContent =
      count_words(sum.kicks, KICK_TEXT);

    d.plot = {};
    for (const [name, def] of Object.entries(CHARTS)) {
      d.plot[name] = [sum.xs, ...def.series.map((s) => sum.series[s.key])];
    }
    draw_charts();

    render_top('top-ips', 'top-ips-empty', body.top_failing_ips || [], 'ip');
    render_top('top-users', 'top-users-empty', body.top_failing_users || [], 'user');
    panel.dataset.state = 'ready';
  }

  /** A top-10 table: each IP or name links to the audit log filtered by it. */
  function render_top(table_id, empty_id, list, kind) {
    const counts = list.map((x) => Number(x.failures) || 0);
    const max = Math.max(1, ...counts);
    const rows = list.map((x, i) => {
      const value = String(kind === 'ip' ? x.ip : x.username);
      const link = el('a', {
        class: kind === 'ip' ? 'top-link mono' : 'top-link', text: value,
        title: `Open the audit log of ${kind === 'ip' ? 'IP address' : 'username'} ${value}`,
        attrs: { href: `#audit?${kind}=${encodeURIComponent(value)}` },
      });
      const bar = el('span', { class: 'top-bar' });
      bar.style.width = `${Math.max(2, Math.round((100 * counts[i]) / max))}%`;
      return el('tr', { data: { value, failures: String(counts[i]) } }, [
        el('td', {}, [link, el('span', { class: 'top-bar-track', attrs: { 'aria-hidden': 'true' } }, [bar])]),
        el('td', { class: 'num', text: String(counts[i]) }),
      ]);
    });
    $(table_id).tBodies[0].replaceChildren(...rows);
    $(table_id).hidden = rows.length === 0;
    $(empty_id).hidden = rows.length > 0;
  }

  function chart_height(width) {
    return width < 520 ? 200 : 250;
  }

  function chart_options(def, width) {
    const grid = { stroke: '#eef1f6', width: 1 };
    const ticks = { stroke: '#dde3ec', width: 1 };
    const when = (u, ts) => (ts === null || ts === undefined ? '–'
      : new Date(ts * 1000).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
    return {
      width,
      height: chart_height(width),
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
      },
      series: [
        { label: 'When', value: when },
        ...def.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          fill: s.fill,
          width: 2,
          points: { size: 5, fill: s.stroke },
          value: (u, v) => (v === null || v === undefined ? '–' : String(v)),
        })),
      ],
      axes: [
        { stroke: '#5d6878', grid, ticks },
        {
          stroke: '#5d6878', grid, ticks, size: 44,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1000000],
          values: (u, splits) => splits.map((v) => String(v)),
        },
      ],
    };
  }

  /**
   * Draws (or redraws) both charts at their boxes' width. A hidden tab has no
   * width: it is drawn when shown (select_panel and the resize observer call again).
   */
  function draw_charts() {
    const d = state.dash;
    if (!d.plot) return;
    for (const [name, def] of Object.entries(CHARTS)) {
      const box = $(def.box);
      if (typeof uPlot === 'undefined') {
        box.textContent = 'The charts could not be loaded (vendor/uplot is missing).';
        continue;
      }
      const width = Math.floor(box.clientWidth);
      if (width <= 0) continue;
      const chart = d.charts[name];
      if (chart) {
        chart.setData(d.plot[name]);
        if (chart.width !== width) chart.setSize({ width, height: chart_height(width) });
      } else {
        d.charts[name] = new uPlot(chart_options(def, width), d.plot[name], box);
      }
    }
  }

  /** Charts follow their boxes' width (window resized, phone turned, tab shown). */
  function watch_chart_sizes() {
    if (typeof ResizeObserver === 'undefined') {
      window.addEventListener('resize', draw_charts);
      return;
    }
    const observer = new ResizeObserver(() => {
      const d = state.dash;
      for (const [name, def] of Object.entries(CHARTS)) {
        const width = Math.floor($(def.box).clientWidth);
        const chart = d.charts[name];
        if (width <= 0) continue;
        if (!chart) {
          draw_charts();
        } else if (chart.width !== width) {
          chart.setSize({ width, height: chart_height(width) });
        }
      }
    });
    for (const def of Object.values(CHARTS)) observer.observe($(def.box));
  }

  /** Listens to the range picker and Refresh; charts follow their boxes' width. */
  function wire_dashboard() {
    for (const b of document.querySelectorAll('#dash-range-form .segment')) {
      b.addEventListener('click', () => choose_range(b.dataset.range));
    }
    $('dash-range-form').addEventListener('submit', (ev) => { ev.preventDefault(); load_stats(); });
    $('dash-refresh').addEventListener('click', () => load_stats());
    watch_chart_sizes();
  }

  // What the other scripts call.
  Object.assign(admin, { load_stats, draw_charts, wire_dashboard });
})(window.solodAdmin);
