/* The composer: channel tabs, live weighted character count, canned responses, "move this to DM",
 * and the typing heartbeat for presence. Event delegation on document, so the fragment can be swapped
 * by htmx any number of times; the server re-checks everything (responders/text.py is authoritative). */
(function () {
  "use strict";
  if (window.earshotComposer) { return; }

  // twitter-text v3 configuration (config/v3.json): weight 100 in these ranges, 200 elsewhere;
  // URLs count as 23 characters; an emoji (whole sequence) counts 2.
  var RANGES = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  var MAX = 280;
  var URL_RE = /(?:https?:\/\/[^\s<>"]+|\b(?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|dev|app|ly|me|info|biz|edu|gov|uk|de|fr|jp|ai)\b(?:\/[^\s<>"]*)?)/gi;
  var EMOJI_RE = /(?:\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3|\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}\uFE0F?)*)/gu;

  function charWeight(cp) {
    for (var i = 0; i < RANGES.length; i++) {
      if (cp >= RANGES[i][0] && cp <= RANGES[i][1]) { return 100; }
    }
    return 200;
  }

  function weightedLength(text) {
    text = text.normalize("NFC");
    var spans = [];
    var m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) { spans.push([m.index, m.index + m[0].length, 2300]); }
    EMOJI_RE.lastIndex = 0;
    while ((m = EMOJI_RE.exec(text)) !== null) {
      var start = m.index, end = start + m[0].length, inside = false;
      for (var j = 0; j < spans.length; j++) { if (start < spans[j][1] && spans[j][0] < end) { inside = true; } }
      if (!inside) { spans.push([start, end, 200]); }
    }
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var weight = 0, i = 0, s = 0;
    while (i < text.length) {
      if (s < spans.length && i === spans[s][0]) { weight += spans[s][2]; i = spans[s][1]; s++; continue; }
      var cp = text.codePointAt(i);
      weight += charWeight(cp);
      i += cp > 0xffff ? 2 : 1;
    }
    return Math.ceil(weight / 100);
  }

  function updateCounter(textarea) {
    if (!textarea.id || !textarea.hasAttribute("data-weighted")) { return; }
    var counter = document.querySelector('[data-counter-for="' + textarea.id + '"]');
    if (!counter) { return; }
    var n = weightedLength(textarea.value);
    counter.textContent = n + " / " + MAX;
    counter.dataset.weighted = String(n);
    counter.classList.toggle("over", n > MAX);
  }

  function panel() { return document.getElementById("composer-panel"); }

  function activate(channel) {
    var root = panel();
    if (!root) { return null; }
    var button = root.querySelector('[data-composer-channel="' + channel + '"]');
    if (!button || button.disabled) { return null; }
    root.querySelectorAll("[data-composer-channel]").forEach(function (b) {
      b.setAttribute("aria-selected", b === button ? "true" : "false");
    });
    root.querySelectorAll("[data-composer-pane]").forEach(function (pane) {
      pane.hidden = pane.getAttribute("data-composer-pane") !== channel;
    });
    root.dataset.active = channel;
    var field = root.querySelector('[data-composer-pane="' + channel + '"] [data-composer-text]');
    if (field) { field.focus(); }
    return field;
  }

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  var lastTyping = 0;
  function heartbeatTyping() {
    // The workspace page runs its own presence heartbeat (#presence-beat); only a page without one
    // (the stand-alone compose page) posts from here.
    if (document.getElementById("presence-beat")) { return; }
    var root = panel();
    var url = root && root.dataset.presenceUrl;
    var now = Date.now();
    if (!url || now - lastTyping < 2000) { return; }
    lastTyping = now;
    var body = new URLSearchParams({ state: "typing" });
    fetch(url, { method: "POST", body: body, headers: csrfHeaders(), credentials: "same-origin" })
      .then(function (response) {
        var target = document.getElementById("presence");
        if (!response.ok || !target || response.status === 204) { return null; }
        return response.text().then(function (html) { target.outerHTML = html; });
      })
      .catch(function () { /* presence is best effort */ });
  }

  function setText(field, text) {
    field.value = text;
    updateCounter(field);
    field.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-composer-channel],[data-move-to-dm],[data-use-followup]");
    if (!target || !panel() || !panel().contains(target)) { return; }
    if (target.hasAttribute("data-composer-channel")) {
      activate(target.getAttribute("data-composer-channel"));
    } else if (target.hasAttribute("data-move-to-dm")) {
      var text = document.getElementById("reply-text").value;
      var dm = activate("dm");
      if (dm) { setText(dm, text); }
    } else if (target.hasAttribute("data-use-followup")) {
      var reply = activate("reply");
      if (reply) { setText(reply, target.getAttribute("data-use-followup")); }
    }
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-canned-select]");
    if (!select) { return; }
    var option = select.options[select.selectedIndex];
    var field = select.closest("form").querySelector("[data-composer-text]");
    if (field && option && option.value) { setText(field, option.getAttribute("data-text") || ""); }
  });

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!panel() || !panel().contains(field)) { return; }
    updateCounter(field);
    heartbeatTyping();
  });

  function init() { document.querySelectorAll("#composer-panel textarea[data-weighted]").forEach(updateCounter); }
  document.addEventListener("htmx:afterSettle", init);
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }

  window.earshotComposer = { weightedLength: weightedLength, activate: activate };
})();
