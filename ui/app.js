// The dashboard page. It never holds a secret: the Rust side answers with states, times, codes to
// type and sentences; "Copy token" copies on the Rust side. Everything is drawn with textContent
// and DOM nodes, never HTML strings, so nothing an account or a provider says can run here.
"use strict";

const tauri = window.__TAURI__;
const invoke = (cmd, args) => tauri.core.invoke(cmd, args);
const $ = (sel, root = document) => root.querySelector(sel);

const LABELS = {
  enabled: "ok",
  stale: "stale, refreshing",
  error: "needs attention",
  paused: "paused",
  signed_out: "signed out",
};

const state = {
  status: { accounts: [] },
  open: new Set(), // accounts whose details are shown
  signIn: new Map(), // account -> what its sign-in in progress shows
  finished: new Map(), // account -> when its last sign-in ended (ms)
  verdicts: new Map(), // account -> the class chosen for its failure's code, not yet saved
};

// Codes Tokentray gives failures itself (no answer, a proxy's page, a bare HTTP status): the
// provider's table has nothing to overrule there.
const OWN_CODES = /^(timeout|connect|tls|transport|unparseable|empty_body|no_access_token|no_refresh_token|keychain.*|http_\d+)$/;

// ---------- small helpers ----------

// The message line: red for a failure, quiet for an outcome that went well.
function toast(message, ok = false) {
  const t = $("#toast");
  t.textContent = message;
  t.hidden = !message;
  t.classList.toggle("ok", ok);
}

// An operation's error is {code, message} (the same on every path); say its sentence.
function said(e) {
  return e && typeof e === "object" && "message" in e ? e.message : String(e);
}

// A person's action: its outcome replaces the message line.
async function act(work, done) {
  try {
    const result = await work();
    toast(done || "", true);
    return result;
  } catch (e) {
    toast(said(e));
    return undefined;
  }
}

