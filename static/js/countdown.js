/* The live SLA countdown (templates/sla/_countdown.html, _clock_list.html).
 *
 * Every second, in the browser only (no server calls), each .sla-countdown[data-sla-due] shows the
 * wall-clock time left ("12m 05s") or overdue ("-3m 10s overdue"), and gets one of the classes
 * sla-ok / sla-warn (from data-sla-warn) / sla-breached (past data-sla-due). The text carries an icon
 * too, so the state reads without colour. The title (the business-hours due time) comes from the server.
 * Elements swapped in by htmx are picked up on the next tick, and at once on htmx:load/afterSwap.
 */
(function () {
  "use strict";
  if (window.earshotCountdown) return; // included twice (queue row + workspace): one ticker is enough

  var STATES = ["sla-ok", "sla-warn", "sla-breached"];

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(ms) {
    // Whole seconds rounded up: "0m 01s left" in the last second, never "-0m 00s overdue".
    var total = Math.ceil(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days) return days + "d " + pad(hours) + "h";
    if (hours) return hours + "h " + pad(minutes) + "m";
    return minutes + "m " + pad(seconds) + "s";
  }

  function parse(value) {
    if (!value) return NaN;
    return /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  }

  function render(el, now) {
    var due = parse(el.getAttribute("data-sla-due"));
    if (isNaN(due)) return;
    var warn = parse(el.getAttribute("data-sla-warn"));
    var left = due - now;
    var state, text;
    if (left < 0) {
      state = "sla-breached";
      text = "\u2716 -" + format(left) + " overdue";
    } else if (!isNaN(warn) && now >= warn) {
      state = "sla-warn";
      text = "\u26A0 " + format(left) + " left";
    } else {
      state = "sla-ok";
      text = format(left) + " left";
    }
    if (el.textContent !== text) el.textContent = text;
    if (!el.classList.contains(state)) {
      STATES.forEach(function (s) { el.classList.remove(s); });
      el.classList.add(state);
      el.setAttribute("data-sla-state", state.slice(4));
    }
  }

  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll(".sla-countdown[data-sla-due]");
    for (var i = 0; i < els.length; i++) render(els[i], now);
  }

  window.earshotCountdown = { tick: tick, format: format };
  document.addEventListener("htmx:load", tick);
  document.addEventListener("htmx:afterSwap", tick);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", tick);
  } else {
    tick();
  }
  window.setInterval(tick, 1000);
})();
