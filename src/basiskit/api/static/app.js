/* basiskit dashboard: runs table, new-backtest form, progress, reports, comparison.
 * Plain JS, no build step; every request goes to this server (/api/v1/*, /health, /static/*).
 * With BASISKIT_API_TOKEN set on the server, the token is asked once and kept in sessionStorage. */
"use strict";

(() => {
  const TOKEN_KEY = "basiskit.apiToken";
  const ACTIVE = new Set(["queued", "running"]);
  const GENERIC_KEYS = ["step_seconds", "min_trade_usd"];   // shown after the mode's own parameters
  const SKIP_KEYS = new Set(["mode", "description", "share_class"]);
  const POLL_MS = 1000;

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-") || k === "title" || k === "href" || k === "target" || k === "rel" ||
               k === "for" || k === "id" || k === "type" || k === "name" || k === "colspan" || k === "role") node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
    return node;
  };

  // ---- API ----------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body, text) {
      const err = (body && body.error) || { code: `HTTP ${status}`, message: (text || "").slice(0, 300) || `HTTP ${status}` };
      super(`${err.code}: ${err.message}`);
      this.status = status;
      this.error = err;
    }
  }

  const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY) || "",
    set: (v) => v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY),
  };

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token.get()) headers.Authorization = `Bearer ${token.get()}`;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (exc) {
      throw new ApiError(0, { error: { code: "NETWORK", message: `the server did not answer (${exc.message})` } });
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (res.status === 401) tokenPanel.show(token.get() ? "the token was refused" : "");
    if (!res.ok) throw new ApiError(res.status, data, text);
    return data;
  }

  // ---- formatting ---------------------------------------------------------------------------------
  const isNum = (x) => typeof x === "number" && Number.isFinite(x);
  const fmt = {
    pct: (x, d = 2) => isNum(x) ? `${(x * 100).toFixed(d)} %` : "—",
    num: (x, d = 2) => isNum(x)
      ? (Math.abs(x) < 0.5 * 10 ** -d ? 0 : x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
      : "—",
    money: (x, sc) => isNum(x) ? `${fmt.num(x, sc === "ETH" ? 4 : 2)} ${sc || ""}`.trim() : "—",
    date: (iso) => iso ? String(iso).slice(0, 10) : "—",
    time: (iso) => iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") : "—",
    dur: (s) => {
      if (!isNum(s)) return "—";
      if (s < 60) return `${s.toFixed(1)} s`;
      const m = Math.floor(s / 60);
      return m < 60 ? `${m} m ${String(Math.round(s % 60)).padStart(2, "0")} s` : `${Math.floor(m / 60)} h ${m % 60} m`;
    },
    sign: (x) => !isNum(x) || Math.abs(x) < 1e-9 ? "" : (x > 0 ? "pos" : "neg"),
    shortId: (id) => { const p = String(id).split("-"); return p.length > 2 ? p[p.length - 1] : String(id); },
  };

  function setProgress(node, run) {
    const p = (run && run.progress) || {};
    const frac = isNum(p.fraction) ? p.fraction : null;
    node.classList.toggle("indeterminate", run.status === "queued" || (run.status === "running" && frac === null));
    node.classList.toggle("done", run.status === "finished");
    node.classList.toggle("failed", run.status === "failed" || run.status === "interrupted");
    node.classList.toggle("cancelled", run.status === "cancelled" || Boolean(run.cancel_requested_at));
    const pct = run.status === "finished" ? 100 : frac === null ? 0 : Math.round(frac * 1000) / 10;
    node.setAttribute("aria-valuenow", String(pct));
    node.dataset.done = p.done ?? "";
    node.dataset.total = p.total ?? "";
    $(".bar", node).style.width = `${pct}%`;
  }

  const stepsText = (run) => {
    const p = run.progress || {};
    if (run.status === "queued") return "queued";
    if (run.cancel_requested_at && ACTIVE.has(run.status)) return "cancelling…";
    if (!isNum(p.total)) return "starting";
    return `${fmt.num(p.done, 0)} / ${fmt.num(p.total, 0)} steps` + (isNum(p.fraction) ? ` · ${(p.fraction * 100).toFixed(0)} %` : "");
  };

  // ---- report links (a plain link; with a token the page fetches the report and opens it) ---------
  function reportHref(id) { return `/api/v1/backtests/${encodeURIComponent(id)}/report`; }

  async function openReport(event) {
    if (!token.get()) return;   // the browser follows the link itself
    event.preventDefault();
    const href = event.currentTarget.getAttribute("href");
    const win = window.open("", "_blank");
    try {
      const res = await fetch(href, { headers: { Authorization: `Bearer ${token.get()}` } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = new Blob([await res.text()], { type: "text/html" });
      if (win) win.location = URL.createObjectURL(blob);
    } catch (exc) {
      if (win) win.close();
      alert(`report could not be opened: ${exc.message}`);
    }
  }

  function reportLink(id, label = "report", cls = "report-link") {
    const a = el("a", { class: cls, href: reportHref(id), target: "_blank", rel: "noopener", "data-run-id": id, text: label });
    a.addEventListener("click", openReport);
    return a;
  }

  // ---- token panel --------------------------------------------------------------------------------
  const tokenPanel = {
    show(msg = "") {
      $("#token-panel").hidden = false;
      $("#token-msg").textContent = msg;
      $("#token-input").focus();
    },
    init() {
      $("#token-btn").hidden = !token.get();
      $("#token-btn").addEventListener("click", () => tokenPanel.show());
      $("#token-form").addEventListener("submit", (e) => {
        e.preventDefault();
        token.set($("#token-input").value.trim());
        $("#token-input").value = "";
        $("#token-panel").hidden = true;
        $("#token-btn").hidden = !token.get();
        app.start();
      });
      $("#token-clear").addEventListener("click", () => {
        token.set("");
        $("#token-btn").hidden = true;
        $("#token-msg").textContent = "forgotten";
      });
    },
  };

  // ---- the new-backtest form ----------------------------------------------------------------------
  const form = {
    modes: [],
    modeInfo: null,          // GET /strategies/{mode}/config
    edited: new Set(),       // fields the user typed into (not overwritten by defaults)

    bind() {
      const f = $("#bt-form");
      f.addEventListener("submit", (e) => { e.preventDefault(); form.submit(); });
      $("#field-mode").addEventListener("change", () => form.loadMode($("#field-mode").value, true));
      $("#field-share_class").addEventListener("change", () => form.shareClassChanged());
      $("#bt-reset").addEventListener("click", () => { form.edited.clear(); form.loadMode($("#field-mode").value, true); });
      for (const id of ["field-start", "field-end", "field-capital"]) {
        $(`#${id}`).addEventListener("input", () => form.edited.add(id));
      }
    },

    async init() {
      const { items } = await api("/api/v1/strategies");
      form.modes = items;
      const sel = $("#field-mode");
      sel.replaceChildren(...items.map((m) => el("option", { value: m.mode, text: m.mode })));
      if (items.some((m) => m.mode === "btc_basis")) sel.value = "btc_basis";
      await form.loadMode(sel.value, false);
    },

    async loadMode(mode, userChange) {
      form.clearErrors();
      const [info, reqs] = await Promise.all([
        api(`/api/v1/strategies/${encodeURIComponent(mode)}/config`),
        api(`/api/v1/strategies/${encodeURIComponent(mode)}/requirements`).catch(() => null),
      ]);
      form.modeInfo = info;
      $("#mode-desc").textContent = info.description;
      const sc = $("#field-share_class");
      sc.replaceChildren(...info.share_classes.map((c) => el("option", { value: c, text: c })));
      sc.disabled = info.share_classes.length < 2;
      sc.title = sc.disabled ? `${mode} runs in ${info.share_classes[0]} only` : "";
      form.shareClassChanged(userChange);
      form.renderParams(info);
      form.applyDataRange(reqs);
    },

    shareClassChanged() {
      const sc = $("#field-share_class").value;
      $("#capital-unit").textContent = sc;
      if (!form.edited.has("field-capital")) $("#field-capital").value = sc === "ETH" ? "100" : "100000";
    },

    applyDataRange(reqs) {
      const hint = $("#data-range");
      if (!reqs) { hint.textContent = ""; return; }
      const needed = reqs.datasets.filter((d) => !d.optional && d.start && d.end);
      if (!needed.length) { hint.textContent = ""; return; }
      const day = 86400000;
      const start = Math.max(...needed.map((d) => Date.parse(d.start)));
      const end = Math.min(...needed.map((d) => Date.parse(d.end)));
      const first = new Date(Math.ceil(start / day) * day).toISOString().slice(0, 10);
      const last = new Date(Math.floor(end / day) * day).toISOString().slice(0, 10);
      hint.textContent = `Data for ${reqs.mode}: ${first} → ${last}`;
      if (!form.edited.has("field-start")) $("#field-start").value = first;
      if (!form.edited.has("field-end")) $("#field-end").value = last;
    },

    /** Inputs for the mode's top-level scalar config keys, prefilled with the defaults. */
    renderParams(info) {
      const props = (info.json_schema && info.json_schema.properties) || {};
      const defs = (info.json_schema && info.json_schema.$defs) || {};
      const resolve = (p) => (p && p.$ref) ? (defs[p.$ref.split("/").pop()] || {}) : (p || {});
      const keys = Object.keys(info.default_config).filter((k) => !SKIP_KEYS.has(k));
      keys.sort((a, b) => GENERIC_KEYS.includes(a) - GENERIC_KEYS.includes(b));
      const fields = [];
      for (const key of keys) {
        const value = info.default_config[key];
        const prop = { ...resolve(props[key]), description: (props[key] || {}).description };
        if (value === null || typeof value === "object" || prop.const !== undefined) continue;
        fields.push(form.paramField(key, value, prop));
      }
      $("#param-fields").replaceChildren(...fields);
      $(".params").hidden = fields.length === 0;
    },

    paramField(key, value, prop) {
      const id = `field-config-${key}`;
      const field = `config.${key}`;
      const title = prop.description || prop.title || key;
      let input;
      if (typeof value === "boolean") {
        input = el("input", { id, type: "checkbox", "data-config-key": key, "data-kind": "boolean" });
        input.checked = value;
        const wrap = el("div", { class: "field bool", "data-param": key },
          el("label", { class: "check", for: id, title: `${key}: ${title}` }, input, el("span", { text: key })),
          el("div", { class: "field-error", "data-field": field, hidden: true }));
        input.addEventListener("change", () => wrap.classList.toggle("changed", input.checked !== value));
        return wrap;
      }
      if (Array.isArray(prop.enum)) {
        input = el("select", { id, "data-config-key": key, "data-kind": "enum" },
          prop.enum.map((v) => el("option", { value: String(v), text: String(v) })));
        input.value = String(value);
      } else if (typeof value === "number") {
        input = el("input", { id, type: "number", step: "any", inputMode: "decimal", "data-config-key": key,
                              "data-kind": prop.type === "integer" ? "integer" : "number" });
        input.value = String(value);
      } else {
        input = el("input", { id, type: "text", spellcheck: false, "data-config-key": key, "data-kind": "string" });
        input.value = String(value);
      }
      input.dataset.default = String(value);
      const wrap = el("div", { class: "field", "data-param": key },
        el("label", { for: id, title: `${key}: ${title}` }, key),
        input,
        el("div", { class: "field-error", "data-field": field, hidden: true }));
      const mark = () => wrap.classList.toggle("changed", input.value !== input.dataset.default);
      input.addEventListener("input", mark);
      input.addEventListener("change", mark);
      return wrap;
    },

    /** Only the parameters that differ from the defaults (an emptied number is sent as null: the API names it). */
    overrides() {
      const out = {};
      const defaults = form.modeInfo.default_config;
      for (const input of $$("[data-config-key]", $("#param-fields"))) {
        const key = input.dataset.configKey;
        const def = defaults[key];
        let v;
        switch (input.dataset.kind) {
          case "boolean": v = input.checked; break;
          case "integer": case "number": {
            const raw = input.value.trim();
            v = raw === "" ? null : (Number.isFinite(Number(raw)) ? Number(raw) : raw);
            break;
          }
          default: v = input.value;
        }
        if (v !== def) out[key] = v;
      }
      return out;
    },

    body() {
      const capRaw = $("#field-capital").value.trim();
      const cap = capRaw === "" ? null : (Number.isFinite(Number(capRaw)) ? Number(capRaw) : capRaw);
      return {
        mode: $("#field-mode").value,
        start: $("#field-start").value || null,
        end: $("#field-end").value || null,
        capital: cap,
        share_class: $("#field-share_class").value || null,
        config: form.overrides(),
      };
    },

    clearErrors() {
      for (const e of $$(".field-error", $("#bt-form"))) { e.hidden = true; e.textContent = ""; }
      for (const e of $$(".invalid", $("#bt-form"))) e.classList.remove("invalid");
      $("#form-error").hidden = true;
      $("#form-error").textContent = "";
    },

    /** Each API error next to its field (``config.<key>``, ``capital``, ...); the rest in the form box. */
    showErrors(err) {
      const entries = (err.details && err.details.length) ? err.details : [{ field: err.field, message: err.message }];
      const unplaced = [];
      for (const { field, message } of entries) {
        const box = field ? $(`#bt-form .field-error[data-field="${CSS.escape(field)}"]`) : null;
        if (!box) { unplaced.push(field ? `${field}: ${message}` : message); continue; }
        box.textContent = box.textContent ? `${box.textContent}; ${message}` : message;
        box.title = err.code;
        box.hidden = false;
        const input = box.dataset.input ? document.getElementById(box.dataset.input)
          : box.closest(".field") && $("input, select", box.closest(".field"));
        if (input) input.classList.add("invalid");
      }
      if (unplaced.length) {
        $("#form-error").textContent = `${err.code}: ${unplaced.join("\n")}`;
        $("#form-error").hidden = false;
      }
      const first = $("#bt-form .invalid");
      if (first) first.focus();
    },

    async submit() {
      form.clearErrors();
      const button = $("#bt-submit");
      button.disabled = true;
      try {
        const sub = await api("/api/v1/backtests", { method: "POST", body: form.body() });
        submission.track(sub.id);
        runs.load();
      } catch (exc) {
        if (exc instanceof ApiError) form.showErrors(exc.error);
        else throw exc;
      } finally {
        button.disabled = false;
      }
    },
  };

  // ---- the submitted run's progress ---------------------------------------------------------------
  const submission = {
    id: null,
    track(id) {
      submission.id = id;
      const box = $("#submission");
      box.hidden = false;
      box.dataset.runId = id;
      $("#submission-id").textContent = id;
      $("#submission-id").title = id;
      $("#submission-report").hidden = true;
      $("#submission-metrics").hidden = true;
      $("#submission-error").hidden = true;
      submission.update({ id, status: "queued", progress: { done: 0, total: null, fraction: null } });
      poller.watch(id);
    },
    update(run) {
      if (run.id !== submission.id) return;
      const box = $("#submission");
      box.dataset.status = run.status;
      const badge = $("#submission-status");
      badge.className = `badge ${run.status}`;
      badge.textContent = run.status;
      setProgress($("#submission-progress"), run);
      $("#submission-steps").textContent = stepsText(run);
      $("#submission-time").textContent = isNum(run.duration_seconds) ? fmt.dur(run.duration_seconds) : "";
      if (run.status === "finished") {
        const link = $("#submission-report");
        link.href = reportHref(run.id);
        link.dataset.runId = run.id;
        link.hidden = false;
        const m = run.metrics || {};
        const cell = (label, value, cls = "") => el("div", {}, el("b", { class: cls, text: value }), el("span", { text: label }));
        $("#submission-metrics").replaceChildren(
          cell("total return", fmt.pct(m.total_return), fmt.sign(m.total_return)),
          cell("APR", fmt.pct(m.apr), fmt.sign(m.apr)),
          cell("final equity", fmt.money(m.final_equity, m.share_class)));
        $("#submission-metrics").hidden = false;
      }
      if (run.status === "failed" || run.status === "interrupted" || run.status === "cancelled") {
        const e = run.error || {};
        $("#submission-error").textContent = `${e.code || run.status}: ${e.message || ""}`;
        $("#submission-error").hidden = false;
      }
    },
    init() { $("#submission-report").addEventListener("click", openReport); },
  };

  // ---- polling of queued/running runs -------------------------------------------------------------
  const poller = {
    ids: new Set(),
    timer: null,
    busy: false,
    watch(id) { poller.ids.add(id); poller.ensure(); },
    ensure() { if (!poller.timer) poller.timer = setInterval(poller.tick, POLL_MS); },
    async tick() {
      if (poller.busy) return;
      if (!poller.ids.size) { clearInterval(poller.timer); poller.timer = null; return; }
      poller.busy = true;
      let ended = false;
      try {
        await Promise.all(Array.from(poller.ids).map(async (id) => {
          try {
            const run = await api(`/api/v1/backtests/${encodeURIComponent(id)}`);
            submission.update(run);
            runs.updateRow(run);
            if (!ACTIVE.has(run.status)) { poller.ids.delete(id); ended = true; }
          } catch (exc) {
            if (exc.status === 404) { poller.ids.delete(id); ended = true; }
          }
        }));
      } finally {
        poller.busy = false;
      }
      if (ended) runs.load();
    },
  };

  // ---- runs table ---------------------------------------------------------------------------------
  const runs = {
    items: [],
    selected: new Set(),

    init() {
      $("#refresh-btn").addEventListener("click", () => runs.load());
      $("#runs-status").addEventListener("change", () => runs.load());
      $("#compare-btn").addEventListener("click", () => {
        if (runs.selected.size >= 2) location.hash = `#/compare/${Array.from(runs.selected).map(encodeURIComponent).join(",")}`;
      });
      $("#select-all").addEventListener("change", (e) => {
        for (const r of runs.items) if (r.status === "finished") e.target.checked ? runs.selected.add(r.id) : runs.selected.delete(r.id);
        runs.render();
      });
    },

    async load() {
      const status = $("#runs-status").value;
      try {
        const page = await api(`/api/v1/backtests?limit=200${status ? `&status=${status}` : ""}`);
        runs.items = page.items;
        $("#runs-error").hidden = true;
        $("#runs-count").textContent = page.total > page.items.length ? `${page.items.length} of ${page.total}` : `${page.total}`;
        const ids = new Set(page.items.map((r) => r.id));
        for (const id of Array.from(runs.selected)) if (!ids.has(id)) runs.selected.delete(id);
        for (const r of page.items) if (ACTIVE.has(r.status)) poller.watch(r.id);
        runs.render();
      } catch (exc) {
        $("#runs-error").textContent = exc.message;
        $("#runs-error").hidden = false;
      }
    },

    render() {
      const tbody = $("#runs-table tbody");
      tbody.replaceChildren(...runs.items.map(runs.row));
      $("#runs-empty").hidden = runs.items.length > 0;
      const n = runs.selected.size;
      $("#compare-btn").disabled = n < 2;
      $("#compare-btn").textContent = n ? `Compare (${n})` : "Compare";
    },

    row(r) {
      const m = r.metrics || {};
      const req = r.request || {};
      const finished = r.status === "finished";
      const box = el("input", { type: "checkbox", class: "run-select", "data-run-id": r.id,
                                title: finished ? "select for comparison" : "only finished runs can be compared" });
      box.checked = runs.selected.has(r.id);
      box.disabled = !finished;
      box.addEventListener("change", () => {
        box.checked ? runs.selected.add(r.id) : runs.selected.delete(r.id);
        tr.classList.toggle("selected", box.checked);
        runs.render();
      });
      const status = el("td", { class: "status" }, el("span", { class: `badge ${r.status}`, text: r.status }));
      if (ACTIVE.has(r.status)) {
        const bar = el("div", { class: "progress", role: "progressbar" }, el("div", { class: "bar" }));
        setProgress(bar, r);
        status.append(runs.cancelButton(r), bar);
        status.title = stepsText(r);
      } else if (isNum(r.duration_seconds)) {
        status.append(el("small", { text: fmt.dur(r.duration_seconds), title: "run time" }));
      }
      const numCell = (text, cls = "") => el("td", { class: `num ${cls}`.trim(), text });
      let tail;
      if (finished) {
        tail = [
          numCell(fmt.money(m.final_equity, m.share_class)),
          numCell(fmt.pct(m.total_return), fmt.sign(m.total_return)),
          numCell(fmt.pct(m.apr), fmt.sign(m.apr)),
          numCell(fmt.pct(m.apy), fmt.sign(m.apy)),
          numCell(fmt.num(m.sharpe, 2)),
          numCell(fmt.pct(m.max_drawdown), fmt.sign(m.max_drawdown)),
          numCell(fmt.num(m.min_health_factor, 3)),
          el("td", {}, reportLink(r.id)),
        ];
      } else if (r.error) {
        const cls = r.status === "cancelled" ? "muted" : "err";   // cancelled on request: not an error
        tail = [el("td", { class: cls, colspan: "8", text: `${r.error.code}: ${r.error.message}` })];
      } else {
        tail = [el("td", { class: "muted", colspan: "8", text: ACTIVE.has(r.status) ? stepsText(r) : "" })];
      }
      const tr = el("tr", { "data-run-id": r.id, "data-status": r.status, class: box.checked ? "selected" : "" },
        el("td", { class: "sel" }, box),
        el("td", { class: "run-id", title: `${r.id} (${r.origin})` }, el("b", { text: r.mode }),
           el("small", {}, el("code", { text: fmt.shortId(r.id) }), ` · ${fmt.time(r.created_at)} · ${r.origin}`)),
        status,
        el("td", { class: "period" }, el("span", { text: fmt.date(req.start) }), el("span", { text: fmt.date(req.end) })),
        ...tail);
      return tr;
    },

    // DELETE of a queued/running run cancels it (a running one stops at its next progress tick)
    cancelButton(r) {
      const btn = el("button", { type: "button", class: "cancel-btn", "data-run-id": r.id, text: "cancel",
                                 title: "stop this run (it is recorded cancelled)" });
      btn.disabled = Boolean(r.cancel_requested_at);
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          const run = await api(`/api/v1/backtests/${encodeURIComponent(r.id)}`, { method: "DELETE" });
          if (run) runs.updateRow(run);
          poller.watch(r.id);
        } catch (exc) {
          btn.disabled = false;
          $("#runs-error").textContent = exc.message;
          $("#runs-error").hidden = false;
        }
      });
      return btn;
    },

    updateRow(run) {
      const tr = $(`#runs-table tbody tr[data-run-id="${CSS.escape(run.id)}"]`);
      if (!tr) return;
      const btn = $(".cancel-btn", tr);
      if (btn && (run.cancel_requested_at || !ACTIVE.has(run.status))) btn.disabled = true;
      tr.dataset.status = run.status;
      const badge = $(".badge", tr);
      badge.className = `badge ${run.status}`;
      badge.textContent = run.status;
      const bar = $(".progress", tr);
      if (bar) setProgress(bar, run);
      const muted = $("td.muted", tr);
      if (muted && ACTIVE.has(run.status)) muted.textContent = stepsText(run);
    },
  };

  // ---- comparison ---------------------------------------------------------------------------------
  const ROWS = [
    ["Run", null],
    ["mode", (s) => s.mode],
    ["period", (s) => `${fmt.date(s.start)} → ${fmt.date(s.end)}`],
    ["share class", (s) => s.share_class],
    ["steps", (s) => fmt.num(s.steps, 0)],
    ["Performance", null],
    ["initial equity", (s) => fmt.money(s.initial_equity, s.share_class)],
    ["final equity", (s) => fmt.money(s.final_equity, s.share_class)],
    ["net deposits", (s) => fmt.money(s.net_deposits, s.share_class)],
    ["total return (TWR)", (s) => fmt.pct(s.total_return), (s) => s.total_return, "max"],
    ["APR", (s) => fmt.pct(s.apr), (s) => s.apr, "max"],
    ["APY", (s) => fmt.pct(s.apy), (s) => s.apy, "max"],
    ["Sharpe", (s) => fmt.num(s.sharpe, 2), (s) => s.sharpe, "max"],
    ["Sortino", (s) => fmt.num(s.sortino, 2), (s) => s.sortino, "max"],
    ["max drawdown", (s) => fmt.pct(s.max_drawdown), (s) => s.max_drawdown, "max"],
    ["Risk", null],
    ["min health factor", (s) => fmt.num(s.min_health_factor, 3)],
    ["max LTV", (s) => fmt.pct(s.max_ltv)],
    ["max |net delta|", (s) => fmt.num(s.max_abs_net_delta, 2)],
    ["liquidations", (s) => fmt.num(s.liquidations, 0)],
    ["risk overrides", (s) => fmt.num(s.risk_overrides, 0)],
    ["trades", (s) => fmt.num(s.trades, 0)],
    ["failed orders", (s) => fmt.num(s.failed_orders, 0)],
  ];

  const compare = {
    ids: [],
    data: [],          // [{id, summary, curve}]
    plotly: null,

    init() {
      $("#compare-normalise").addEventListener("change", () => compare.plot());
      $("#compare-xaxis").addEventListener("change", () => compare.plot());
    },

    async show(ids) {
      compare.ids = ids;
      $("#compare-error").hidden = true;
      $("#compare-table").replaceChildren();
      $("#compare-chart").replaceChildren();
      if (ids.length < 2) {
        $("#compare-title").textContent = "Compare";
        compare.error("Select two or more finished runs in the runs table, then press Compare.");
        return;
      }
      $("#compare-title").textContent = `Compare ${ids.length} runs`;
      try {
        compare.data = await Promise.all(ids.map(async (id) => {
          const enc = encodeURIComponent(id);
          const [summary, curve] = await Promise.all([api(`/api/v1/backtests/${enc}/summary`),
                                                      api(`/api/v1/backtests/${enc}/equity/curve?points=1500`)]);
          return { id, summary, curve };
        }));
      } catch (exc) {
        compare.error(exc.message);
        return;
      }
      const classes = new Set(compare.data.map((d) => d.summary.share_class));
      $("#compare-normalise").checked = classes.size > 1;
      const starts = new Set(compare.data.map((d) => d.curve.timestamp[0]));
      $("#compare-xaxis").value = starts.size > 1 ? "days" : "date";
      compare.table();
      await compare.plot();
    },

    error(msg) { $("#compare-error").textContent = msg; $("#compare-error").hidden = false; },

    table() {
      const data = compare.data;
      const head = el("tr", {}, el("th", { class: "metric" }, "metric"),
        data.map((d) => el("th", { class: "num", "data-run-id": d.id }, d.summary.mode,
                            el("small", { text: d.id }), el("div", {}, reportLink(d.id)))));
      const rows = [];
      const add = (label, fmtFn, valueFn, better) => {
        if (!fmtFn) {
          rows.push(el("tr", { class: "group" }, el("td", { colspan: String(data.length + 1), text: label })));
          return;
        }
        const values = valueFn ? data.map((d) => valueFn(d.summary)) : [];
        const finite = values.filter(isNum);
        const best = better && finite.length > 1 ? Math.max(...finite) : null;
        rows.push(el("tr", { "data-metric": label }, el("td", { class: "metric", text: label }),
          data.map((d, i) => {
            const v = valueFn ? valueFn(d.summary) : null;
            const cls = ["num", valueFn ? fmt.sign(v) : "", best !== null && v === best ? "best" : ""].join(" ").trim();
            return el("td", { class: cls, text: fmtFn(d.summary) ?? "—" });
          })));
      };
      for (const [label, f, v, b] of ROWS) add(label, f, v, b);
      const sources = [];
      for (const d of data) for (const k of Object.keys(d.summary.attribution || {})) if (!sources.includes(k)) sources.push(k);
      if (sources.length) {
        add("Attribution (share-class units)", null);
        for (const k of sources) {
          const digits = (s) => s.share_class === "ETH" ? 4 : 2;
          const value = (s) => { const v = (s.attribution || {})[k]; return isNum(v) ? Number(v.toFixed(digits(s))) : v; };
          add(k.replace(/_/g, " "), (s) => fmt.num(value(s), digits(s)), value);
        }
      }
      $("#compare-table").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
    },

    loadPlotly() {
      if (window.Plotly) return Promise.resolve(window.Plotly);
      if (!compare.plotly) {
        compare.plotly = new Promise((resolve, reject) => {
          const s = el("script", { src: "/static/plotly.min.js" });
          s.onload = () => resolve(window.Plotly);
          s.onerror = () => { compare.plotly = null; reject(new Error("plotly.js could not be loaded from this server")); };
          document.head.append(s);
        });
      }
      return compare.plotly;
    },

    async plot() {
      if (!compare.data.length) return;
      let Plotly;
      try { Plotly = await compare.loadPlotly(); } catch (exc) { compare.error(exc.message); return; }
      const growth = $("#compare-normalise").checked;
      const byDays = $("#compare-xaxis").value === "days";
      const classes = Array.from(new Set(compare.data.map((d) => d.summary.share_class)));
      const primary = classes.includes("USDT") ? "USDT" : classes[0];
      const secondary = !growth && classes.length > 1 ? classes.find((c) => c !== primary) : null;
      const tick = (sc) => sc === "ETH" ? ",.4f" : ",.2f";
      const traces = compare.data.map((d) => {
        const c = d.curve;
        const init = c.initial_equity;
        const y = growth
          ? c.equity.map((e, i) => (isNum(e) && isNum(init) && init !== 0) ? (e - (c.net_deposits[i] || 0)) / init : null)
          : c.equity;
        const onSecond = secondary && d.summary.share_class === secondary;
        const name = `${d.summary.mode} · ${fmt.shortId(d.id)}${onSecond ? ` (${secondary}, right axis)` : ""}`;
        const t0 = Date.parse(c.timestamp[0]);
        const x = byDays ? c.timestamp.map((t) => (Date.parse(t) - t0) / 86400000) : c.timestamp;
        return { type: "scatter", mode: "lines", x, y, name,
                 yaxis: onSecond ? "y2" : "y", line: { width: 1.6 },
                 hovertemplate: growth ? "%{y:.5f}<extra>%{fullData.name}</extra>"
                                       : `%{y:,.${d.summary.share_class === "ETH" ? 4 : 2}f} ${d.summary.share_class}<extra>%{fullData.name}</extra>` };
      });
      const layout = {
        margin: { l: 70, r: secondary ? 80 : 20, t: 30, b: 40 }, hovermode: "x unified",
        legend: { orientation: "h", y: 1.08, x: 0 }, font: { size: 11, family: "system-ui, sans-serif" },
        paper_bgcolor: "#fff", plot_bgcolor: "#fff",
        xaxis: { gridcolor: "#eef0f3", linecolor: "#cfd4db", title: { text: byDays ? "days since start" : "" } },
        yaxis: { title: { text: growth ? "growth of 1" : primary }, gridcolor: "#eef0f3", zeroline: false,
                 tickformat: growth ? ".4f" : tick(primary), automargin: true },
      };
      if (secondary) {
        layout.yaxis2 = { title: { text: secondary }, overlaying: "y", side: "right", showgrid: false, zeroline: false,
                          tickformat: tick(secondary), automargin: true };
      }
      await Plotly.react($("#compare-chart"), traces, layout, { displaylogo: false, responsive: true });
    },
  };

  // ---- sweeps (basiskit sweep): list, one sweep's charts and trials, progress while it runs ----------
  const sweeps = {
    timer: null,
    current: null,
    init() {
      $("#sweeps-refresh").addEventListener("click", () => sweeps.show(sweeps.current));
    },
    async show(id) {
      clearTimeout(sweeps.timer);
      sweeps.current = id || null;
      await sweeps.loadList();
      if (id) await sweeps.loadOne(id);
      else $("#sweep-detail").hidden = true;
    },
    async loadList() {
      const err = $("#sweeps-error");
      err.hidden = true;
      let data;
      try { data = await api("/api/v1/sweeps"); } catch (exc) { err.textContent = exc.message; err.hidden = false; return; }
      const tbody = $("#sweeps-table tbody");
      tbody.replaceChildren(...data.items.map((s) => {
        const p = s.progress || {};
        const bar = el("div", { class: "progress small" }, el("div", { class: "bar" }));
        $(".bar", bar).style.width = `${Math.round(100 * (p.fraction || 0))}%`;
        const tr = el("tr", { "data-sweep-id": s.id, class: s.id === sweeps.current ? "selected" : "" },
          el("td", {}, el("a", { href: `#/sweeps/${encodeURIComponent(s.id)}`, text: s.id })),
          el("td", {}, el("span", { class: "badge", "data-status": s.status, text: s.status })),
          el("td", { text: `${fmt.date(s.spec.start)} → ${fmt.date(s.spec.end)}` }),
          el("td", { text: `${s.spec.objective} (${s.spec.direction})` }),
          el("td", { text: s.spec.sampler + (s.spec.walk_forward ? ` · wf ${s.spec.walk_forward.join(":")}` : "") }),
          el("td", { class: "num", text: `${p.done}/${p.total}` }),
          el("td", {}, bar));
        return tr;
      }));
      $("#sweeps-count").textContent = `${data.total} sweep(s)`;
      $("#sweeps-empty").hidden = data.total > 0;
    },
    async loadOne(id) {
      let s;
      try { s = await api(`/api/v1/sweeps/${encodeURIComponent(id)}`); } catch (exc) {
        $("#sweeps-error").textContent = exc.message; $("#sweeps-error").hidden = false; return;
      }
      const box = $("#sweep-detail");
      box.hidden = false;
      box.dataset.sweepId = s.id;
      box.dataset.status = s.status;
      $("#sweep-title").textContent = s.id;
      $("#sweep-status").textContent = s.status;
      $("#sweep-status").dataset.status = s.status;
      const p = s.progress;
      $("#sweep-progress .bar").style.width = `${Math.round(100 * (p.fraction || 0))}%`;
      $("#sweep-progress").setAttribute("aria-valuenow", String(Math.round(100 * (p.fraction || 0))));
      $("#sweep-progress-text").textContent = `${p.done}/${p.total} trials done` + (p.running ? `, ${p.running} running` : "") +
        (p.failed ? `, ${p.failed} failed` : "");
      const sp = s.spec;
      $("#sweep-spec").textContent = `${sp.mode} ${sp.start} → ${sp.end} · ${sp.params.join("  ")} · ${sp.sampler} seed ${sp.seed}`;
      const best = s.best;
      $("#sweep-best").replaceChildren(...(best ? [
        el("span", { text: `best: trial ${best.index}, ${sp.objective} ${fmt.num(best.value, 4)}` }),
        ...Object.entries(best.params).map(([k, v]) => el("span", { text: `${k} = ${v}` })),
        el("a", { href: `/api/v1/backtests/${encodeURIComponent(best.run_id)}/summary`, target: "_blank", rel: "noopener",
                  text: "summary" }),
      ] : [el("span", { text: "no finished trial yet" })]));
      sweeps.trialsTable(s);
      const charts = [["heatmap", "#sweep-heatmap"], ["parcoords", "#sweep-parcoords"]];
      let Plotly = null;
      if (charts.some(([k]) => s.charts[k])) {
        try { Plotly = await compare.loadPlotly(); } catch (exc) { $("#sweeps-error").textContent = exc.message; $("#sweeps-error").hidden = false; }
      }
      for (const [k, sel] of charts) {
        const fig = s.charts[k];
        $(sel).hidden = !fig;
        if (fig && Plotly) await Plotly.react($(sel), fig.data, fig.layout, { displaylogo: false, responsive: true });
      }
      if (s.status === "running" && sweeps.current === id) {
        sweeps.timer = setTimeout(() => { if (sweeps.current === id) sweeps.show(id); }, 2000);
      }
    },
    trialsTable(s) {
      const keys = s.params;
      const head = el("tr", {}, el("th", { text: "#" }), ...keys.map((k) => el("th", { text: k })),
        el("th", { class: "num", text: s.spec.objective }), el("th", { class: "num", text: "APY" }),
        el("th", { class: "num", text: "Sharpe" }), el("th", { class: "num", text: "Max DD" }), el("th", { text: "state" }),
        el("th", { text: "run" }));
      $("#sweep-trials thead").replaceChildren(head);
      $("#sweep-trials tbody").replaceChildren(...s.trials.map((t) => el("tr", { "data-index": String(t.index), "data-state": t.state },
        el("td", { text: String(t.index) }), ...keys.map((k) => el("td", { text: String(t.params[k]) })),
        el("td", { class: "num", text: fmt.num(t.value, 4) }), el("td", { class: "num", text: fmt.pct(t.metrics.apy) }),
        el("td", { class: "num", text: fmt.num(t.metrics.sharpe) }), el("td", { class: "num", text: fmt.pct(t.metrics.max_drawdown) }),
        el("td", { text: t.state + (t.error ? ` (${t.error.code})` : ""), title: (t.error && t.error.message) || t.note || "" }),
        el("td", {}, t.run_id ? el("a", { href: `/api/v1/backtests/${encodeURIComponent(t.run_id)}`, target: "_blank",
                                          rel: "noopener", text: fmt.shortId(t.run_id) }) : null))));
    },
  };

  // ---- health -------------------------------------------------------------------------------------
  async function health() {
    const h = $("#health");
    try {
      const res = await fetch("/health", { headers: { Accept: "application/json" } });
      const body = await res.json();
      h.dataset.status = body.status;
      $("span", h).textContent = body.status;
      h.title = Object.entries(body.components || {}).map(([k, c]) => `${k}: ${c.status}${c.last_error ? ` (${c.last_error})` : ""}`).join("\n");
    } catch (_) {
      h.dataset.status = "unhealthy";
      $("span", h).textContent = "unreachable";
    }
  }

  // ---- routing and start-up -----------------------------------------------------------------------
  function route() {
    const sw = location.hash.match(/^#\/sweeps(?:\/(.*))?$/);
    const m = sw ? null : location.hash.match(/^#\/compare(?:\/(.*))?$/);
    $("#view-runs").hidden = !!m || !!sw;
    $("#view-compare").hidden = !m;
    $("#view-sweeps").hidden = !sw;
    $("#nav-runs").classList.toggle("active", !m && !sw);
    $("#nav-compare").classList.toggle("active", !!m);
    $("#nav-sweeps").classList.toggle("active", !!sw);
    if (sw) { sweeps.show(sw[1] ? decodeURIComponent(sw[1]) : null); return; }
    clearTimeout(sweeps.timer);
    sweeps.current = null;
    if (m) {
      const ids = (m[1] || "").split(",").filter(Boolean).map(decodeURIComponent);
      if (!ids.length && runs.selected.size >= 2) { location.hash = `#/compare/${Array.from(runs.selected).join(",")}`; return; }
      compare.show(ids);
    }
  }

  const app = {
    async start() {
      $("#form-error").hidden = true;
      try {
        await form.init();
      } catch (exc) {
        if (exc.status !== 401) {   // a missing token is asked for in the token panel
          $("#form-error").textContent = exc.message;
          $("#form-error").hidden = false;
        }
        return;
      }
      await runs.load();
      route();
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    tokenPanel.init();
    form.bind();
    submission.init();
    runs.init();
    compare.init();
    sweeps.init();
    window.addEventListener("hashchange", route);
    health();
    setInterval(health, 15000);
    setInterval(() => { if (!document.hidden && !location.hash.startsWith("#/compare") && !location.hash.startsWith("#/sweeps")) runs.load(); }, 15000);
    app.start();
  });
})();
