// RequestArena dashboard: polls /arena/stats every second and draws plain SVG. No libraries, no build step.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const HISTORY = 60;
const MODES = ['arena', 'pool', 'new'];
const W = 640, H = 260, PAD = { left: 56, right: 12, top: 24, bottom: 40 };

const history = [];          // { t, stats } samples, oldest first
let polls = 0;

function formatBytes(n) {
  if (!isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

function formatNumber(n) { return Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 }); }

function el(name, attrs, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

// Rounds an axis maximum up to 1, 2 or 5 times a power of ten so the four gridlines get readable labels.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(svg, yMax, yFormat) {
  const plotH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    svg.appendChild(el('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    svg.appendChild(el('text', { x: PAD.left - 6, y: y + 4, 'text-anchor': 'end' }, yFormat((yMax * i) / 4)));
  }
}

function emptyMessage(svg, text) {
  svg.appendChild(el('text', { class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, text));
}

// One bar per bucket the server sent (it sends the first to the last non-empty one).
function drawHistogram(svg, requests) {
  clear(svg);
  const buckets = requests.buckets || [];
  svg.dataset.count = requests.count;
  svg.dataset.bars = 0;
  if (buckets.length === 0) {
    emptyMessage(svg, 'no arena requests yet');
    return;
  }
  const maxCount = niceMax(Math.max(4, ...buckets.map(b => b.count)));
  axes(svg, maxCount, v => formatNumber(Math.round(v)));
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / buckets.length, barW = Math.max(2, slot * 0.8);
  const label = b => b.upperBytes === null ? '>' + formatBytes(b.lowerBytes - 1) : '≤' + formatBytes(b.upperBytes);
  buckets.forEach((b, i) => {
    const h = maxCount === 0 ? 0 : (plotH * b.count) / maxCount;
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const bar = el('rect', { class: 'bar', x: x.toFixed(1), y: (PAD.top + plotH - h).toFixed(1), width: barW.toFixed(1), height: h.toFixed(1), 'data-upper': b.upperBytes === null ? 'inf' : b.upperBytes, 'data-count': b.count });
    bar.appendChild(el('title', {}, `${label(b)}: ${b.count} requests`));
    svg.appendChild(bar);
    if (buckets.length <= 12 || i % Math.ceil(buckets.length / 12) === 0) {
      svg.appendChild(el('text', { x: (x + barW / 2).toFixed(1), y: H - PAD.bottom + 14, 'text-anchor': 'middle' }, label(b)));
    }
  });
  svg.dataset.bars = buckets.length;
  svg.appendChild(el('text', { x: PAD.left, y: 14 }, `${formatNumber(requests.count)} requests · mean ${formatBytes(requests.meanBytes)} · p50 ${formatBytes(requests.p50Bytes)} · p99 ${formatBytes(requests.p99Bytes)}`));
}

// Line chart over the history; series = [{ name, values }], values aligned with history.
function drawLines(svg, series, yFormat) {
  clear(svg);
  const n = history.length;
  svg.dataset.points = n;
  if (n < 2) {
    emptyMessage(svg, 'collecting…');
    return;
  }
  const yMax = niceMax(Math.max(4, ...series.flatMap(s => s.values.filter(v => isFinite(v)))));
  axes(svg, yMax, yFormat);
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => {
      const x = PAD.left + (plotW * (HISTORY - n + i)) / (HISTORY - 1);
      const y = PAD.top + plotH - (plotH * (isFinite(v) ? v : 0)) / yMax;
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    svg.appendChild(el('polyline', { class: `series series-${k}`, points: points.join(' '), 'data-series': s.name, 'data-last': s.values[n - 1] }));
    svg.appendChild(el('rect', { class: `legend-${k}`, x: PAD.left + k * 170, y: H - 16, width: 10, height: 10 }));
    svg.appendChild(el('text', { x: PAD.left + k * 170 + 14, y: H - 7 }, `${s.name}: ${yFormat(s.values[n - 1])}`));
  });
  svg.appendChild(el('text', { x: W - PAD.right, y: H - PAD.bottom + 14, 'text-anchor': 'end' }, 'now'));
  svg.appendChild(el('text', { x: PAD.left, y: H - PAD.bottom + 14 }, `-${HISTORY} s`));
}

// Per-second rates between consecutive samples.
function rates(pick) {
  return history.map((s, i) => {
    if (i === 0) return 0;
    const prev = history[i - 1];
    const seconds = Math.max(0.001, s.stats.uptimeSeconds - prev.stats.uptimeSeconds);
    return (pick(s.stats) - pick(prev.stats)) / seconds;
  });
}

function render(stats) {
  const pool = stats.pool, req = stats.requests;
  document.getElementById('card-requests').textContent = formatNumber(req.count);
  document.getElementById('card-quantiles').textContent = `${formatBytes(req.p50Bytes)} · ${formatBytes(req.p99Bytes)}`;
  document.getElementById('card-slabs').textContent = `${pool.slabsInUse} · ${pool.pooledSlabs}`;
  document.getElementById('card-gc').textContent = `${stats.gen0Collections} · ${stats.gen1Collections} · ${stats.gen2Collections}`;
  document.getElementById('card-allocated').textContent = formatBytes(stats.totalAllocatedBytes);
  document.getElementById('card-ws').textContent = formatBytes(stats.workingSetBytes);

  drawHistogram(document.getElementById('histogram-chart'), req);
  drawLines(document.getElementById('pool-chart'), [
    { name: 'slabs in use', values: history.map(s => s.stats.pool.slabsInUse) },
    { name: 'pooled slabs', values: history.map(s => s.stats.pool.pooledSlabs) },
    { name: 'slabs rented/s', values: rates(s => s.pool.slabsRented) },
  ], v => formatNumber(Math.round(v)));
  drawLines(document.getElementById('gc-chart'), [
    { name: 'allocated MiB/s', values: rates(s => s.totalAllocatedBytes / 1048576) },
    { name: 'gen0 per s', values: rates(s => s.gen0Collections) },
  ], v => formatNumber(Math.round(v * 10) / 10));
}

async function fetchStats() {
  const response = await fetch('/arena/stats', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/arena/stats answered ${response.status}`);
  return response.json();
}

async function poll() {
  const status = document.getElementById('status');
  try {
    const stats = await fetchStats();
    history.push({ t: Date.now(), stats });
    while (history.length > HISTORY) history.shift();
    polls++;
    render(stats);
    status.className = 'status';
    status.textContent = `updated ${new Date().toLocaleTimeString()} · uptime ${Math.round(stats.uptimeSeconds)} s · ${stats.serverGC ? 'server' : 'workstation'} GC · slab ${formatBytes(stats.pool.slabSize)}`;
    document.body.dataset.state = 'live';
    document.body.dataset.polls = polls;
  } catch (e) {
    status.className = 'status error';
    status.textContent = 'stats unavailable: ' + e.message;
    document.body.dataset.state = 'error';
  }
}

async function burst(count, items) {
  const button = document.getElementById('burst');
  const tbody = document.querySelector('#burst-results tbody');
  button.disabled = true;
  document.body.dataset.burst = 'running';
  tbody.textContent = '';
  try {
    for (const mode of MODES) {
      const before = await fetchStats();
      const started = performance.now();
      let sent = 0, failed = 0;
      const worker = async () => {
        while (sent < count) {
          sent++;
          const r = await fetch(`/api/report?items=${items}&alloc=${mode}`, { cache: 'no-store' });
          await r.arrayBuffer();
          if (!r.ok) failed++;
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      const ms = performance.now() - started;
      const after = await fetchStats();
      const row = {
        mode, count, failed, ms,
        gen0: after.gen0Collections - before.gen0Collections,
        allocatedPerRequest: (after.totalAllocatedBytes - before.totalAllocatedBytes) / count,
        scratchPerRequest: (after.modes[mode].scratchBytes - before.modes[mode].scratchBytes) / count,
      };
      const tr = document.createElement('tr');
      tr.dataset.mode = mode;
      tr.dataset.requests = count;
      tr.dataset.failed = failed;
      tr.dataset.gen0 = row.gen0;
      tr.dataset.allocatedPerRequest = Math.round(row.allocatedPerRequest);
      tr.dataset.scratchPerRequest = Math.round(row.scratchPerRequest);
      for (const [text, cls] of [
        [mode, 'mode-' + mode], [formatNumber(count)], [formatNumber(failed)], [formatNumber(Math.round(ms))],
        [formatNumber(Math.round((count * 1000) / Math.max(ms, 1)))], [formatNumber(row.gen0)],
        [formatBytes(row.allocatedPerRequest)], [formatBytes(row.scratchPerRequest)]]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    document.body.dataset.burst = 'done';
  } catch (e) {
    document.body.dataset.burst = 'error';
    document.getElementById('status').textContent = 'burst failed: ' + e.message;
  } finally {
    button.disabled = false;
    await poll();
  }
}

document.getElementById('burst-form').addEventListener('submit', e => {
  e.preventDefault();
  const count = Math.max(1, Math.min(5000, parseInt(document.getElementById('burst-count').value, 10) || 300));
  const items = Math.max(1, Math.min(10000, parseInt(document.getElementById('burst-items').value, 10) || 200));
  burst(count, items);
});

// ?burst=N fires a burst on load (the browser test uses it; a link can share it too).
(async () => {
  await poll();
  setInterval(poll, 1000);
  const params = new URLSearchParams(location.search);
  if (params.has('burst')) {
    const count = Math.max(1, Math.min(5000, parseInt(params.get('burst'), 10) || 300));
    const items = Math.max(1, Math.min(10000, parseInt(params.get('items'), 10) || 200));
    await burst(count, items);
  }
})();
