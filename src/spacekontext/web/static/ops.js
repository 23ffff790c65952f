// Refreshes the operations page from /app/ops/live.json every 5 seconds. Counters are
// cumulative, so rates and percentiles of the last interval come from two snapshots.
const REFRESH_MS = 5000;
const HISTORY_S = 600;
let previous = null;
const history = [];
const routeHistory = new Map();

// A sparkline of one route over the kept history (the same time axis as the chart): its rate in
// blue and its p99 in red, each scaled to its own peak.
function sparkline(points, now) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 120 24");
  svg.setAttribute("width", "120");
  svg.setAttribute("height", "24");
  const peakRate = Math.max(0.01, ...points.map((p) => p.rate));
  const latencies = points.filter((p) => p.p99 !== null);
  const peakP99 = Math.max(0.01, ...latencies.map((p) => p.p99));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `rate up to ${peakRate.toFixed(2)} per second, p99 up to ${peakP99.toFixed(1)} ms`);
  const x = (p) => (120 - ((now - p.t) / HISTORY_S) * 120).toFixed(1);
  for (const [series, value, peak, colour] of [
    [points, (p) => p.rate, peakRate, "#1d4ed8"],
    [latencies, (p) => p.p99, peakP99, "#b91c1c"],
  ]) {
    if (series.length < 2) continue;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", series.map((p) => `${x(p)},${(22 - (value(p) / peak) * 20).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour);
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
  }
  return svg;
}

function quantileMs(buckets, q) {
  if (!buckets.length) return null;
  const total = buckets[buckets.length - 1][1];
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!isFinite(bound)) return lowerBound * 1000;
      const span = count - lowerCount;
      const share = span > 0 ? (rank - lowerCount) / span : 1;
      return (lowerBound + (bound - lowerBound) * share) * 1000;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound * 1000;
}

function bucketsOf(route) {
  return route.buckets.map(([bound, count]) => [bound === "+Inf" || bound === null ? Infinity : Number(bound), count]);
}

function ms(value) {
  return value === null ? "no requests" : `${value.toFixed(1)} ms`;
}

function routeRow(key) {
  const body = document.querySelector("#routes tbody");
  for (const row of body.rows) if (row.dataset.route === key) return row;
  if (body.rows.length === 1 && !body.rows[0].dataset.route) body.rows[0].remove();
  const row = body.insertRow();
  row.dataset.route = key;
  const head = document.createElement("th");
  head.scope = "row";
  head.textContent = key;
  row.append(head);
  for (const name of ["count", "rate", "p50", "p99", "errors", "trend"]) {
    const cell = row.insertCell();
    cell.dataset[name] = "";
  }
  return row;
}

function drawChart() {
  const svg = document.getElementById("rate-chart");
  if (history.length < 2) return;
  const now = history[history.length - 1].t;
  const max = Math.max(1, ...history.map((p) => p.rate));
  const points = history.map((p) => `${(600 - ((now - p.t) / HISTORY_S) * 600).toFixed(1)},${(110 - (p.rate / max) * 100).toFixed(1)}`);
  const ns = "http://www.w3.org/2000/svg";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#1d4ed8");
  line.setAttribute("stroke-width", "2");
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "6");
  label.setAttribute("y", "16");
  label.setAttribute("class", "chart-note");
  label.textContent = `peak ${max.toFixed(1)}/s, now ${history[history.length - 1].rate.toFixed(1)}/s`;
  svg.replaceChildren(line, label);
  svg.setAttribute("aria-label", `Requests per second over the last minutes: now ${history[history.length - 1].rate.toFixed(1)}`);
}

function update(snapshot) {
  const prior = previous ? new Map(previous.routes.map((r) => [r.key, r])) : new Map();
  const seconds = previous ? snapshot.takenAt - previous.takenAt : 0;
  let total = 0;
  for (const route of snapshot.routes) {
    const row = routeRow(route.key);
    const before = prior.get(route.key);
    row.querySelector("[data-count]").textContent = String(Math.round(route.count));
    row.querySelector("[data-errors]").textContent = String(Math.round(route.errors));
    const buckets = bucketsOf(route);
    if (seconds > 0) {
      const delta = route.count - (before ? before.count : 0);
      total += delta;
      row.querySelector("[data-rate]").textContent = (delta / seconds).toFixed(2);
      const base = before ? new Map(bucketsOf(before)) : new Map();
      const recent = buckets.map(([bound, count]) => [bound, count - (base.get(bound) || 0)]);
      const hasRecent = recent.length && recent[recent.length - 1][1] > 0;
      row.querySelector("[data-p50]").textContent = ms(quantileMs(hasRecent ? recent : buckets, 0.5));
      row.querySelector("[data-p99]").textContent = ms(quantileMs(hasRecent ? recent : buckets, 0.99));
      const points = routeHistory.get(route.key) || [];
      points.push({ t: snapshot.takenAt, rate: delta / seconds, p99: hasRecent ? quantileMs(recent, 0.99) : null });
      while (points.length && snapshot.takenAt - points[0].t > HISTORY_S) points.shift();
      routeHistory.set(route.key, points);
      if (points.length > 1) row.querySelector("[data-trend]").replaceChildren(sparkline(points, snapshot.takenAt));
    }
  }
  if (seconds > 0) {
    history.push({ t: snapshot.takenAt, rate: total / seconds });
    while (history.length && snapshot.takenAt - history[0].t > HISTORY_S) history.shift();
    drawChart();
  }
  for (const [state, count] of Object.entries(snapshot.jobs)) {
    const cell = document.querySelector(`#jobs [data-state="${state}"]`);
    if (cell) cell.textContent = String(count);
  }
  document.getElementById("redis-state").textContent = snapshot.redis;
  document.getElementById("cache-ratio").textContent =
    snapshot.cacheHitRatio === null ? "no lookups yet" : `${(snapshot.cacheHitRatio * 100).toFixed(1)} %`;
  for (const [role, pool] of Object.entries(snapshot.pool)) {
    const row = document.querySelector(`#pool tr[data-role="${role}"]`);
    if (!row) continue;
    row.querySelector("[data-in-use]").textContent = String(Math.round(pool.in_use || 0));
    row.querySelector("[data-waiting]").textContent = String(Math.round(pool.waiting || 0));
  }
  previous = snapshot;
  document.getElementById("refreshed").textContent = `figures as of ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const response = await fetch("/app/ops/live.json", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.redirected || response.status === 401) {
      window.location.assign("/app/sign-in?reason=expired&next=/app/ops");
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    update(await response.json());
  } catch (error) {
    document.getElementById("refreshed").textContent = `the last refresh failed (${error.message}); retrying`;
  }
}

async function loadAssessment() {
  const target = document.getElementById("assess");
  try {
    const response = await fetch(target.dataset.src, { credentials: "same-origin" });
    if (!response.ok) throw new Error(response.status === 503 ? "the database could not be reached" : `HTTP ${response.status}`);
    // A fragment rendered by this server's own templates (escaped there).
    target.innerHTML = await response.text();
  } catch (error) {
    target.textContent = `The assessment could not run: ${error.message}.`;
  }
  target.setAttribute("aria-busy", "false");
}

refresh();
window.setInterval(refresh, REFRESH_MS);
loadAssessment();
