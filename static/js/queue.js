// The live queue (templates/mentions/mention_list.html).
//
// - Live: every 3 s it asks /mentions/updates/ for the rows changed since its cursor and merges them
//   into the table row by row (by id, skipping rows whose version it already shows), so the agent's
//   scroll position, selected rows, focus and half-typed text (search box, bulk tags) all survive.
//   The rows arrive as server-rendered, escaped HTML; nothing here builds markup from data.
// - Keyboard: j/k move, Enter/o open, Space select, a assign to me, r/d/e/p open the workspace with the
//   composer on that channel, m monitoring, x resolve, / search, ? cheat sheet, Esc leaves a field.
(() => {
  "use strict";
  const root = document.getElementById("queue");
  if (!root) return;

  const POLL_MS = 3000;
  let checkedAt = null;
  let generation = 0; // bumped when the table is replaced (filters changed): late answers are dropped
  let polling = false;
  let currentId = null;

  const table = () => document.getElementById("mention-table");
  const tbody = () => document.getElementById("mention-rows");
  const rows = () => Array.from(document.querySelectorAll("#mention-rows tr.mention-row"));
  const rowById = (id) => document.getElementById(`mention-${id}`);

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function readCursor() {
    const t = table();
    if (t && t.dataset.checkedAt) checkedAt = t.dataset.checkedAt;
  }

  // --- ordering: data-key is "due.negPriority.created.id" (micros, all ascending) ---------------
  function keyOf(tr) {
    return tr.dataset.key.split(".").map((v) => BigInt(v));
  }
  function compare(a, b) {
    const ka = keyOf(a);
    const kb = keyOf(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  }
  const hasMore = () => !!document.querySelector("#queue-more a");

  // --- selection ----------------------------------------------------------------------------------
  const selected = new Set();
  function updateCount() {
    const el = document.getElementById("selected-count");
    if (el) el.textContent = String(selected.size);
  }
  function syncSelectionFromDom() {
    selected.clear();
    for (const box of document.querySelectorAll('#mention-rows input[name="ids"]:checked')) {
      selected.add(box.value);
    }
    updateCount();
  }
  document.addEventListener("change", (e) => {
    const t = e.target;
    if (t.matches('#mention-rows input[name="ids"]')) {
      if (t.checked) selected.add(t.value);
      else selected.delete(t.value);
      updateCount();
    } else if (t.id === "select-all") {
      for (const box of document.querySelectorAll('#mention-rows input[name="ids"]')) {
        box.checked = t.checked;
        if (t.checked) selected.add(box.value);
        else selected.delete(box.value);
      }
      updateCount();
    }
  });

  // --- current row (keyboard focus) -----------------------------------------------------------
  function setCurrent(tr, { focus = true } = {}) {
    for (const r of document.querySelectorAll("#mention-rows tr.current")) r.classList.remove("current");
    if (!tr) {
      currentId = null;
      return;
    }
    currentId = tr.dataset.id;
    tr.classList.add("current");
    if (focus) {
      const link = tr.querySelector("a.open");
      if (link) link.focus({ preventScroll: true });
      tr.scrollIntoView({ block: "nearest" });
    }
  }
  const current = () => (currentId ? rowById(currentId) : null);
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const cur = current();
    let i = cur ? all.indexOf(cur) + step : step > 0 ? 0 : all.length - 1;
    i = Math.max(0, Math.min(all.length - 1, i));
    setCurrent(all[i]);
  }
  document.addEventListener("focusin", (e) => {
    const tr = e.target.closest && e.target.closest("#mention-rows tr.mention-row");
    if (tr && tr.dataset.id !== currentId) setCurrent(tr, { focus: false });
  });

  // --- merging live rows ----------------------------------------------------------------------
  function firstVisibleRow() {
    for (const tr of rows()) {
      const r = tr.getBoundingClientRect();
      if (r.bottom > 0) return tr;
    }
    return null;
  }

  function merge(html, removedHeader) {
    const body = tbody();
    if (!body) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    const incoming = Array.from(tpl.content.querySelectorAll("tr.mention-row"));
    const removed = (removedHeader || "").split(/\s+/).filter(Boolean);

    const anchor = firstVisibleRow();
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const hadFocus = current() && current().contains(document.activeElement);
    let changed = false;

    for (const tr of incoming) {
      const existing = rowById(tr.dataset.id);
      if (existing) {
        if (existing.dataset.version === tr.dataset.version) continue;
        const box = tr.querySelector('input[name="ids"]');
        if (box) box.checked = selected.has(tr.dataset.id);
        if (tr.dataset.id === currentId) tr.classList.add("current");
        existing.replaceWith(tr);
        changed = true;
      } else {
        const all = rows();
        const last = all[all.length - 1];
        // Beyond the rows loaded so far: it arrives with "Load more" in its place.
        if (hasMore() && last && compare(tr, last) > 0) continue;
        const empty = body.querySelector("tr.empty-row");
        if (empty) empty.remove();
        body.appendChild(tr);
        changed = true;
      }
    }
    for (const id of removed) {
      const tr = rowById(id);
      if (!tr) continue;
      tr.remove();
      selected.delete(id);
      changed = true;
    }
    if (!changed) return;

    // Re-sort only if the order is off (moving nodes keeps their state but drops focus).
    const all = rows();
    const sorted = [...all].sort(compare);
    if (sorted.some((tr, i) => tr !== all[i])) {
      for (const tr of sorted) body.appendChild(tr);
    }
    updateCount();
    const cur = current();
    if (cur && hadFocus) {
      const link = cur.querySelector("a.open");
      if (link) link.focus({ preventScroll: true });
    }
    // Keep what the agent was looking at where it was (rows may have arrived above it).
    if (anchor && anchor.isConnected) {
      const delta = anchor.getBoundingClientRect().top - anchorTop;
      if (Math.abs(delta) > 0.5) window.scrollBy(0, delta);
    }
    document.dispatchEvent(new CustomEvent("queue:merged", { detail: { rows: incoming.length } }));
  }

  async function poll() {
    if (polling || !checkedAt || document.hidden) return;
    polling = true;
    const gen = generation;
    try {
      const params = new URLSearchParams(window.location.search);
      params.delete("after");
      params.set("since", checkedAt);
      const resp = await fetch(`${root.dataset.updatesUrl}?${params}`, {
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (gen !== generation || !(resp.ok || resp.status === 204)) return;
      const next = resp.headers.get("X-Queue-Checked-At");
      if (resp.headers.get("X-Queue-Reload") && window.htmx) {
        // Too many changes to merge (a large bulk action): fetch the table again.
        window.htmx.ajax("GET", window.location.href, { target: "#mention-table", swap: "outerHTML" });
        return;
      }
      if (resp.status === 200) merge(await resp.text(), resp.headers.get("X-Queue-Removed"));
      if (next && gen === generation) checkedAt = next;
    } catch (e) {
      // A network hiccup: the next tick asks again from the same cursor, so nothing is missed.
    } finally {
      polling = false;
    }
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll();
  });
  document.body.addEventListener("queue:changed", () => poll());

  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "mention-table") {
      generation++;
      readCursor();
      syncSelectionFromDom();
      currentId = null;
    }
  });
  // Back/forward: htmx put an older snapshot of the page back; carry on from its cursor.
  document.body.addEventListener("htmx:historyRestore", () => {
    generation++;
    readCursor();
    syncSelectionFromDom();
    currentId = null;
  });
  // Keep the URL (and so the back button and shared links) to the filters actually set.
  document.body.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt.id !== "queue-filters") return;
    const fd = e.detail.formData;
    if (!fd) return;
    const keys = new Set(fd.keys());
    for (const key of keys) {
      const values = fd.getAll(key).filter((v) => String(v).trim() !== "");
      fd.delete(key);
      for (const v of values) fd.append(key, v);
    }
  });
  // Show the server's message for a refused action (400) instead of silently doing nothing.
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 400 && e.detail.elt.closest("[data-swap-errors]")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // --- single-row actions from the keyboard (same endpoint as the bulk bar) -----------------------
  async function act(tr, fields) {
    if (!tr) return;
    const form = new FormData();
    form.append("ids", tr.dataset.id);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const resp = await fetch(root.dataset.bulkUrl, {
      method: "POST",
      body: form,
      headers: { ...csrfHeaders(), "HX-Request": "true" },
      credentials: "same-origin",
    });
    const result = document.getElementById("bulk-result");
    const text = await resp.text();
    if (result) {
      const tpl = document.createElement("template");
      tpl.innerHTML = text;
      const fresh = tpl.content.getElementById("bulk-result");
      if (fresh) result.replaceWith(fresh);
    }
    await poll();
  }

  function openCheatsheet() {
    const dialog = document.getElementById("cheatsheet");
    if (dialog && !dialog.open) dialog.showModal();
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[data-cheatsheet]")) openCheatsheet();
  });

  const CHANNELS = { r: "reply", d: "dm", e: "email", p: "phone" };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const inField = t.matches && t.matches("input:not([type=checkbox]), textarea, select, [contenteditable]");
    if (e.key === "Escape") {
      if (inField) {
        e.preventDefault(); // Chrome would also clear a search box: Esc only leaves the field
        t.blur();
        const cur = current();
        if (cur) setCurrent(cur);
      }
      return;
    }
    if (inField || document.querySelector("dialog[open]")) return;
    const cur = current();
    switch (e.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "Enter":
      case "o":
        if (!cur) return;
        window.location.assign(cur.dataset.url);
        break;
      case " ": {
        if (!cur) return;
        const box = cur.querySelector('input[name="ids"]');
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
        break;
      }
      case "a":
        act(cur, { action: "claim" });
        break;
      case "m":
        act(cur, { action: "status", status: "monitoring" });
        break;
      case "x":
        act(cur, { action: "status", status: "resolved" });
        break;
      case "r":
      case "d":
      case "e":
      case "p":
        if (!cur) return;
        window.location.assign(`${cur.dataset.url}?compose=${CHANNELS[e.key]}`);
        break;
      case "/": {
        const q = document.getElementById("q");
        if (q) q.focus();
        break;
      }
      case "?":
        openCheatsheet();
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  readCursor();
  syncSelectionFromDom();
})();
