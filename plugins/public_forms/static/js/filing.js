/*
 * The filing form's script: everything it does also works without it (the server renders
 * visibility, saves on each button, adds and removes entries, receives files by plain
 * forms). With it:
 *
 * - conditional fields show and hide as the applicant types (conditions.js, the twin of
 *   app/conditions.py, so the browser and the server agree);
 * - the draft is saved a couple of seconds after the last change (the same inputs the
 *   form posts, with the version the page holds: a stale page is told, never overwrites);
 * - files are sent as soon as they are chosen, with progress, and can be removed;
 * - entries of repeated blocks are added and removed in place;
 * - the commune input suggests communes; linked lists keep the second list in step.
 */
import { visibleFields } from "./conditions.js";

const OTHER = "__other__";
const AUTOSAVE_DELAY = 2000;
const INSEE_IN_PARENTHESES = /\(\s*(\d[0-9AB]\d{3})\s*\)\s*$/i;

const form = document.getElementById("dossier-form");
const configElement = document.getElementById("guichet-form-config");
const config = configElement ? JSON.parse(configElement.textContent) : null;
const messages = (config && config.messages) || {};

function text(key, values = {}) {
  let message = messages[key] || key;
  for (const [name, value] of Object.entries(values)) {
    message = message.split(`%(${name})s`).join(String(value));
  }
  return message;
}

function csrfToken() {
  const input = document.querySelector('input[name="csrf_token"]');
  return input ? input.value : "";
}

// ---------------------------------------------------------------------------------------
// Reading the form's inputs as answers (mirrors plugins/public_forms/form_data.py)

const WIDGETS = {
  checkbox: "checkbox",
  multiple_drop_down: "multiple",
  attachment: "multiple",
  linked_drop_down: "linked",
  address: "address",
  date: "date",
  datetime: "datetime",
  repetition: "repetition",
  commune: "commune",
};

