// Riffle SQL console: a client of ksqlDB's REST API (/info, /ksql, /query-stream, /close-query).
// Plain browser JavaScript, no dependencies, no build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const editor = $("editor");
  const results = $("results");
  const fromBeginning = $("from-beginning");

  const MAX_ROWS = 5000; // rows kept per result; older ones are dropped
  const REFRESH_MS = 5000;

  /** Properties set with SET in the editor (sent as streamsProperties / properties). */
  const localProps = {};
  /** Variables set with DEFINE (sent as sessionVariables). */
  const sessionVars = {};
  /** Running streamed queries, to stop them on Clear. */
  const running = new Set();

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function toast(text) {
    const t = el("div", { class: "toast", role: "status" }, text);
    document.body.append(t);
    setTimeout(() => t.remove(), 2600);
  }

  // ---------------------------------------------------------------- SQL text

  /** Splits a script into statements (each ending with `;`), honouring quotes and comments. */
  function splitStatements(text) {
    const out = [];
    let start = 0;
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text[i];
      if (c === "'" || c === '"' || c === "`") {
        i++;
        while (i < n) {
          if (text[i] === c) {
            if (text[i + 1] === c) { i += 2; continue; }
            break;
          }
          i++;
        }
        i++;
      } else if (c === "-" && text[i + 1] === "-") {
        while (i < n && text[i] !== "\n") i++;
      } else if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c === ";") {
        out.push(text.slice(start, i + 1));
        i++;
        start = i;
      } else {
        i++;
      }
    }
    out.push(text.slice(start));
    return out.map((s) => s.trim()).filter((s) => stripComments(s).replace(/;\s*$/, "").trim() !== "");
  }

  /** The statement without comments (quotes kept), for classification. */
  function stripComments(s) {
    return s.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/--[^\n]*/g, " ").trim();
  }

  function firstWord(s) {
    const m = stripComments(s).match(/^[A-Za-z_]+/);
    return m ? m[0].toUpperCase() : "";
  }

  /** Parses a quoted SQL string literal at the start of `s`: returns [value, rest] or null. */
  function literal(s) {
    s = s.trim();
    const m = s.match(/^'((?:[^']|'')*)'/);
    return m ? [m[1].replace(/''/g, "'"), s.slice(m[0].length)] : null;
  }

  function streamsProperties() {
    const props = { ...localProps };
    if (fromBeginning.checked) props["auto.offset.reset"] = "earliest";
    return props;
  }

  // ---------------------------------------------------------------- HTTP

  async function postJson(path, body, signal) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  /** The server's error message from a failed response body (the ksqlDB error envelope). */
  function errorOf(text, status) {
    try {
      const e = JSON.parse(text);
      if (e && typeof e === "object" && e.message != null) return e;
    } catch (_) { /* not JSON */ }
    return { message: text || `HTTP ${status}`, error_code: status };
  }

  async function ksql(sql) {
    const resp = await postJson("/ksql", {
      ksql: sql,
      streamsProperties: streamsProperties(),
      sessionVariables: { ...sessionVars },
    });
    const text = await resp.text();
    if (!resp.ok) throw errorOf(text, resp.status);
    return JSON.parse(text);
  }

  // ---------------------------------------------------------------- rendering values

  function formatSchema(s) {
    if (!s) return "";
    switch (s.type) {
      case "ARRAY": return `ARRAY<${formatSchema(s.memberSchema)}>`;
      case "MAP": return `MAP<STRING, ${formatSchema(s.memberSchema)}>`;
      case "STRUCT":
        return `STRUCT<${(s.fields || []).map((f) => `${f.name} ${formatSchema(f.schema)}`).join(", ")}>`;
      case "DECIMAL": {
        const p = s.parameters || {};
        return p.precision != null ? `DECIMAL(${p.precision}, ${p.scale})` : "DECIMAL";
      }
      default: return s.type;
    }
  }

  function cell(v) {
    if (v === null || v === undefined) return el("td", {}, el("span", { class: "null" }, "null"));
    if (typeof v === "number" || typeof v === "bigint") return el("td", { class: "num" }, String(v));
    if (typeof v === "object") return el("td", {}, JSON.stringify(v));
    return el("td", {}, String(v));
  }

  const NUMERIC = /^(TINYINT|SMALLINT|INT|INTEGER|BIGINT|DOUBLE|FLOAT|REAL|DECIMAL)\b/i;

  /** A table from column names (optionally with types) and rows of values. */
  function grid(columns, rows, types, fit) {
    const numeric = columns.map((_, i) => types && types[i]
      ? NUMERIC.test(types[i])
      : rows.length > 0 && rows.every((r) => r[i] == null || typeof r[i] === "number"));
    const head = el("tr", {}, columns.map((c, i) =>
      el("th", { class: numeric[i] ? "num" : null }, c, types && types[i] ? el("span", { class: "type" }, types[i]) : null)));
    const body = el("tbody", {}, rows.map((r) => el("tr", {}, r.map(cell))));
    return el("div", { class: fit ? "table-wrap fit" : "table-wrap" }, el("table", { class: "grid" }, el("thead", {}, head), body));
  }

  function kv(pairs) {
    return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== "" && v !== null)
      .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]));
  }

  function errorBox(e) {
    const code = e.error_code ? `error ${e.error_code}` : "";
    return el("div", { class: "errbox" }, e.message || String(e), code ? el("span", { class: "code" }, code) : null);
  }

  function queriesGrid(queries) {
    return grid(["Query ID", "Type", "State", "Sinks", "Statement"],
      (queries || []).map((q) => [q.id, q.queryType, q.state, (q.sinks || []).join(", "), q.queryString]));
  }

  function describeSource(d) {
    const parts = [
      el("p", { class: "sub-title" }, d.name, el("span", { class: "tag" }, `${d.type}${d.windowed ? " · windowed" : ""}`)),
      grid(["Field", "Type"], (d.fields || []).map((f) =>
        [f.name, formatSchema(f.schema) + (f.type === "KEY" ? "  (key)" : f.type === "HEADERS" ? "  (headers)" : "")]), null, true),
      kv([
        ["Kafka topic", d.topic ? `${d.topic} (partitions: ${d.partitions}, replication: ${d.replication})` : ""],
        ["Key format", d.keyFormat],
        ["Value format", d.valueFormat],
        ["Timestamp", d.timestamp],
        ["Statement", d.statement],
      ]),
    ];
    if (d.writeQueries && d.writeQueries.length) parts.push(el("p", { class: "sub-title" }, "Written by"), queriesGrid(d.writeQueries));
    if (d.readQueries && d.readQueries.length) parts.push(el("p", { class: "sub-title" }, "Read by"), queriesGrid(d.readQueries));
    if (d.statistics) parts.push(kv([["Statistics", d.statistics], ["Errors", d.errorStats]]));
    return parts;
  }

  /** Nodes showing one entity of a /ksql response. */
  function renderEntity(e) {
    const nodes = [];
    switch (e["@type"]) {
      case "currentStatus": {
        const st = e.commandStatus || {};
        const ok = st.status === "SUCCESS" || !st.status;
        let text = st.message || (ok ? "Done" : st.status);
        if (!st.message && /\/insert$/.test(e.commandId || "")) text = "Row inserted";
        nodes.push(ok ? el("div", { class: "msg ok" }, text) : errorBox({ message: text }));
        break;
      }
      case "streams":
      case "tables": {
        const list = e.streams || e.tables || [];
        nodes.push(grid(["Name", "Kafka topic", "Key format", "Value format", "Windowed"],
          list.map((s) => [s.name, s.topic, s.keyFormat, s.valueFormat, s.isWindowed])));
        break;
      }
      case "queries":
        nodes.push(queriesGrid(e.queries));
        break;
      case "sourceDescription":
        nodes.push(...describeSource(e.sourceDescription || {}));
        break;
      case "source_descriptions":
        for (const d of e.sourceDescriptions || []) nodes.push(...describeSource(d));
        break;
      case "kafka_topics":
        nodes.push(grid(["Name", "Partitions", "Replicas"],
          (e.topics || []).map((t) => [t.name, (t.replicaInfo || []).length, (t.replicaInfo || []).join(", ")])));
        break;
      case "properties":
        nodes.push(grid(["Property", "Scope", "Value"], (e.properties || []).map((p) => [p.name, p.scope, p.value]), null, true));
        break;
      case "function_names":
        nodes.push(grid(["Function", "Type", "Category"], (e.functions || []).map((f) => [f.name, f.type, f.category]), null, true));
        break;
      case "queryDescription": {
        const q = e.queryDescription || {};
        nodes.push(kv([["Query ID", q.id], ["State", q.state], ["Sources", (q.sources || []).join(", ")],
          ["Sinks", (q.sinks || []).join(", ")], ["Statement", q.statementText]]));
        if (q.fields) nodes.push(grid(["Field", "Type"], q.fields.map((f) => [f.name, formatSchema(f.schema)]), null, true));
        if (q.executionPlan || q.topology) nodes.push(el("pre", { class: "block" }, q.executionPlan || q.topology));
        break;
      }
      case "warning_entity":
        nodes.push(el("div", { class: "warnbox" }, e.message));
        break;
      default:
        nodes.push(...genericEntity(e));
    }
    for (const w of e.warnings || []) nodes.push(el("div", { class: "warnbox" }, w.message));
    return nodes;
  }

  /** Unknown entities: arrays of objects as tables, the rest as JSON. */
  function genericEntity(e) {
    const nodes = [];
    const rest = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === "@type" || k === "statementText" || k === "warnings") continue;
      if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
        const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
        nodes.push(el("p", { class: "sub-title" }, k), grid(cols, v.map((x) => cols.map((c) => x[c]))));
      } else {
        rest[k] = v;
      }
    }
    if (Object.keys(rest).length) nodes.push(el("pre", { class: "block" }, JSON.stringify(rest, null, 2)));
    return nodes;
  }

  // ---------------------------------------------------------------- result cards

  /** A container for the results of one run, newest run first, statements in order within. */
  function runGroup() {
    const welcome = $("welcome");
    if (welcome) welcome.remove();
    const g = el("div", { class: "run" });
    results.prepend(g);
    results.scrollTop = 0;
    return g;
  }

  function card(statement, group) {
    const info = el("span", { class: "info" });
    const actions = el("span", {});
    const body = el("div", { class: "card-body" });
    const root = el("article", { class: "card" });
    const close = el("button", { class: "close", title: "Remove (stops the query)", "aria-label": "Remove" }, "×");
    root.append(
      el("div", { class: "card-head" },
        el("span", { class: "stmt", title: statement }, statement.replace(/\s+/g, " ")),
        info, actions, close),
      body);
    group.append(root);
    const c = { root, body, info, actions, onClose: null };
    close.addEventListener("click", () => { if (c.onClose) c.onClose(); root.remove(); });
    return c;
  }

  function elapsed(t0) {
    const ms = performance.now() - t0;
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  // ---------------------------------------------------------------- statements

  /** Runs `statements` in order. Push queries keep streaming while later statements run. */
  async function runScript(text) {
    const statements = splitStatements(text);
    if (!statements.length) return;
    const group = runGroup();
    for (const stmt of statements) {
      const ok = await runStatement(stmt, group);
      if (!ok) break; // as the shell does for scripts: stop at the first failure
    }
    refreshSidebar();
  }

  async function runStatement(stmt, group) {
    const word = firstWord(stmt);
    const body = stripComments(stmt).replace(/;\s*$/, "");
    if (word === "SET" || word === "UNSET" || word === "DEFINE" || word === "UNDEFINE") {
      const handled = localStatement(word, body.slice(word.length), stmt, group);
      if (handled !== undefined) return handled;
    }
    if (word === "SELECT" || word === "PRINT") return streamQuery(stmt, word === "PRINT", group);
    const c = card(stmt, group);
    const t0 = performance.now();
    c.info.append(el("span", { class: "spinner" }));
    try {
      const entities = await ksql(stmt);
      c.info.textContent = elapsed(t0);
      for (const e of entities) c.body.append(...renderEntity(e));
      if (!entities.length) c.body.append(el("div", { class: "msg ok" }, "Done"));
      return true;
    } catch (e) {
      c.info.textContent = elapsed(t0);
      c.root.classList.add("error");
      c.body.append(errorBox(e instanceof TypeError ? { message: `Cannot reach the server: ${e.message}` } : e));
      return false;
    }
  }

  /** SET / UNSET / DEFINE / UNDEFINE, kept in the page as the shell keeps them. */
  function localStatement(word, rest, stmt, group) {
    const c = () => card(stmt, group);
    if (word === "SET") {
      const k = literal(rest);
      const v = k && literal(k[1].replace(/^\s*=/, ""));
      if (!k || !v) return undefined;
      localProps[k[0]] = v[0];
      c().body.append(el("div", { class: "msg ok" }, `Property '${k[0]}' set to '${v[0]}' for the following statements.`));
    } else if (word === "UNSET") {
      const k = literal(rest);
      if (!k) return undefined;
      delete localProps[k[0]];
      c().body.append(el("div", { class: "msg ok" }, `Property '${k[0]}' unset.`));
    } else if (word === "DEFINE") {
      const m = rest.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/s);
      const v = m && literal(m[2]);
      if (!v) return undefined;
      sessionVars[m[1]] = v[0];
      c().body.append(el("div", { class: "msg ok" }, `Variable ${m[1]} defined as '${v[0]}'.`));
    } else {
      const m = rest.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/);
      if (!m) return undefined;
      delete sessionVars[m[1]];
      c().body.append(el("div", { class: "msg ok" }, `Variable ${m[1]} undefined.`));
    }
    showProps();
    return true;
  }

  function showProps() {
    const box = $("props");
    box.replaceChildren(
      ...Object.entries(localProps).map(([k, v]) => el("span", { class: "prop", title: "SET in this page; UNSET to remove" }, `${k}=${v}`)),
      ...Object.entries(sessionVars).map(([k, v]) => el("span", { class: "prop", title: "DEFINEd variable" }, `\${${k}}=${v}`)));
  }

  /**
   * A SELECT or PRINT over POST /query-stream, rows rendered as they arrive. Resolves once the
   * query has started (push queries) or ended (pull queries): true unless it failed.
   */
  function streamQuery(stmt, isPrint, group) {
    const isPush = isPrint || /\bEMIT\s+(CHANGES|FINAL)\b/i.test(stripComments(stmt));
    const c = card(stmt, group);
    const controller = new AbortController();
    const t0 = performance.now();
    let queryId = null;
    let count = 0;
    let stopped = false;
    let table = null;
    let tbody = null;
    let wrap = null;
    let log = null;
    let pending = [];
    let scheduled = false;

    const status = el("span", { class: "pill pill-run" }, "starting");
    const counter = el("span", {}, "");
    const stop = el("button", { class: "stop", title: "Stop the query (closes it on the server)" }, "Stop");
    c.info.append(el("span", { class: "status-line" }, counter, status));
    c.actions.append(stop);

    const handle = { stop: () => stopQuery("stopped") };
    running.add(handle);
    c.onClose = handle.stop;
    stop.addEventListener("click", handle.stop);

    function setStatus(text, kind) {
      status.textContent = text;
      status.className = `pill pill-${kind}`;
    }

    function finish(text, kind) {
      running.delete(handle);
      stop.remove();
      setStatus(text, kind);
      flush();
    }

    function stopQuery(text) {
      if (stopped) return;
      stopped = true;
      controller.abort();
      if (queryId) postJson("/close-query", { queryId }).catch(() => {});
      finish(text, "idle");
    }

    function flush() {
      scheduled = false;
      const atBottom = wrap && wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 30;
      if (log) {
        log.append(pending.join("\n") + "\n");
      } else if (tbody) {
        const frag = document.createDocumentFragment();
        for (const [n, row] of pending) {
          const tr = el("tr", {}, el("td", { class: "rownum" }, String(n)), row.map(cell));
          if (isPush) for (const td of tr.children) td.classList.add("fresh");
          frag.append(tr);
        }
        tbody.append(frag);
        while (tbody.children.length > MAX_ROWS) tbody.firstChild.remove();
      }
      pending = [];
      const rows = `${count} row${count === 1 ? "" : "s"}${count > MAX_ROWS ? ` (last ${MAX_ROWS} shown)` : ""}`;
      counter.textContent = isPush ? `${rows} · last at ${new Date().toLocaleTimeString()}` : `${rows} · ${elapsed(t0)}`;
      if (wrap && atBottom) wrap.scrollTop = wrap.scrollHeight;
    }

    function schedule() {
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(flush);
      }
    }

    function onMeta(meta) {
      queryId = meta.queryId || null;
      const cols = meta.columnNames || [];
      const types = meta.columnTypes || [];
      const view = grid(cols, [], types);
      view.querySelector("thead tr").prepend(el("th", { class: "rownum" }, "#"));
      wrap = view;
      table = view.querySelector("table");
      tbody = table.querySelector("tbody");
      c.body.append(view);
      if (queryId) c.info.prepend(el("span", { class: "muted", title: "Query id (what Stop sends to /close-query)" }, queryId));
      setStatus(isPush ? "streaming" : "running", "run");
    }

    function onLine(line) {
      if (!line.trim()) return;
      if (isPrint) {
        if (!log) {
          log = el("pre", { class: "block log" });
          wrap = log;
          c.body.append(log);
          setStatus("streaming", "run");
        }
        count++;
        pending.push(line);
        schedule();
        return;
      }
      let v;
      try { v = JSON.parse(line); } catch (_) { return; }
      if (Array.isArray(v)) {
        count++;
        pending.push([count, v]);
        schedule();
      } else if (v && v.columnNames) {
        onMeta(v);
      } else if (v && (v.error_code || v["@type"] === "generic_error" || v["@type"] === "statement_error")) {
        flush();
        c.root.classList.add("error");
        c.body.append(errorBox(v));
      } else if (v && v.finalMessage) {
        c.body.append(el("div", { class: "muted" }, v.finalMessage));
      }
    }

    const started = new Promise((resolve) => {
      (async () => {
        let resp;
        try {
          resp = await fetch("/query-stream", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/vnd.ksqlapi.delimited.v1" },
            body: JSON.stringify({ sql: stmt, properties: streamsProperties(), sessionVariables: { ...sessionVars } }),
            signal: controller.signal,
          });
        } catch (e) {
          if (!stopped) {
            c.root.classList.add("error");
            c.body.append(errorBox({ message: `Cannot reach the server: ${e.message}` }));
            finish("failed", "err");
          }
          resolve(false);
          return;
        }
        if (!resp.ok) {
          const text = await resp.text().catch(() => "");
          c.root.classList.add("error");
          c.body.append(errorBox(errorOf(text, resp.status)));
          finish("failed", "err");
          resolve(false);
          return;
        }
        if (isPush) resolve(true);
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += decoder.decode(value, { stream: true });
            let nl;
            while ((nl = buf.indexOf("\n")) >= 0) {
              onLine(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
            }
          }
          buf += decoder.decode();
          if (buf) onLine(buf);
          if (!stopped) {
            const failed = c.root.classList.contains("error");
            finish(failed ? "failed" : isPush ? "ended" : "done", failed ? "err" : "ok");
            if (!isPush && !failed && count === 0 && !isPrint) c.body.append(el("div", { class: "muted" }, "No rows."));
          }
          resolve(!c.root.classList.contains("error"));
        } catch (e) {
          if (!stopped) {
            c.root.classList.add("error");
            c.body.append(errorBox({ message: `Connection lost: ${e.message}` }));
            finish("failed", "err");
          }
          resolve(false);
        }
      })();
    });
    return started;
  }

  // ---------------------------------------------------------------- sidebar

  function insertStatement(sql) {
    const v = editor.value;
    const start = editor.selectionStart;
    const end = editor.selectionEnd;
    const before = v.slice(0, start);
    const prefix = before && !before.endsWith("\n") ? "\n" : "";
    editor.setRangeText(prefix + sql, start, end, "end");
    editor.focus();
    editor.setSelectionRange(start + prefix.length, start + prefix.length + sql.length);
    saveEditor();
  }

  function sourceItem(s) {
    const sql = `SELECT * FROM ${quoteIdent(s.name)} EMIT CHANGES;`;
    const describe = el("button", {
      class: "act",
      title: `Run DESCRIBE ${s.name}`,
      onclick: (ev) => { ev.stopPropagation(); runScript(`DESCRIBE ${quoteIdent(s.name)};`); },
    }, "DESCRIBE");
    return el("li", {
      class: `item${s.name === "KSQL_PROCESSING_LOG" ? " system" : ""}`,
      title: `Click to insert: ${sql}`,
      onclick: () => insertStatement(sql),
    },
    el("span", { class: "label" },
      el("span", { class: "title" }, s.name),
      el("span", { class: "meta" }, `${s.topic} · ${s.valueFormat}${s.isWindowed ? " · windowed" : ""}`)),
    describe);
  }

  function queryItem(q) {
    const state = (q.state || "").toUpperCase();
    return el("li", {
      class: "item",
      title: `${q.queryString}\n\nClick to insert: EXPLAIN ${q.id};`,
      onclick: () => insertStatement(`EXPLAIN ${q.id};`),
    },
    el("span", { class: `dot ${state === "RUNNING" ? "running" : state === "ERROR" ? "error" : ""}` }),
    el("span", { class: "label" },
      el("span", { class: "title" }, q.id),
      el("span", { class: "meta" }, `${(q.queryType || "").toLowerCase()} · ${(q.state || "").toLowerCase()}${q.sinks && q.sinks.length ? " → " + q.sinks.join(", ") : ""}`)));
  }

  function quoteIdent(name) {
    return /^[A-Z_][A-Z0-9_]*$/.test(name) ? name : "`" + name.replace(/`/g, "``") + "`";
  }

  function fillList(id, countId, items, make, emptyText) {
    $(countId).textContent = items.length ? String(items.length) : "";
    $(id).replaceChildren(...(items.length ? items.map(make) : [el("li", { class: "empty" }, emptyText)]));
  }

  let refreshing = false;
  async function refreshSidebar() {
    if (refreshing) return;
    refreshing = true;
    try {
      const entities = await ksql("SHOW STREAMS; SHOW TABLES; SHOW QUERIES;");
      const of = (t) => entities.find((e) => e["@type"] === t) || {};
      const byName = (a, b) => a.name.localeCompare(b.name);
      // The processing log goes last: it is always there and rarely what one looks for.
      const streams = (of("streams").streams || []).slice().sort((a, b) =>
        (a.name === "KSQL_PROCESSING_LOG") - (b.name === "KSQL_PROCESSING_LOG") || byName(a, b));
      fillList("list-streams", "count-streams", streams, sourceItem, "No streams");
      fillList("list-tables", "count-tables", (of("tables").tables || []).slice().sort(byName), sourceItem, "No tables");
      fillList("list-queries", "count-queries", of("queries").queries || [], queryItem, "No running queries");
    } catch (e) {
      const msg = e instanceof TypeError ? "Server unreachable" : e.message;
      for (const id of ["list-streams", "list-tables", "list-queries"]) {
        $(id).replaceChildren(el("li", { class: "empty" }, msg));
      }
    } finally {
      refreshing = false;
    }
  }

  // ---------------------------------------------------------------- header

  async function refreshInfo() {
    const pill = $("server-status");
    try {
      const resp = await fetch("/info", { headers: { Accept: "application/json" } });
      const info = (await resp.json()).KsqlServerInfo || {};
      const riffle = resp.headers.get("x-riffle-version");
      const st = info.serverStatus || "UNKNOWN";
      pill.textContent = st;
      pill.className = `pill ${st === "RUNNING" ? "pill-ok" : st === "ERROR" ? "pill-err" : "pill-warn"}`;
      $("server-info").textContent = [
        riffle ? `Riffle ${riffle}` : null,
        `ksqlDB ${info.version} API`,
        `service ${info.ksqlServiceId}`,
        `Kafka cluster ${info.kafkaClusterId}`,
        location.host,
      ].filter(Boolean).join("  ·  ");
    } catch (_) {
      pill.textContent = "UNREACHABLE";
      pill.className = "pill pill-err";
    }
  }

  // ---------------------------------------------------------------- editor

  function saveEditor() {
    try { localStorage.setItem("riffle.editor", editor.value); } catch (_) { /* private mode */ }
  }

  function run() {
    const sel = editor.value.slice(editor.selectionStart, editor.selectionEnd);
    const text = sel.trim() ? sel : editor.value;
    if (!text.trim()) return;
    runScript(text);
  }

  editor.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      run();
    } else if (ev.key === "Tab" && !ev.shiftKey && !ev.ctrlKey && !ev.altKey) {
      ev.preventDefault();
      editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
    }
  });
  editor.addEventListener("input", saveEditor);
  $("run").addEventListener("click", run);
  $("clear").addEventListener("click", () => {
    for (const h of [...running]) h.stop();
    results.replaceChildren();
  });
  $("share").addEventListener("click", async () => {
    const params = new URLSearchParams({ sql: editor.value });
    if (fromBeginning.checked) params.set("from", "beginning");
    const url = `${location.origin}${location.pathname}#${params}`;
    history.replaceState(null, "", url);
    try {
      await navigator.clipboard.writeText(url);
      toast("Link copied: opening it runs these statements");
    } catch (_) {
      toast("Link is in the address bar");
    }
  });
  if (/Mac|iPhone|iPad/.test(navigator.platform)) $("run-kbd").textContent = "⌘ ↵";

  // ---------------------------------------------------------------- start

  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("from")) fromBeginning.checked = hash.get("from") === "beginning";
  refreshInfo();
  refreshSidebar();
  if (hash.get("sql")) {
    editor.value = hash.get("sql");
    runScript(editor.value);
  } else {
    try { editor.value = localStorage.getItem("riffle.editor") || ""; } catch (_) { /* private mode */ }
  }
  // Background tabs do not poll; coming back refreshes at once.
  setInterval(() => { if (!document.hidden) refreshSidebar(); }, REFRESH_MS);
  setInterval(() => { if (!document.hidden) refreshInfo(); }, 4 * REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { refreshSidebar(); refreshInfo(); }
  });
  window.addEventListener("beforeunload", () => { for (const h of [...running]) h.stop(); });
})();
