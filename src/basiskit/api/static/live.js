/* The live session page: polls GET /api/v1/live/{id} every 2 s and shows equity, positions, open
 * orders, the last heartbeat and the feed ages. Live endpoints always need the API token: it is asked
 * once and kept in sessionStorage (the dashboard's key). Nothing here holds data before the API answers. */
"use strict";
(() => {
  const TOKEN_KEY = "basiskit.apiToken";
  const $ = (s) => document.querySelector(s);
  const token = { get: () => sessionStorage.getItem(TOKEN_KEY) || "", set: (v) => sessionStorage.setItem(TOKEN_KEY, v) };
  let current = new URLSearchParams(location.search).get("run") || "";
  let timer = null;

  async function api(path, method = "GET") {
    const headers = { Accept: "application/json" };
    if (token.get()) headers.Authorization = `Bearer ${token.get()}`;
    const res = await fetch(path, { method, headers });
    const data = await res.json().catch(() => null);
    if (res.status === 401) { showToken(token.get() ? "the token was refused" : ""); throw new Error("token"); }
    if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
    return data;
  }

  function showToken(msg) { $("#token-panel").hidden = false; $("#token-msg").textContent = msg || ""; }

  function text(el, v) { el.textContent = v === null || v === undefined ? "–" : String(v); }
  const fmt = (x, d = 2) => (typeof x === "number" ? x.toLocaleString("en-GB", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");

  function rows(table, items, cols) {
    const body = table.querySelector("tbody");
    body.replaceChildren();
    const head = document.createElement("tr");
    for (const c of cols) { const th = document.createElement("th"); th.textContent = c[0]; head.append(th); }
    body.append(head);
    if (!items.length) { const tr = document.createElement("tr"); const td = document.createElement("td"); td.colSpan = cols.length; td.textContent = "none"; tr.append(td); body.append(tr); }
    for (const it of items) {
      const tr = document.createElement("tr");
      for (const c of cols) { const td = document.createElement("td"); td.textContent = c[1](it); tr.append(td); }
      body.append(tr);
    }
  }

  function render(st, events) {
    $("#live-view").hidden = false;
    const state = $("#v-state"); text(state, st.state); state.dataset.state = st.state || "";
    text($("#v-equity"), fmt(st.equity_usd));
    text($("#v-step"), st.clock_ns ? new Date(st.clock_ns / 1e6).toISOString().replace(".000Z", "Z") : "–");
    // the session's wall clock (a replay runs an accelerated one): when its last heartbeat was beaten
    text($("#v-heartbeat"), st.last_heartbeat_ns ? new Date(st.last_heartbeat_ns / 1e6).toISOString().slice(0, 19).replace("T", " ") + " UTC" : "–");
    const ent = $("#v-entries"); text(ent, st.entries_paused ? "paused (feed stale)" : "open"); ent.classList.toggle("live-paused", !!st.entries_paused);
    text($("#v-orders"), st.orders_sent);
    rows($("#t-positions"), Object.entries(st.positions || {}), [["account | token", (e) => e[0]], ["size (base units)", (e) => fmt(e[1], 6)]]);
    rows($("#t-orders"), st.open_orders || [], [["client order id", (o) => o.client_order_id], ["venue", (o) => o.venue], ["operation", (o) => o.operation], ["status", (o) => o.status], ["amount", (o) => fmt(o.amount, 6)]]);
    rows($("#t-feeds"), Object.entries(st.feed_age_s || {}), [["series", (e) => e[0]], ["age (s)", (e) => (e[1] === null ? "never" : fmt(e[1], 1))]]);
    rows($("#t-events"), events.slice(-12).reverse(), [["time", (e) => e.timestamp], ["component", (e) => e.component], ["kind", (e) => e.kind]]);
    $("#stop-btn").hidden = st.state !== "running";
    $("#updated").textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
  }

  async function refresh() {
    try {
      const list = (await api("/api/v1/live")).items;
      const sel = $("#session-select");
          if (!current && list.length) current = (list.find((s) => s.state === "running") || list[0]).run_id;
      const labels = list.map((s) => `${s.run_id} (${s.state})`);
      if ([...sel.options].map((o) => o.textContent).join("\n") !== labels.join("\n")) {
        sel.replaceChildren(...list.map((s, k) => { const o = document.createElement("option"); o.value = s.run_id; o.textContent = labels[k]; return o; }));
      }
      sel.value = current;
      $("#live-error").hidden = true;
      if (!current) { $("#live-error").hidden = false; $("#live-error").textContent = "no live sessions yet"; return; }
      const [st, ev] = await Promise.all([api(`/api/v1/live/${encodeURIComponent(current)}`),
                                          api(`/api/v1/live/${encodeURIComponent(current)}/events?limit=50`)]);
      render(st, ev.items);
    } catch (exc) {
      if (exc.message !== "token") { $("#live-error").hidden = false; $("#live-error").textContent = exc.message; }
    }
  }

  $("#token-form").addEventListener("submit", (e) => { e.preventDefault(); token.set($("#token-input").value.trim()); $("#token-panel").hidden = true; refresh(); });
  $("#session-select").addEventListener("change", (e) => { current = e.target.value; refresh(); });
  $("#stop-btn").addEventListener("click", async () => { try { await api(`/api/v1/live/${encodeURIComponent(current)}`, "DELETE"); } catch (_) { /* shown by refresh */ } refresh(); });
  refresh();
  timer = setInterval(refresh, 2000);
  window.addEventListener("beforeunload", () => clearInterval(timer));
})();