function composeDate(day, month, year) {
  const parts = [year, month, day].map((part) => (part || "").trim());
  if (parts.every((part) => part === "")) return null;
  const [y, m, d] = parts;
  if (parts.every((part) => /^[0-9]+$/.test(part))) {
    return `${y.padStart(4, "0")}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
  }
  return `${y}-${m}-${d}`;
}

function readValue(spec, data, name, children) {
  const kind = WIDGETS[spec.type] || "single";
  if (kind === "checkbox") return data.get(name);
  if (kind === "multiple") return data.getAll(name).filter((value) => value);
  if (kind === "linked") {
    return { primary: data.get(`${name}.primary`), secondary: data.get(`${name}.secondary`) };
  }
  if (kind === "address") {
    const value = {};
    for (const part of ["street", "postcode", "city", "country"]) {
      value[part] = data.get(`${name}.${part}`);
    }
    const known = (config.addresses || {})[spec.stable_id];
    value.insee_code =
      known && known.postcode === (value.postcode || "").trim() &&
      known.city.toLowerCase() === (value.city || "").trim().toLowerCase()
        ? known.insee_code
        : "";
    return value;
  }
  if (kind === "date" || kind === "datetime") {
    const day = composeDate(
      data.get(`${name}.day`), data.get(`${name}.month`), data.get(`${name}.year`),
    );
    if (kind === "date") return day;
    const time = (data.get(`${name}.time`) || "").trim();
    if (day === null && !time) return null;
    return `${day || ""}T${time}`;
  }
  if (kind === "commune") {
    const value = (data.get(name) || "").trim();
    const match = INSEE_IN_PARENTHESES.exec(value);
    return match ? match[1].toUpperCase() : value;
  }
  if (kind === "repetition") {
    const indexes = new Set();
    for (const key of data.keys()) {
      if (key.startsWith(`${name}[`)) {
        const match = /^\[(\d+)\]/.exec(key.slice(name.length));
        if (match) indexes.add(Number(match[1]));
      }
    }
    return [...indexes].sort((a, b) => a - b).map((index) => {
      const row = {};
      for (const child of children.get(spec.stable_id) || []) {
        row[child.stable_id] = readValue(child, data, `${name}[${index}].${child.stable_id}`);
      }
      return row;
    });
  }
  const value = data.get(name);
  if (spec.type === "drop_down" && value === OTHER) return data.get(`${name}.other`) || "";
  return value;
}

function currentAnswers() {
  const data = new FormData(form);
  const answers = { ...(config.answers || {}) };
  const present = new Set(data.getAll("present"));
  const children = new Map();
  for (const spec of config.fields) {
    if (spec.parent) {
      if (!children.has(spec.parent)) children.set(spec.parent, []);
      children.get(spec.parent).push(spec);
    }
  }
  for (const spec of config.fields) {
    if (spec.parent || (present.size && !present.has(spec.stable_id))) continue;
    if (!present.size && !form.querySelector(`[data-field="${CSS.escape(spec.stable_id)}"]`)) {
      continue;
    }
    answers[spec.stable_id] = readValue(spec, data, `champ_${spec.stable_id}`, children);
  }
  return answers;
}

// ---------------------------------------------------------------------------------------
// Live conditions

function applyConditions() {
  const shown = visibleFields(config.fields, currentAnswers(), { geo: config.geo });
  for (const element of form.querySelectorAll("[data-field]")) {
    element.hidden = !shown.has(element.dataset.field);
  }
  for (const item of document.querySelectorAll("[data-toc-field]")) {
    item.hidden = !shown.has(item.dataset.tocField);
  }
}

// ---------------------------------------------------------------------------------------
// Autosave

const status = document.getElementById("autosave-status");
const autosaveUrl = form ? form.dataset.autosaveUrl : null;
let timer = null;
let inFlight = null;
let dirty = false;
let stopped = false;
let resubmitting = false;

function showStatus(message, isError = false) {
  if (!status) return;
  status.textContent = "";
  status.classList.toggle("guichet-autosave-status--error", isError);
  status.append(message);
}

function staleMessage(message) {
  const fragment = document.createDocumentFragment();
  fragment.append(`${message} `);
  const link = document.createElement("a");
  link.href = window.location.pathname + window.location.search;
  link.textContent = text("reload");
  fragment.append(link);
  return fragment;
}

function payload() {
  return new URLSearchParams(new FormData(form));
}

function versionInput() {
  return form.querySelector('input[name="version"]');
}

async function save() {
  timer = null;
  if (stopped || !autosaveUrl) return;
  if (inFlight) {
    dirty = true;
    return;
  }
  dirty = false;
  showStatus(text("saving"));
  inFlight = (async () => {
    let response;
    try {
      response = await fetch(autosaveUrl, {
        method: "POST",
        body: payload(),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
    } catch (error) {
      dirty = true;
      showStatus(text("network"), true);
      return;
    }
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (response.ok && data.saved) {
      versionInput().value = data.version;
      config.addresses = data.addresses || config.addresses;
      const invalid = data.errors && Object.keys(data.errors).length;
      showStatus(invalid ? `${data.status} ${text("some_invalid")}` : data.status);
      return;
    }
    if (response.status === 409 && data.stale) {
      stopped = true;
      showStatus(staleMessage(data.error || text("stale")), true);
      return;
    }
    if (response.status === 429) {
      dirty = true;
      showStatus(text("later"), true);
      return;
    }
    if (response.status === 400 || response.status === 401) {
      stopped = true;
      showStatus(staleMessage(data.error || text("expired")), true);
      return;
    }
    stopped = response.status === 409 || response.status === 404;
    showStatus(data.error || text("not_saved"), true);
  })();
  await inFlight;
  inFlight = null;
  if (dirty && !stopped) schedule();
}

function schedule() {
  if (!autosaveUrl || stopped) return;
  dirty = true;
  if (timer) clearTimeout(timer);
  timer = setTimeout(save, AUTOSAVE_DELAY);
}

function onSubmit(event) {
  if (form.dataset.preview) {
    event.preventDefault();
    return;
  }
  if (timer) {
    clearTimeout(timer);
    timer = null;
  }
  if (inFlight && !resubmitting) {
    // A save is on its way: wait for its new version, then submit with it.
    event.preventDefault();
    const submitter = event.submitter;
    inFlight.finally(() => {
      resubmitting = true;
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    });
    return;
  }
  stopped = true;
}

// ---------------------------------------------------------------------------------------
// Repeated blocks

function renumberRows(container) {
  const rows = container.querySelectorAll(":scope > .guichet-row");
  rows.forEach((row, position) => {
    for (const element of row.querySelectorAll("[data-number-template]")) {
      if (element.closest(".guichet-row") !== row) continue;
      element.textContent = element.dataset.numberTemplate.split("__number__").join(position + 1);
    }
  });
}

function addRow(button) {
  const name = button.dataset.addRow;
  const container = form.querySelector(`[data-rows-for="${CSS.escape(name)}"]`);
  const template = form.querySelector(`template[data-row-template="${CSS.escape(name)}"]`);
  if (!container || !template) return false;
  const indexes = [...container.querySelectorAll(":scope > .guichet-row")].map(
    (row) => Number(row.dataset.row),
  );
  const index = indexes.length ? Math.max(...indexes) + 1 : 0;
  const html = template.innerHTML.split("__row__").join(String(index));
  const holder = document.createElement("div");
  holder.innerHTML = html;
  const row = holder.firstElementChild;
  container.append(row);
  renumberRows(container);
  enhanceUploads(row);
  applyConditions();
  const first = row.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
  schedule();
  return true;
}

function removeRow(button) {
  const row = button.closest(".guichet-row");
  if (!row) return false;
  const container = row.parentElement;
  const block = row.closest(".guichet-repetition");
  row.remove();
  renumberRows(container);
  const add = block && block.querySelector("[data-add-row]");
  if (add) add.focus();
  showStatus(text("entry_removed"));
  applyConditions();
  schedule();
  return true;
}

// ---------------------------------------------------------------------------------------
// Files

function fileItem(file, answerName) {
  const item = document.createElement("li");
  item.className = "guichet-file";
  item.dataset.fileId = file.id;
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = answerName;
  hidden.value = file.id;
  const link = document.createElement("a");
  link.href = file.download_url;
  link.textContent = file.name;
  const meta = document.createElement("span");
  meta.className = "guichet-file__meta";
  meta.textContent = ` (${file.size_text} – ${file.scan_label}) `;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "usa-button usa-button--unstyled guichet-file__remove";
  remove.dataset.removeUrl = file.remove_url;
  remove.textContent = text("remove");
  const hiddenName = document.createElement("span");
  hiddenName.className = "usa-sr-only";
  hiddenName.textContent = ` ${file.name}`;
  remove.append(hiddenName);
  item.append(hidden, link, meta, remove);
  return item;
}

function uploadOne(input, file) {
  const group = input.closest(".guichet-field");
  const progress = group.querySelector(".guichet-progress");
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", input.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.setRequestHeader("Accept", "application/json");
    if (file.type) request.setRequestHeader("Content-Type", file.type);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && progress) {
        progress.hidden = false;
        progress.value = Math.round((100 * event.loaded) / event.total);
      }
    });
    request.addEventListener("load", () => {
      let data = {};
      try {
        data = JSON.parse(request.responseText);
      } catch (error) {
        data = { error: text("upload_failed") };
      }
      resolve({ ok: request.status === 201, data });
    });
    request.addEventListener("error", () => resolve({ ok: false, data: { error: text("network") } }));
    request.send(file);
  });
}

async function upload(input) {
  const group = input.closest(".guichet-field");
  const list = group.querySelector(".guichet-files");
  const statusElement = group.querySelector(".guichet-upload-status");
  const progress = group.querySelector(".guichet-progress");
  const files = [...input.files];
  if (!files.length) return;
  const say = (message, isError = false) => {
    statusElement.textContent = message;
    statusElement.classList.toggle("guichet-upload-status--error", isError);
  };
  for (const file of files) {
    say(text("uploading", { name: file.name }));
    const { ok, data } = await uploadOne(input, file);
    if (ok && data.files && data.files.length) {
      for (const stored of data.files) list.append(fileItem(stored, input.dataset.answerName));
      say(text("uploaded", { name: file.name }));
    } else {
      say(data.error || (data.errors && data.errors[0]) || text("upload_failed"), true);
    }
  }
  if (progress) progress.hidden = true;
  input.value = "";
  input.dispatchEvent(new Event("change", { bubbles: true }));
  schedule();
}

async function removeFile(button) {
  const item = button.closest(".guichet-file");
  const group = button.closest(".guichet-field");
  const statusElement = group && group.querySelector(".guichet-upload-status");
  const name = item.querySelector("a") ? item.querySelector("a").textContent : "";
  let response;
  try {
    response = await fetch(button.dataset.removeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
  } catch (error) {
    if (statusElement) statusElement.textContent = text("network");
    return;
  }
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = {};
  }
  if (!response.ok) {
    if (statusElement) statusElement.textContent = data.error || text("not_removed");
    return;
  }
  item.remove();
  if (statusElement) statusElement.textContent = text("removed", { name });
  const input = group.querySelector('input[type="file"]');
  if (input) input.focus();
  schedule();
}

/** USWDS writes its file input's instructions and accessible name in English: say them
 * in the page's language, with the field's own label first. */
function localiseFileInput(input) {
  const label = document.querySelector(`label[for="${CSS.escape(input.id)}"]`);
  const name = label ? label.textContent.replace(/\s+/g, " ").trim() : "";
  const wanted = `${name}. ${text("choose_file")}`;
  const box = input.closest(".usa-file-input");
  if (box) {
    const drag = box.querySelector(".usa-file-input__drag-text");
    const choose = box.querySelector(".usa-file-input__choose");
    if (drag) drag.textContent = text("drag_here");
    if (choose) choose.textContent = text(drag ? "choose_lower" : "choose_file");
  }
  if (input.getAttribute("aria-label") !== wanted) input.setAttribute("aria-label", wanted);
}

function enhanceUploads(root) {
  for (const input of root.querySelectorAll('input[type="file"][data-upload-url]')) {
    if (input.dataset.enhanced) continue;
    input.dataset.enhanced = "1";
    input.removeAttribute("form");
    const group = input.closest(".guichet-field");
    const fallback = group && group.querySelector("[data-upload-fallback]");
    if (fallback) fallback.hidden = true;
    localiseFileInput(input);
    new MutationObserver(() => localiseFileInput(input)).observe(input, {
      attributes: true,
      attributeFilter: ["aria-label"],
    });
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers of some field types

function updateOther(select) {
  const group = document.getElementById(select.dataset.other);
  if (group) group.hidden = select.value !== OTHER;
}

const secondaryOptions = new Map();

function updateSecondary(primary) {
  const secondary = document.getElementById(primary.dataset.linkedPrimary);
  if (!secondary) return;
  if (!secondaryOptions.has(secondary)) {
    secondaryOptions.set(secondary, [...secondary.querySelectorAll("optgroup")].map((group) => ({
      primary: group.dataset.primary,
      options: [...group.querySelectorAll("option")].map((option) => option.value),
    })));
  }
  const groups = secondaryOptions.get(secondary);
  const current = secondary.value;
  const wanted = groups.find((group) => group.primary === primary.value);
  secondary.textContent = "";
  const empty = document.createElement("option");
  empty.value = "";
  empty.textContent = text("select");
  secondary.append(empty);
  for (const value of wanted ? wanted.options : []) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = value;
    option.selected = value === current;
    secondary.append(option);
  }
  secondary.disabled = !wanted || !wanted.options.length;
}

let communeTimer = null;

function suggestCommunes(input) {
  if (communeTimer) clearTimeout(communeTimer);
  communeTimer = setTimeout(async () => {
    const query = input.value.trim();
    const list = document.getElementById(input.getAttribute("list"));
    if (!list || query.length < 2 || INSEE_IN_PARENTHESES.test(query)) return;
    try {
      const response = await fetch(`${input.dataset.communesUrl}?q=${encodeURIComponent(query)}`);
      const data = await response.json();
      list.textContent = "";
      for (const label of data.communes || []) {
        const option = document.createElement("option");
        option.value = label;
        list.append(option);
      }
    } catch (error) {
      /* suggestions are a convenience: typing the name or code still works */
    }
  }, 250);
}

// ---------------------------------------------------------------------------------------
// Wiring

function start() {
  if (!form || !config) return;
  for (const select of form.querySelectorAll("select[data-other]")) updateOther(select);
  for (const select of form.querySelectorAll("select[data-linked-primary]")) {
    updateSecondary(select);
  }
  applyConditions();
  // USWDS builds its file inputs when the document is loaded: translate them after it.
  setTimeout(() => enhanceUploads(form), 0);

  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-communes-url]")) suggestCommunes(event.target);
    if (event.target.type === "file") return;
    applyConditions();
    schedule();
  });
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.type === "file") {
      if (target.dataset.uploadUrl && target.files && target.files.length) upload(target);
      return;
    }
    if (target.matches("select[data-other]")) updateOther(target);
    if (target.matches("select[data-linked-primary]")) updateSecondary(target);
    applyConditions();
    schedule();
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || form.dataset.preview) return;
    if (button.matches("[data-add-row]") && addRow(button)) event.preventDefault();
    else if (button.matches("[data-remove-row]") && removeRow(button)) event.preventDefault();
    else if (button.matches("[data-remove-url]")) {
      event.preventDefault();
      removeFile(button);
    }
  });
  form.addEventListener("submit", onSubmit);
  window.addEventListener("pagehide", () => {
    if (dirty && !stopped && autosaveUrl && navigator.sendBeacon) {
      navigator.sendBeacon(autosaveUrl, payload());
    }
  });
  window.addEventListener("pageshow", (event) => {
    // Back from the page cache after a beacon save: this copy's version is stale.
    if (event.persisted && autosaveUrl) window.location.reload();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