// Background reads (a redraw after an event) leave the message line alone, so a sign-in's
// failure stays readable until the person does something else.
async function quietly(work) {
  try {
    return await work();
  } catch (e) {
    // Said only when nothing else is: a failure already on the line stays readable.
    if ($("#toast").hidden) toast(said(e));
    return undefined;
  }
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function until(iso) {
  if (!iso) return "—";
  let s = Math.round((new Date(iso) - Date.now()) / 1000);
  const past = s < 0;
  s = Math.abs(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const text = h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m}:${String(sec).padStart(2, "0")}`;
  return past ? `expired ${text} ago` : `in ${text}`;
}

// Days away, or hours and minutes on the last two days.
function daysUntil(iso) {
  const s = (new Date(iso) - Date.now()) / 1000;
  return s > 2 * 86400 ? `in ${Math.floor(s / 86400)} days` : until(iso);
}

// Some providers end a sign-in on a date (GitHub's refresh tokens live six months): the card
// says when, so that the re-login it will need is no surprise; the last week stands out.
function signInEnds(node, iso) {
  const box = $(".sign-in-ends", node);
  if (!iso) return;
  const dd = $("dd", box);
  dd.textContent = `${when(iso)} (${daysUntil(iso)})`;
  dd.classList.toggle("soon", new Date(iso) - Date.now() < 7 * 86400 * 1000);
  box.hidden = false;
}

function every(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// ---------- accounts ----------

function render() {
  const accounts = state.status.accounts || [];
  const list = $("#accounts");
  // What the person is in the middle of survives a redraw: the focused button or field (and
  // the caret in it), and which "All events" lists are open.
  const active = document.activeElement;
  const focusedAccount = active && active.closest(".card")?.dataset.account;
  const focused = active && (active.dataset.action ? `[data-action="${active.dataset.action}"]`
    : active.name && active.closest(".job-form") ? `.job-form [name="${active.name}"]` : null);
  const caret = active && typeof active.selectionStart === "number"
    ? [active.selectionStart, active.selectionEnd] : null;
  const openEvents = new Set([...list.querySelectorAll(".card details[open]")]
    .map((d) => d.closest(".card").dataset.account));
  // Half-typed job forms survive a redraw: nothing the person typed is lost to an event.
  const drafts = new Map();
  for (const f of list.querySelectorAll(".job-form")) {
    const values = Object.fromEntries(new FormData(f));
    if (values.name || values.url) drafts.set(f.closest(".card").dataset.account, values);
  }
  list.replaceChildren(...accounts.map(card));
  for (const [account, values] of drafts) {
    const f = $(`.card[data-account="${CSS.escape(account)}"] .job-form`);
    if (f) for (const [k, v] of Object.entries(values)) f.elements[k].value = v;
  }
  for (const account of openEvents) {
    const d = $(`.card[data-account="${CSS.escape(account)}"] details`);
    if (d) d.open = true;
  }
  if (focused && focusedAccount) {
    const again = $(`.card[data-account="${CSS.escape(focusedAccount)}"] ${focused}`);
    if (again) {
      again.focus();
      if (caret && typeof again.setSelectionRange === "function") {
        try { again.setSelectionRange(caret[0], caret[1]); } catch { /* not a text field */ }
      }
    }
  }
  $("#empty").hidden = accounts.length !== 0;
  // A full or read-only disk: tokens keep flowing, but the person should know and fix it.
  $("#storage").textContent = state.status.storage_error || "";
  $("#storage").hidden = !state.status.storage_error;
  const trouble = accounts.filter((a) => a.status === "error").length;
  $("#summary").textContent =
    accounts.length === 0
      ? "Nothing to watch yet."
      : trouble > 0
        ? `${trouble} of ${accounts.length} account${accounts.length === 1 ? "" : "s"} need${trouble === 1 ? "s" : ""} you.`
        : `${accounts.length} account${accounts.length === 1 ? "" : "s"}, none needs you.`;
  for (const name of state.open) loadHistory(name);
}

function card(a) {
  const node = $("#account-card").content.firstElementChild.cloneNode(true);
  node.dataset.account = a.name;
  node.dataset.status = a.status;
  $(".name", node).textContent = a.name;
  const badge = $(".badge", node);
  badge.textContent = LABELS[a.status] || a.status;
  badge.classList.add(a.status);
  // An account named after its provider would show the same word twice.
  $(".provider", node).textContent = a.provider === a.name ? "" : a.provider;
  if (a.last_error && a.status !== "enabled") {
    const p = $(".problem", node);
    p.textContent = a.last_error.message;
    p.classList.add(a.last_error.class);
    p.hidden = false;
    if (!OWN_CODES.test(a.last_error.code)) verdict(node, a);
  }
  const signing = state.signIn.get(a.name);
  if (signing) {
    const p = $(".signin", node);
    p.textContent = signing.user_code
      ? `Enter the code ${signing.user_code} at ${signing.verification_uri} — waiting…`
      : "Finish signing in in your browser — waiting…";
    p.hidden = false;
  }
  const expires = $(".expires", node);
  const next = $(".next-refresh", node);
  $(".last-refresh", node).textContent = when(a.last_refresh);
  // Never signed in: no token, no refresh, nothing to time.
  $(".times", node).hidden = a.status === "signed_out";
  if (a.status === "error") {
    // A dead account does not count down to anything: when it failed and what fixes it.
    expires.previousElementSibling.textContent = "Failed";
    expires.textContent = when(a.last_error && a.last_error.at);
    next.previousElementSibling.textContent = "What fixes it";
    next.textContent = a.last_error && a.last_error.class === "config"
      ? `fixing [provider.${a.provider}] in the settings`
      : "signing in again (Re-login)";
  } else {
    expires.dataset.at = a.expires_at || "";
    expires.textContent = until(a.expires_at);
    if (a.expires_at) expires.title = when(a.expires_at);
    next.textContent = a.status === "enabled" || a.status === "stale" ? when(a.next_refresh) : "—";
    signInEnds(node, a.sign_in_expires_at);
  }
  renderVariants(node, a);

  const signIn = $('[data-action="sign-in"]', node);
  const needsSignIn = a.status === "error" || a.status === "signed_out";
  signIn.textContent = a.status === "signed_out" ? "Sign in" : "Re-login";
  signIn.hidden = !needsSignIn;
  if (signing) {
    // A sign-in is waiting in the browser: the button starts it over (a closed tab, a lost
    // code), it is not the next step any more.
    signIn.textContent = "Restart sign-in";
    signIn.classList.remove("primary");
  }
  signIn.addEventListener("click", () => startSignIn(a.name, false));

  const pause = $('[data-action="pause"]', node);
  pause.textContent = a.status === "paused" ? "Resume" : "Pause";
  pause.addEventListener("click", () =>
    act(() => invoke("set_paused", { account: a.name, paused: a.status !== "paused" })),
  );
  const refresh = $('[data-action="refresh"]', node);
  refresh.hidden = a.status === "signed_out";
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    refresh.textContent = "Refreshing…";
    const report = await act(() => invoke("refresh", { account: a.name }));
    // A failure's sentence appears on the card itself, once: the message line is for news that
    // is on no card.
    if (report && report.outcome === "ok") toast(`${a.name}: refreshed.`, true);
    refresh.disabled = false;
    refresh.textContent = "Refresh now";
  });
  const copy = $('[data-action="copy"]', node);
  copy.hidden = a.status === "signed_out" || a.status === "error";
  copy.addEventListener("click", () =>
    act(() => invoke("copy_token", { account: a.name }), `${a.name}: token copied (cleared from the clipboard in 2 minutes).`),
  );
  const details = $('[data-action="details"]', node);
  const open = state.open.has(a.name);
  details.setAttribute("aria-expanded", String(open));
  $(".details", node).hidden = !open;
  details.addEventListener("click", () => {
    if (state.open.has(a.name)) state.open.delete(a.name);
    else state.open.add(a.name);
    render();
  });
  $('[data-action="remove"]', node).addEventListener("click", () => confirmRemove(a.name));

  renderCallers(node, a);
  renderJobs(node, a);
  $(".job-form", node).addEventListener("submit", (e) => saveJob(e, a.name));
  return node;
}

// Tokens minted for other scopes or resources (`tokentray token --scope/--resource`): what
// they are for and how long they live; the page never sees a token.
function renderVariants(node, a) {
  const variants = a.variants || [];
  const box = $(".variants", node);
  box.hidden = variants.length === 0;
  const list = $("ul", box);
  for (const v of variants) {
    const scopes = v.scopes.length ? v.scopes.join(" ") : "the sign-in's scopes";
    const li = el("li", v.resource ? `${scopes} for ${v.resource}` : scopes);
    const left = el("span", until(v.expires_at), "ticks");
    left.dataset.at = v.expires_at || "";
    if (v.expires_at) left.title = when(v.expires_at);
    li.append(" — expires ", left);
    list.append(li);
  }
}

// With `callers = "ask"`: the programs always allowed, each revocable (the next request from
// it asks again).
function renderCallers(node, a) {
  const box = $(".callers", node);
  box.hidden = a.callers !== "ask";
  if (box.hidden) return;
  const allowed = a.allowed_callers || [];
  $(".no-callers", box).hidden = allowed.length !== 0;
  const list = $("ul", box);
  for (const program of allowed) {
    const li = el("li");
    li.dataset.program = program;
    const revoke = el("button", "Revoke");
    revoke.type = "button";
    revoke.addEventListener("click", () =>
      act(() => invoke("revoke_caller", { account: a.name, program }), `${program} will be asked about again.`),
    );
    li.append(el("code", program), " ", revoke);
    list.append(li);
  }
}

// Overruling how a provider's code is read (`set_class`): the person knows their provider.
function verdict(node, a) {
  const f = $(".verdict", node);
  const code = a.last_error.code;
  $(".code", f).textContent = code;
  $(".from", f).textContent = a.provider;
  const pick = f.elements.class;
  pick.value = state.verdicts.get(a.name) || a.last_error.class;
  pick.addEventListener("change", () => state.verdicts.set(a.name, pick.value));
  f.hidden = false;
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = pick.value;
    const done = chosen === "default"
      ? `${a.provider}: ${code} is read as the built-in table says.`
      : `${a.provider}: ${code} now means ${pick.selectedOptions[0].textContent}; it applies from the next answer.`;
    const saved = await act(() => invoke("set_class", { provider: a.provider, code, class: chosen === "default" ? null : chosen }), done);
    if (saved !== undefined) state.verdicts.delete(a.name);
  });
}

function renderJobs(node, a) {
  const body = $(".jobs tbody", node);
  const jobs = a.jobs || [];
  $(".jobs", node).hidden = jobs.length === 0;
  $(".no-jobs", node).hidden = jobs.length !== 0;
  for (const j of jobs) {
    const tr = el("tr");
    tr.dataset.job = j.name;
    const last = j.last_status ? `${j.last_status}${j.last_run ? ` · ${when(j.last_run)}` : ""}` : j.runs ? "no answer" : "not yet";
    const lastCell = el("td", last, j.last_status && j.last_status < 400 ? "ok" : j.last_status ? "bad" : "");
    tr.append(
      el("td", j.name),
      el("td", every(j.every_s)),
      lastCell,
      el("td", j.latency_ms != null ? `${j.latency_ms} ms` : "—"),
      el("td", j.state === "paused" ? "held (account not ok)" : when(j.next_run)),
    );
    const buttons = el("td", undefined, "row-actions");
    const run = el("button", "Run now");
    run.type = "button";
    run.addEventListener("click", () => act(() => invoke("run_job", { name: j.name }), `${j.name}: running.`));
    const edit = el("button", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => {
      const f = $(".job-form", node);
      f.elements.name.value = j.name;
      f.elements.url.value = j.url || "";
      f.elements.method.value = j.method || "GET";
      f.elements.every.value = every(j.every_s);
      f.elements.url.focus();
    });
    const remove = el("button", "Remove", "danger");
    remove.type = "button";
    remove.addEventListener("click", () => act(() => invoke("remove_job", { name: j.name })));
    buttons.append(run, edit, remove);
    tr.append(buttons);
    body.append(tr);
  }
}

async function saveJob(e, account) {
  e.preventDefault();
  const f = e.target;
  const job = {
    name: f.elements.name.value.trim(),
    account,
    url: f.elements.url.value.trim(),
    method: f.elements.method.value,
    every: f.elements.every.value.trim(),
  };
  if ((await act(() => invoke("save_job", { job }), `${job.name}: saved.`)) !== undefined) f.reset();
}

// ---------- history ----------

const KINDS = {
  refreshed: "refreshed",
  refresh_failed: "failed",
  job_ran: "job",
  state_changed: "state",
  login_started: "state",
  login_finished: "state",
  variant_issued: "refreshed",
};

function describe(ev) {
  switch (ev.kind) {
    case "refreshed": return "refreshed";
    case "refresh_failed": return `refresh failed (${ev.class}: ${ev.code})`;
    case "job_ran": return `job ${ev.job}: ${ev.status ?? "no answer"}`;
    case "state_changed": return `${LABELS[ev.from] || ev.from} → ${LABELS[ev.to] || ev.to}`;
    case "login_started": return "sign-in started";
    case "variant_issued": return `token minted for ${ev.scopes.length ? ev.scopes.join(" ") : "the sign-in's scopes"}${ev.resource ? ` at ${ev.resource}` : ""}`;
    case "login_finished": return ev.message;
    default: return ev.kind;
  }
}

async function loadHistory(account) {
  const page = await quietly(() => invoke("history", { account, hours: 24 }));
  const entries = page && page.entries;
  const node = $(`.card[data-account="${CSS.escape(account)}"]`);
  if (!entries || !node) return;
  drawTimeline($(".timeline", node), entries);
  const list = $(".events", node);
  list.replaceChildren(
    ...entries
      .slice(-200)
      .reverse()
      .map((e) => {
        const li = el("li");
        li.append(el("time", when(e.at)), document.createTextNode(` ${describe(e.event)}`));
        return li;
      }),
  );
}

// Drawn in the element's own CSS pixels (one user unit each), so marks keep their shape at any
// width or zoom; redrawn when the element's width changes.
function drawTimeline(box, entries) {
  const NS = "http://www.w3.org/2000/svg";
  const W = Math.max(200, Math.round(box.clientWidth) || 720);
  const H = 46, end = Date.now(), start = end - 24 * 3600 * 1000;
  box.timelineEntries = entries;
  box.timelineWidth = W;
  if (!box.timelineWatch) {
    box.timelineWatch = new ResizeObserver(() => {
      const w = Math.round(box.clientWidth);
      if (w && w !== box.timelineWidth) drawTimeline(box, box.timelineEntries);
    });
    box.timelineWatch.observe(box);
  }
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  const axis = document.createElementNS(NS, "line");
  Object.entries({ x1: 0, x2: W, y1: H / 2, y2: H / 2, class: "axis" }).forEach(([k, v]) => axis.setAttribute(k, v));
  svg.append(axis);
  for (let h = 0; h <= 24; h += 6) {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", Math.min(W - 30, (h / 24) * W + 2));
    t.setAttribute("y", H - 2);
    t.setAttribute("class", "tick");
    t.textContent = h === 24 ? "now" : `-${24 - h}h`;
    svg.append(t);
  }
  let counts = { refreshed: 0, failed: 0, jobs: 0, bad: 0 };
  for (const e of entries) {
    const at = new Date(e.at).getTime();
    if (at < start) continue;
    const kind = KINDS[e.event.kind] || "state";
    let cls = kind;
    if (kind === "job") {
      const ok = e.event.status && e.event.status < 400;
      cls = ok ? "job-ok" : "job-bad";
      counts[ok ? "jobs" : "bad"]++;
    } else if (kind === "refreshed") counts.refreshed++;
    else if (kind === "failed") counts.failed++;
    const mark = document.createElementNS(NS, kind === "state" ? "rect" : "circle");
    // Inset by a dot's radius, so a mark at either end is whole.
    const x = 4 + ((at - start) / (end - start)) * (W - 8);
    if (kind === "state") {
      Object.entries({ x: x - 1, y: 4, width: 2, height: H - 16 }).forEach(([k, v]) => mark.setAttribute(k, v));
    } else {
      const y = kind === "job" ? H / 2 + 8 : H / 2 - 8;
      Object.entries({ cx: x, cy: y, r: 3.5 }).forEach(([k, v]) => mark.setAttribute(k, v));
    }
    mark.setAttribute("class", cls);
    const title = document.createElementNS(NS, "title");
    title.textContent = `${when(e.at)}: ${describe(e.event)}`;
    mark.append(title);
    svg.append(mark);
  }
  box.setAttribute(
    "aria-label",
    `Last 24 hours: ${counts.refreshed} refreshes, ${counts.failed} failed refreshes, ${counts.jobs} good job runs, ${counts.bad} failed job runs.`,
  );
  box.replaceChildren(svg);
}

// ---------- sign-in ----------

async function startSignIn(account, device) {
  const asked = Date.now();
  const view = await act(() => invoke("sign_in", { account, device }));
  // A quick sign-in can finish before its answer arrives: no "waiting" banner then.
  if (view && (state.finished.get(account) || 0) < asked) {
    state.signIn.set(account, view);
    render();
  }
}

// ---------- remove ----------

function confirmRemove(account) {
  const dialog = $("#confirm-remove");
  $("#confirm-name").textContent = account;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "remove") {
      act(() => invoke("remove_account", { account }), `${account} removed.`);
    }
  };
  dialog.showModal();
}

// ---------- add-account wizard ----------

let source = null;
const PRESET_NAMES = { github: "GitHub", google: "Google", microsoft: "Microsoft", gitlab: "GitLab" };

async function openWizard() {
  const dialog = $("#wizard");
  $("#wizard-form").reset();
  $("#wizard-error").hidden = true;
  $("#endpoints").textContent = "Pick a provider, or enter your identity provider's address.";
  $("#registration").hidden = true;
  showPlace(null);
  $("#client-id").placeholder = "from the OAuth app you registered";
  source = null;
  const presets = await act(() => invoke("presets"));
  const box = $("#presets");
  box.replaceChildren(
    ...(presets || []).map((p) => {
      const b = el("button", PRESET_NAMES[p] || p);
      b.type = "button";
      b.dataset.preset = p;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => pick({ kind: "preset", value: p }, b));
      return b;
    }),
  );
  dialog.showModal();
}

// Where a preset's provider may live instead of its public service: an instance of one's own,
// or an Entra tenant. Google has neither.
const PLACES = {
  github: { key: "instance", label: "GitHub Enterprise Server? Its address (leave empty for github.com)", example: "https://github.example.com" },
  gitlab: { key: "instance", label: "Your own GitLab? Its address (leave empty for gitlab.com)", example: "https://gitlab.example.com" },
  microsoft: { key: "tenant", label: "Your organization's tenant (leave empty for any work, school or personal account)", example: "contoso.onmicrosoft.com" },
};

function showPlace(preset) {
  const place = PLACES[preset];
  const box = $("#place");
  box.hidden = !place;
  box.dataset.preset = preset || "";
  $("#place-value").value = "";
  if (!place) return;
  $(".place-label", box).textContent = place.label;
  $("#place-value").placeholder = place.example;
}

// The source the preset and the place field say.
function placeSource() {
  const name = $("#place").dataset.preset;
  const value = $("#place-value").value.trim();
  return value ? { kind: "preset_at", value: { name, [PLACES[name].key]: value } } : { kind: "preset", value: name };
}

function usePlace() {
  const name = $("#place").dataset.preset;
  return pick(placeSource(), $(`#presets button[data-preset="${name}"]`), true);
}

async function pick(src, button, keepPlace = false) {
  for (const b of document.querySelectorAll("#presets button")) b.setAttribute("aria-pressed", String(b === button));
  if (!keepPlace) showPlace(src.kind === "preset" ? src.value : null);
  const status = $("#endpoints");
  status.textContent = src.kind === "issuer" ? `Looking up ${src.value}…` : "";
  try {
    const ep = await invoke("discover", { source: src });
    source = src;
    status.textContent = `Sign-in: ${ep.authorize_url || "none (device code only)"} · Tokens: ${ep.token_url}${ep.device_url ? " · Device codes: yes" : ""}`;
    // Each provider brings its own default scopes.
    $("#scopes").value = (ep.scopes || []).join(" ");
    // A preset says what to register there, and what its client id looks like.
    const reg = ep.registration;
    $("#registration").hidden = !reg;
    $("#registration .what").textContent = reg ? reg.register : "";
    $("#registration .page").textContent = reg ? reg.page : "";
    $("#client-id").placeholder = reg ? `such as ${reg.client_id_example}` : "from the OAuth app you registered";
    wizardError("");
  } catch (e) {
    source = null;
    status.textContent = "";
    $("#registration").hidden = true;
    wizardError(said(e));
  }
}

function wizardError(message) {
  const p = $("#wizard-error");
  p.textContent = message;
  p.hidden = !message;
}

async function addFromWizard(device) {
  // An address typed under the preset but not yet "Use"d still counts: the account goes where
  // the person said, not to the public service.
  if (!$("#place").hidden && JSON.stringify(placeSource()) !== JSON.stringify(source)) {
    await usePlace();
    if (!source) return; // the address was refused, and the wizard says why
  }
  if (!source) return wizardError("Pick a provider first, or look up your issuer.");
  const name = $("#account-name").value.trim();
  const split = (v) => v.split(/[\s,]+/).filter(Boolean);
  const fresh = {
    name,
    source,
    client_id: $("#client-id").value.trim(),
    scopes: split($("#scopes").value),
    git_hosts: split($("#git-hosts").value),
  };
  try {
    await invoke("add_account", fresh);
  } catch (e) {
    return wizardError(said(e));
  }
  $("#wizard").close();
  await refresh();
  startSignIn(name, device);
}

// ---------- settings ----------

async function openSettings() {
  const s = await act(() => invoke("app_settings"));
  if (!s) return;
  $("#autostart").checked = s.autostart;
  $("#notify-permanent").checked = s.notify_permanent;
  $("#notify-config").checked = s.notify_config;
  $("#settings-file").textContent = s.settings_file;
  $("#log-dir").textContent = s.log_dir;
  $("#version").textContent = s.version;
  $("#settings").showModal();
}

// ---------- wiring ----------

async function refresh() {
  const status = await quietly(() => invoke("status"));
  if (status) {
    state.status = status;
    render();
  }
}

let pending = false;
function onEngineEvent(e) {
  const ev = e.payload || {};
  if (ev.kind === "login_finished") {
    state.signIn.delete(ev.account);
    state.finished.set(ev.account, Date.now());
    toast(ev.ok ? `${ev.message}.` : ev.message, ev.ok);
  }
  if (ev.kind === "login_started" && ev.device && !state.signIn.has(ev.account)) {
    state.signIn.set(ev.account, ev.device);
  }
  // Bursts of events (a refresh round) redraw once.
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    refresh();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#open-wizard").addEventListener("click", openWizard);
  $("#empty-add").addEventListener("click", openWizard);
  $("#open-settings").addEventListener("click", openSettings);
  $("#discover").addEventListener("click", () => {
    const issuer = $("#issuer").value.trim();
    if (issuer) pick({ kind: "issuer", value: issuer }, null);
    else wizardError("Enter the issuer URL first.");
  });
  // Enter in a field looks the issuer up (in the issuer field) or adds the account; it never
  // falls through to Cancel and loses what was typed.
  $("#wizard-form").addEventListener("submit", (e) => {
    if (e.submitter && e.submitter.value === "cancel") return;
    e.preventDefault();
    if (document.activeElement === $("#issuer")) $("#discover").click();
    else if (document.activeElement === $("#place-value")) usePlace();
    else addFromWizard(false);
  });
  $("#use-place").addEventListener("click", usePlace);
  $("#wizard-add").addEventListener("click", () => addFromWizard(false));
  $("#wizard-add-device").addEventListener("click", () => addFromWizard(true));
  $("#autostart").addEventListener("change", (e) => act(() => invoke("set_autostart", { on: e.target.checked })));
  $("#notify-permanent").addEventListener("change", (e) =>
    act(() => invoke("set_notify", { class: "permanent", on: e.target.checked })),
  );
  $("#notify-config").addEventListener("change", (e) =>
    act(() => invoke("set_notify", { class: "config", on: e.target.checked })),
  );
  $("#open-logs").addEventListener("click", () => act(() => invoke("open_log_folder")));
});

// Ctrl+W (Cmd+W) and Escape close the dashboard like any desktop window; the app stays in the tray
// and the window is destroyed, not hidden. Escape inside a dialog closes only the dialog.
document.addEventListener("keydown", (e) => {
  const inDialog = document.querySelector("dialog[open]");
  if ((e.key === "Escape" && !inDialog) || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "w")) {
    e.preventDefault();
    tauri.window.getCurrentWindow().close();
  }
});

// The countdowns tick while the window is open; the data itself changes only on engine events.
setInterval(() => {
  for (const dd of document.querySelectorAll(".expires[data-at], .ticks[data-at]")) {
    if (dd.dataset.at) dd.textContent = until(dd.dataset.at);
  }
}, 1000);

// Event-driven: the engine tells us when something changed; no polling.
tauri.event.listen("engine-event", onEngineEvent);
refresh();
