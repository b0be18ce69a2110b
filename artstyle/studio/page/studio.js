// artstyle studio: the page. It only talks to /api; all the work is in the library.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  defaults: {}, steering: {}, picked: new Set(), count: 0, batchRequest: 0,
  source: null, // the batch shown: {model, seed, num_styles} or a steered {model, batch, num_styles}
  steerSeed: 0, masked: false, sliders: {},
};

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

function showBatch(images, source, origin) {
  state.source = source;
  $("batch-origin").textContent = origin;
  $("back-to-seed").hidden = !source.batch;
  $("grid").textContent = "";
  state.count = images.length;
  state.picked = new Set(images.map((_, i) => i));
  images.forEach((src, i) => {
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
}

async function loadBatch() {
  const model = $("model").value;
  const seed = Number($("seed").value || 0);
  const n = Number($("num_styles").value || state.defaults.num_styles.default);
  showError("");
  $("grid").textContent = "drawing…";
  const request = ++state.batchRequest;
  try {
    const body = await api(`/api/models/${encodeURIComponent(model)}?seed=${seed}&n=${n}`);
    if (request !== state.batchRequest) return; // a newer batch was asked for meanwhile
    const facts = Object.entries(body.facts).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`);
    $("facts").textContent = facts.join(" · ");
    showBatch(body.images, { model, seed, num_styles: n }, `the batch of seed ${seed}`);
  } catch (err) {
    if (request !== state.batchRequest) return;
    $("grid").textContent = "";
    showError(err.message);
  }
}

async function steer(kind) {
  showError("");
  const picks = [...state.picked].sort((a, b) => a - b);
  if (kind === "between" && picks.length !== 2) return showError("pick exactly two images to walk between");
  if (!picks.length) return showError("pick at least one image to draw more like it");
  const payload = {
    source: state.source, picks, num_styles: Number($("num_styles").value || state.defaults.num_styles.default),
    spread: Number($("spread").value), seed: ++state.steerSeed,
  };
  if (kind === "between") delete payload.spread;
  const request = ++state.batchRequest;
  $("grid").classList.add("busy");
  try {
    const body = await api(`/api/batches/${kind === "between" ? "between" : "more"}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    if (request !== state.batchRequest) return;
    const origin = kind === "between"
      ? `between images ${picks[0] + 1} and ${picks[1] + 1} of the last batch`
      : `more like ${picks.length} picked (spread ${payload.spread})`;
    showBatch(body.images, { model: body.model, batch: body.batch, num_styles: body.images.length }, origin);
  } catch (err) {
    showError(err.message);
  } finally {
    $("grid").classList.remove("busy");
  }
}

// --- the mask: a brush on the first photo, or an uploaded file ---------------------------------

function showMaskPhoto() {
  const file = $("photos").files[0];
  $("mask-area").hidden = !file;
  if (!file) return;
  const img = $("mask-photo");
  img.onload = () => {
    const canvas = $("mask-canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    state.masked = false;
  };
  img.src = URL.createObjectURL(file);
}

function brush() {
  const canvas = $("mask-canvas");
  const ctx = canvas.getContext("2d");
  let last = null;
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [(e.clientX - box.left) * canvas.width / box.width, (e.clientY - box.top) * canvas.height / box.height];
  };
  canvas.onpointerdown = (e) => { canvas.setPointerCapture(e.pointerId); last = at(e); canvas.onpointermove(e); };
  canvas.onpointermove = (e) => {
    if (!last) return;
    const here = at(e);
    ctx.strokeStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineWidth = Number($("brush").value || 40) * canvas.width / canvas.getBoundingClientRect().width;
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...here);
    ctx.stroke();
    last = here;
    state.masked = true;
  };
  canvas.onpointerup = () => { last = null; };
  $("clear-mask").onclick = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    state.masked = false;
    $("mask-file").value = "";
  };
}

function brushedMask() {
  // white strokes on black, at the photo's size
  const canvas = $("mask-canvas");
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
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
  form.append("model", state.source.model);
  form.append("seed", state.source.seed ?? 0);
  form.append("num_styles", state.source.num_styles);
  if (state.source.batch) form.append("batch", state.source.batch);
  if ($("mask-file").files.length) form.append("mask", $("mask-file").files[0]);
  else if (state.masked) form.append("mask", await brushedMask(), "mask.png");
  if ($("rest").value) form.append("rest", $("rest").value);
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

function compare(id) {
  // the photo under the painting; the slider uncovers the photo from the left
  const box = document.createElement("div");
  box.className = "compare";
  const before = document.createElement("img");
  before.className = "before";
  before.src = `/api/results/${id}/photo.png`;
  before.alt = "before";
  const after = document.createElement("img");
  after.className = "after";
  after.src = `/api/results/${id}.png`;
  after.alt = "after";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = 0;
  slider.max = 100;
  slider.value = state.sliders[id] ?? 0;
  slider.title = "before / after";
  slider.className = "before-after";
  const show = () => {
    state.sliders[id] = Number(slider.value);
    after.style.clipPath = `inset(0 0 0 ${slider.value}%)`;
  };
  slider.oninput = show;
  show();
  box.append(before, after, slider);
  return box;
}

function renderJobs(jobs) {
  const box = $("queue");
  if (!jobs.length) return;
  box.textContent = "";
  for (const job of jobs.slice().reverse()) {
    const row = document.createElement("div");
    row.className = `job state-${job.state}`;
    row.dataset.id = job.id;
    let img;
    if (job.state === "done") img = compare(job.id);
    else {
      img = document.createElement("img");
      if (job.preview_step) img.src = `/api/jobs/${job.id}/preview.png?step=${job.preview_step}`;
      img.alt = "";
    }
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
    meta.querySelector(".style-used").textContent = job.regions || job.style;
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
    const img = compare(rec.id);
    const meta = document.createElement("div");
    meta.className = "meta";
    const settings = Object.entries(rec.settings).map(([k, v]) => `${k} ${v}`).join(", ");
    meta.textContent = `${rec.photo_name} · ${rec.size.join("×")} · ${rec.regions || rec.style.describe} · ${settings} · ${seconds(rec.seconds)}`;
    const again = document.createElement("button");
    again.textContent = "Re-make";
    again.onclick = () => api(`/api/results/${rec.id}/remake`, { method: "POST" }).catch((e) => showError(e.message));
    const link = document.createElement("a");
    link.href = `/api/results/${rec.id}.png`;
    link.download = `artstyle-${rec.id}.png`;
    link.textContent = "Download";
    meta.append(document.createElement("br"), again, " ", link);
    if (!rec.style.uploads.length) {
      const style = document.createElement("a");
      style.href = `/api/results/${rec.id}/style.json`;
      style.download = `style-${rec.id}.json`;
      style.textContent = "Style file";
      style.className = "style-file";
      style.title = "the style batch's latents and picks: artstyle transfer --style-file paints with it again";
      meta.append(" ", style);
    }
    row.append(img, meta);
    box.append(row);
  }
}

async function main() {
  const setup = await api("/api/setup");
  state.defaults = setup.defaults;
  state.steering = setup.steering;
  for (const name of setup.models) {
    $("model").append(new Option(name, name));
    $("rest").append(new Option(`${name}'s style`, name));
  }
  $("spread").value = setup.steering.spread.default;
  $("spread").title = setup.steering.spread.about;
  $("more-like").onclick = () => steer("more");
  $("between").onclick = () => steer("between");
  $("back-to-seed").onclick = loadBatch;
  $("photos").onchange = showMaskPhoto;
  brush();
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
