// The mention workspace (templates/mentions/mention_detail.html).
//
// - Presence: #presence-beat posts a heartbeat every 5 s (htmx); while the agent types in any text area
//   of the workspace (the composer's too) the state is "typing", sent at once and then at most every 2 s.
// - Keyboard: a assign to me, m monitoring, x resolve, r/d/e/p open the composer on that channel and
//   focus its text, n internal note, j/k move through the thread, u back to the queue, ? cheat sheet,
//   Esc leaves a text field.
(() => {
  "use strict";
  const ws = document.getElementById("workspace");
  if (!ws) return;

  let typingUntil = 0;
  let lastTypingSent = 0;
  window.earshotPresenceState = () => (Date.now() < typingUntil ? "typing" : "viewing");
  document.addEventListener("input", (e) => {
    if (!e.target.matches || !e.target.matches("textarea") || !ws.contains(e.target)) return;
    typingUntil = Date.now() + 4000;
    if (Date.now() - lastTypingSent > 2000) {
      lastTypingSent = Date.now();
      document.body.dispatchEvent(new CustomEvent("presence:typing"));
    }
  });

  function visible(el) {
    return !!el && !el.disabled && el.offsetParent !== null;
  }
  function focusComposerText() {
    const area = Array.from(document.querySelectorAll("#composer textarea")).find(visible);
    if (area) area.focus();
    return !!area;
  }
  function openComposer(channel) {
    const button = document.querySelector(`#composer [data-composer-channel="${channel}"]`);
    if (!button) return false;
    button.focus();
    if (!button.disabled) button.click();
    // The composer may swap in its form after the click: focus its text once it settles.
    if (!focusComposerText()) {
      const composer = document.getElementById("composer");
      const once = () => {
        focusComposerText();
        composer.removeEventListener("htmx:afterSettle", once);
      };
      composer.addEventListener("htmx:afterSettle", once);
    }
    return true;
  }
  // Arriving from the queue with r/d/e/p: open that channel once the composer has loaded.
  const wanted = ws.dataset.compose;
  if (wanted) {
    const composer = document.getElementById("composer");
    if (!openComposer(wanted) && composer) {
      const once = () => {
        if (openComposer(wanted)) composer.removeEventListener("htmx:afterSettle", once);
      };
      composer.addEventListener("htmx:afterSettle", once);
    }
  }

  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 400 && e.detail.elt.closest("[data-swap-errors]")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  function openCheatsheet() {
    const dialog = document.getElementById("cheatsheet");
    if (dialog && !dialog.open) dialog.showModal();
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[data-cheatsheet]")) openCheatsheet();
  });

  function movePost(step) {
    const posts = Array.from(document.querySelectorAll("#timeline article.post"));
    if (!posts.length) return;
    let i = posts.indexOf(document.activeElement);
    if (i === -1) i = posts.findIndex((p) => p.classList.contains("current"));
    i = Math.max(0, Math.min(posts.length - 1, i + step));
    posts[i].focus();
  }
  const click = (id) => {
    const el = document.getElementById(id);
    if (el) el.click();
  };
  const CHANNELS = { r: "reply", d: "dm", e: "email", p: "phone" };

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const inField = t.matches && t.matches("input, textarea, select, [contenteditable]");
    if (e.key === "Escape") {
      if (inField) t.blur();
      return;
    }
    if (inField || document.querySelector("dialog[open]")) return;
    switch (e.key) {
      case "a":
        click("claim-button");
        break;
      case "m":
        click("monitor-button");
        break;
      case "x":
        click("resolve-button");
        break;
      case "r":
      case "d":
      case "e":
      case "p":
        openComposer(CHANNELS[e.key]);
        break;
      case "n": {
        const note = document.getElementById("note-body");
        if (note) note.focus();
        break;
      }
      case "j":
        movePost(1);
        break;
      case "k":
        movePost(-1);
        break;
      case "u":
        window.location.assign(ws.dataset.queueUrl);
        break;
      case "?":
        openCheatsheet();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
})();
