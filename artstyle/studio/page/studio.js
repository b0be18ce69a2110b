// artstyle studio: the page. It only talks to /api; all the work is in the library.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { defaults: {}, picked: new Set(), count: 0, batchRequest: 0 };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function settingsForm() {
  const box = $("settings");
  for (const [name, field] of Object.entries(state.defaults)) {
    if (name === "num_styles") continue;
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.id = name;
    if (typeof field.default === "boolean") {
      input.type = "checkbox";
      input.checked = field.default;
    } else {
      input.type = "number";
      input.value = field.default;
      input.step = "any";
    }
    label.append(`${name.replace("_", " ")} `, input);
    const hint = document.createElement("small");
    hint.textContent = `default ${field.default}: ${field.about}`;
    label.append(hint);
    box.append(label);
  }
}

function pickCount() {
  $("pick-count").textContent = `${state.picked.size} of ${state.count} images picked`;
}

async function loadBatch() {
  const model = $("model").value;
  const seed = $("seed").value || 0;
  const n = $("num_styles").value || 16;
  showError("");
  $("grid").textContent = "drawing…";
  const request = ++state.batchRequest;
  try {
    const body = await api(`/api/models/${encodeURIComponent(model)}?seed=${seed}&n=${n}`);
    if (request !== state.batchRequest) return; // a newer batch was asked for meanwhile
    const facts = Object.entries(body.facts).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`);
    $("facts").textContent = facts.join(" · ");
    $("grid").textContent = "";
    state.count = body.images.length;
    state.picked = new Set(body.images.map((_, i) => i));
    body.images.forEach((src, i) => {
      const img = document.createElement("img");
      img.src = src;
      img.className = "style";
      img.dataset.index = i;
      img.alt = `style image ${i + 1}`;
      img.onclick = () => {
        state.picked.has(i) ? state.picked.delete(i) : state.picked.add(i);
        img.classList.toggle("left-out", !state.picked.has(i));
        pickCount();
      };
      $("grid").append(img);
    });
    pickCount();
  } catch (err) {
    if (request !== state.batchRequest) return;
    $("grid").textContent = "";
    showError(err.message);
  }
}

function setPicks(all) {
  document.querySelectorAll("#grid img").forEach((img, i) => {
    all ? state.picked.add(i) : state.picked.delete(i);
    img.classList.toggle("left-out", !all);
  });
  pickCount();
}

async function start() {
  showError("");
  const photos = $("photos").files;
  if (!photos.length) return showError("choose one or more photos first");
  const form = new FormData();
  for (const file of photos) form.append("photos", file);
  for (const file of $("paintings").files) form.append("paintings", file);
  if (!$("paintings").files.length && state.picked.size === 0) {
    return showError("pick at least one style image (or upload paintings)");
  }
  form.append("model", $("model").value);
  form.append("seed", $("seed").value || 0);
  form.append("num_styles", $("num_styles").value || 16);
  if (state.picked.size !== state.count) form.append("picks", [...state.picked].sort((a, b) => a - b).join(","));
  const settings = {};
  for (const name of Object.keys(state.defaults)) {
    if (name === "num_styles") continue;
    const input = $(name);
    settings[name] = input.type === "checkbox" ? input.checked : Number(input.value);
  }
  form.append("settings", JSON.stringify(settings));
  try {
    await api("/api/jobs", { method: "POST", body: form });
  } catch (err) {
    showError(err.message);
  }
}

function seconds(s) {
  return s == null ? "–" : s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`;
}

function renderJobs(jobs) {
  const box = $("queue");
  if (!jobs.length) return;
  box.textContent = "";
  for (const job of jobs.slice().reverse()) {
    const row = document.createElement("div");
    row.className = `job state-${job.state}`;
    row.dataset.id = job.id;
    const img = document.createElement("img");
    if (job.state === "done") img.src = `/api/results/${job.id}.png`;
    else if (job.preview_step) img.src = `/api/jobs/${job.id}/preview.png?step=${job.preview_step}`;
    img.alt = "";
    const meta = document.createElement("div");
    meta.className = "meta";
    const losses = Object.entries(job.losses).map(([k, v]) => `${k} ${v}`).join(", ");
    meta.innerHTML = `<b></b> <span class="state"></span><br>
      <progress max="${job.steps || 1}" value="${job.step}"></progress><br>
      <span class="progress">step ${job.step}/${job.steps || "?"}</span> ·
      elapsed ${seconds(job.elapsed)} · left ${seconds(job.left)}<br>
      <span class="losses"></span><br><span class="style-used"></span>`;
    meta.querySelector("b").textContent = job.photo_name;
    meta.querySelector(".state").textContent = job.error ? `${job.state}: ${job.error}` : job.state;
    meta.querySelector(".losses").textContent = losses;
    meta.querySelector(".style-used").textContent = job.style;
    if (job.state === "queued" || job.state === "running") {
      const cancel = document.createElement("button");
      cancel.textContent = "Cancel";
      cancel.className = "cancel";
      cancel.onclick = () => api(`/api/jobs/${job.id}/cancel`, { method: "POST" }).catch((e) => showError(e.message));
      meta.append(cancel);
    }
    if (job.state === "done") {
      const link = document.createElement("a");
      link.href = `/api/results/${job.id}.png`;
      link.textContent = "Download";
      link.className = "download";
      link.download = `artstyle-${job.id}.png`;
      meta.append(" ", link);
    }
    row.append(img, meta);
    box.append(row);
  }
}

function renderGallery(records) {
  const box = $("gallery");
  if (!records.length) return;
  box.textContent = "";
  for (const rec of records) {
    const row = document.createElement("div");
    row.className = "result";
    row.dataset.id = rec.id;
    const img = document.createElement("img");
    img.src = `/api/results/${rec.id}.png`;
    img.alt = rec.photo_name;
    const meta = document.createElement("div");
    meta.className = "meta";
    const settings = Object.entries(rec.settings).map(([k, v]) => `${k} ${v}`).join(", ");
    meta.textContent = `${rec.photo_name} · ${rec.size.join("×")} · ${rec.style.describe} · ${settings} · ${seconds(rec.seconds)}`;
    const again = document.createElement("button");
    again.textContent = "Re-make";
    again.onclick = () => api(`/api/results/${rec.id}/remake`, { method: "POST" }).catch((e) => showError(e.message));
    const link = document.createElement("a");
    link.href = img.src;
    link.download = `artstyle-${rec.id}.png`;
    link.textContent = "Download";
    meta.append(document.createElement("br"), again, " ", link);
    row.append(img, meta);
    box.append(row);
  }
}

async function main() {
  const setup = await api("/api/setup");
  state.defaults = setup.defaults;
  for (const name of setup.models) $("model").append(new Option(name, name));
  $("num_styles").value = setup.defaults.num_styles.default;
  settingsForm();
  $("model").onchange = loadBatch;
  $("new-batch").onclick = () => { $("seed").value = Number($("seed").value || 0) + 1; loadBatch(); };
  $("num_styles").onchange = loadBatch;
  $("seed").onchange = loadBatch;
  $("pick-all").onclick = (e) => { e.preventDefault(); setPicks(true); };
  $("pick-none").onclick = (e) => { e.preventDefault(); setPicks(false); };
  $("start").onclick = start;
  const events = new EventSource("/api/events");
  events.onmessage = (e) => {
    const update = JSON.parse(e.data);
    renderJobs(update.jobs);
    renderGallery(update.gallery);
  };
  await loadBatch();
}

main().catch((err) => showError(err.message));
