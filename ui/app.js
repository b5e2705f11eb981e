// The dashboard page. It holds no secrets: the Rust side answers with status snapshots only.
"use strict";

const LABELS = {
  enabled: "ok",
  stale: "stale, refreshing",
  error: "needs attention",
  paused: "paused",
  signed_out: "signed out",
};

const tauri = window.__TAURI__;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function render(status) {
  const accounts = status.accounts || [];
  const body = document.querySelector("#accounts tbody");
  body.replaceChildren();
  for (const a of accounts) {
    const tr = document.createElement("tr");
    tr.append(cell(a.name), cell(a.provider));
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge ${a.status}`;
    badge.textContent = LABELS[a.status] || a.status;
    state.append(badge);
    tr.append(state, cell(a.expires_at || "—"));
    body.append(tr);
  }
  document.getElementById("accounts").hidden = accounts.length === 0;
  document.getElementById("empty").hidden = accounts.length !== 0;
  const trouble = accounts.filter((a) => a.status === "error").length;
  document.getElementById("summary").textContent =
    accounts.length === 0
      ? "Nothing to watch yet."
      : trouble > 0
        ? `${trouble} of ${accounts.length} accounts need you.`
        : `${accounts.length} account${accounts.length === 1 ? "" : "s"}, none needs you.`;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    render(await tauri.core.invoke("status"));
    error.hidden = true;
  } catch (e) {
    error.textContent = `Cannot read the status: ${e}`;
    error.hidden = false;
  }
}

// Ctrl+W (Cmd+W) and Escape close the dashboard like any desktop window; the app stays in the tray
// and the window is destroyed, not hidden.
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "w")) {
    e.preventDefault();
    tauri.window.getCurrentWindow().close();
  }
});

// Event-driven: the engine tells us when something changed; no polling.
tauri.event.listen("engine-event", refresh);
refresh();
