// Small glue for htmx pages. Everything works without it except copy-to-clipboard.
document.addEventListener("DOMContentLoaded", () => {
  // Signed out (no Sign out form on the page): forget htmx's snapshots of signed-in pages.
  if (!document.querySelector("form.logout")) forgetHistory();
  if (window.htmx) {
    // A page missing from the history cache (never snapshotted because it held a secret)
    // is loaded whole, so the server can answer with the sign-in page when needed.
    htmx.config.refreshOnHistoryMiss = true;
    // Swap 4xx answers that carry a message for the user (htmx 2 drops them by default).
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(400|403|404|409|410|413|422|429)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }
});

function forgetHistory() {
  try {
    sessionStorage.removeItem("htmx-history-cache");
  } catch (_error) {
    // Storage disabled: there is no cache to forget.
  }
}
document.addEventListener("submit", (event) => {
  if (event.target.matches("form.logout")) forgetHistory();
});
// A secret shown once leaves the page with it, so the back/forward cache cannot keep it.
window.addEventListener("pagehide", () => {
  document.querySelectorAll("[data-secret]").forEach((element) => element.remove());
});

// Copy buttons: data-copy="#selector-of-input".
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch (_error) {
    input.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  // The words come from the page (data-copied, data-failed), in the admin's language.
  if (status) {
    status.textContent = copied
      ? status.dataset.copied || "Copied"
      : status.dataset.failed || "Select the key and copy it by hand";
  }
  button.dataset.copied = copied ? "true" : "false";
});

// A preserved input (the API key keeps what was typed) still needs aria-invalid updated.
document.addEventListener("htmx:afterSwap", (event) => {
  const wrapper = event.detail.elt.closest ? event.detail.elt.closest(".field") : null;
  const target = wrapper || event.detail.target;
  if (!target || !target.classList || !target.classList.contains("field")) return;
  const input = target.querySelector("input,select,textarea");
  if (input) input.setAttribute("aria-invalid", target.dataset.invalid || "false");
});

// Server errors that htmx does not swap still deserve a visible message.
document.addEventListener("htmx:responseError", (event) => {
  const flash = document.getElementById("flash");
  if (flash) flash.innerHTML = '<div class="flash flash-error" role="alert">The server answered with an error (' +
    event.detail.xhr.status + "). Nothing was changed; try again.</div>";
});
document.addEventListener("htmx:sendError", () => {
  const flash = document.getElementById("flash");
  if (flash) flash.innerHTML = '<div class="flash flash-error" role="alert">The server cannot be reached. Check your connection and try again.</div>';
});

// An answer whose target left the page (replaced by a later swap, e.g. a field check that
// ends after the form's submit) is dropped: with hx-preserve its swap would move the live
// input into the detached element. Listened to on beforeOnLoad, which fires on the
// requesting element (still in the page when preserved), not on the detached target.
document.addEventListener("htmx:beforeOnLoad", (event) => {
  const target = event.detail.target;
  if (target && !target.isConnected) event.preventDefault();
});

// Test connection's verdict is about the domain and key it was given: editing either one
// clears it, and cancels a test still running for the old values.
document.addEventListener("input", (event) => {
  const form = event.target.closest ? event.target.closest("#integration-form") : null;
  if (!form || !["domain", "api_key"].includes(event.target.name)) return;
  const result = form.querySelector("#connection-result");
  const button = form.querySelector("[data-test-connection]");
  if (button && window.htmx) htmx.trigger(button, "htmx:abort");
  if (result) result.replaceChildren();
});

// The chart is one Tab stop: arrow keys, Home and End move between its bars.
document.addEventListener("keydown", (event) => {
  const current = event.target.closest ? event.target.closest("svg.bar-chart a") : null;
  if (!current) return;
  const bars = Array.from(current.ownerSVGElement.querySelectorAll("a"));
  const index = bars.indexOf(current);
  const moves = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1, Home: 0, End: bars.length - 1 };
  if (!(event.key in moves)) return;
  const next = bars[Math.max(0, Math.min(bars.length - 1, moves[event.key]))];
  event.preventDefault();
  current.setAttribute("tabindex", "-1");
  next.setAttribute("tabindex", "0");
  next.focus();
});

// A table wider than the screen says so: the hint before a .table-scroll shows while the
// table overflows (recomputed on resize and after htmx swaps).
function markOverflow() {
  document.querySelectorAll(".table-scroll").forEach((box) => {
    const hint = box.previousElementSibling;
    if (hint && hint.classList.contains("scroll-hint")) hint.hidden = box.scrollWidth <= box.clientWidth + 1;
  });
}
window.addEventListener("resize", markOverflow);
document.addEventListener("DOMContentLoaded", markOverflow);
document.addEventListener("htmx:afterSettle", markOverflow);

// A new integration's time-zone field starts on the browser's own zone. The server marks
// the field (data-browser-zone) only on a fresh form, so a choice already made is kept;
// data-zone-aliases maps names a browser may report (Asia/Calcutta) to the listed ones.
function preselectBrowserZone(root) {
  root.querySelectorAll("select[data-browser-zone]").forEach((select) => {
    if (select.dataset.browserZoneApplied) return;
    select.dataset.browserZoneApplied = "true";
    let name = "";
    try {
      name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (_error) {
      return;
    }
    const aliases = {};
    (select.dataset.zoneAliases || "").split(" ").forEach((pair) => {
      const [alias, zone] = pair.split("=");
      if (alias && zone) aliases[alias] = zone;
    });
    const wanted = aliases[name] || name;
    if (Array.from(select.options).some((option) => option.value === wanted)) select.value = wanted;
  });
}
document.addEventListener("DOMContentLoaded", () => preselectBrowserZone(document));
document.addEventListener("htmx:load", (event) => preselectBrowserZone(event.detail.elt.parentElement || document));
