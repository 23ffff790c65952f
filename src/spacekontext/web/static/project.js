import { api, flash, formatBytes, say, send, showFlash } from "./console.js";

const root = document.getElementById("project");
const projectId = root.dataset.projectId;
const maxUpload = Number(root.dataset.maxUpload);
const uploadStatus = document.getElementById("upload-status");
showFlash(uploadStatus);

// --- zoomable floorplans: buttons, wheel and drag change the SVG's viewBox ---------------------
for (const figure of document.querySelectorAll("[data-zoom]")) {
  const svg = figure.querySelector(".plan-view svg");
  if (!svg || !svg.viewBox || !svg.viewBox.baseVal) continue;
  const base = svg.viewBox.baseVal;
  const home = [base.x, base.y, base.width, base.height];
  let box = [...home];
  const apply = () => svg.setAttribute("viewBox", box.map((v) => v.toFixed(3)).join(" "));
  const zoom = (factor, cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2) => {
    const width = Math.min(home[2] * 4, Math.max(home[2] / 40, box[2] * factor));
    const height = width * (home[3] / home[2]);
    box = [cx - (cx - box[0]) * (width / box[2]), cy - (cy - box[1]) * (height / box[3]), width, height];
    apply();
  };
  figure.querySelector("[data-zoom-in]").addEventListener("click", () => zoom(0.67));
  figure.querySelector("[data-zoom-out]").addEventListener("click", () => zoom(1.5));
  figure.querySelector("[data-zoom-reset]").addEventListener("click", () => { box = [...home]; apply(); });
  const toSvg = (event) => {
    const rect = svg.getBoundingClientRect();
    return [box[0] + ((event.clientX - rect.left) / rect.width) * box[2], box[1] + ((event.clientY - rect.top) / rect.height) * box[3]];
  };
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const [x, y] = toSvg(event);
    zoom(event.deltaY < 0 ? 0.85 : 1.18, x, y);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => { drag = [event.clientX, event.clientY]; svg.setPointerCapture(event.pointerId); });
  svg.addEventListener("pointerup", () => { drag = null; });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    box[0] -= ((event.clientX - drag[0]) / rect.width) * box[2];
    box[1] -= ((event.clientY - drag[1]) / rect.height) * box[3];
    drag = [event.clientX, event.clientY];
    apply();
  });
}

// --- version history: read when first opened -------------------------------------------------
function ago(iso) {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (!isFinite(seconds) || seconds < 60) return "just now";
  for (const [limit, size, name] of [[3600, 60, "minute"], [86400, 3600, "hour"], [604800, 86400, "day"]]) {
    if (seconds < limit) {
      const count = Math.floor(seconds / size);
      return `${count} ${name}${count === 1 ? "" : "s"} ago`;
    }
  }
  return new Date(iso).toLocaleDateString();
}

function versionItem(floorplanId, current, version) {
  const item = document.createElement("li");
  const label = Object.assign(document.createElement("span"), { textContent: `Version ${version.version}` });
  const facts = Object.assign(document.createElement("span"), {
    className: "muted",
    textContent: `${ago(version.createdAt)} · ${version.name} · ${version.wallCount} walls · ${area(version.totalAreaM2)}`,
  });
  item.append(label, facts);
  if (version.version === current) {
    item.append(Object.assign(document.createElement("span"), { className: "badge", textContent: "current" }));
  } else {
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      className: "secondary",
      textContent: `Restore version ${version.version}`,
    });
    button.dataset.restore = floorplanId;
    button.dataset.version = String(version.version);
    item.append(button);
  }
  return item;
}

for (const history of document.querySelectorAll("details[data-versions]")) {
  let loaded = false;
  history.addEventListener("toggle", async () => {
    if (!history.open || loaded) return;
    loaded = true;
    const body = history.querySelector(".versions-body");
    const floorplanId = history.dataset.versions;
    const current = Number(history.dataset.current);
    try {
      const data = await api("GET", `/api/floorplans/${floorplanId}/versions`);
      if (!data.versions.length) {
        body.replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: "No saved versions." }));
        return;
      }
      const list = document.createElement("ol");
      list.className = "versions";
      for (const version of data.versions) list.append(versionItem(floorplanId, current, version));
      body.replaceChildren(list);
    } catch (error) {
      loaded = false;
      body.replaceChildren(Object.assign(document.createElement("p"), { className: "notice error", textContent: `The versions could not be read: ${error.message}` }));
    }
  });
}

document.addEventListener("click", async (event) => {
  const restore = event.target.closest("[data-restore]");
  if (restore) {
    const version = restore.dataset.version;
    if (!window.confirm(`Restore version ${version}? It becomes a new version; nothing is lost.`)) return;
    restore.disabled = true;
    try {
      await api("POST", `/api/floorplans/${restore.dataset.restore}/versions/${version}/restore`);
      flash(`Version ${version} restored.`);
      window.location.reload();
    } catch (error) {
      restore.disabled = false;
      window.alert(error.message);
    }
    return;
  }
  const removeFile = event.target.closest("[data-delete-file]");
  if (removeFile) {
    if (!window.confirm(`Delete the file “${removeFile.dataset.name}”? This cannot be undone.`)) return;
    try {
      await api("DELETE", `/api/files/${removeFile.dataset.deleteFile}`);
      removeFile.closest("tr").remove();
      uploadStatus.textContent = `Deleted “${removeFile.dataset.name}”.`;
    } catch (error) {
      uploadStatus.textContent = error.message;
    }
  }
});

// --- files: drag and drop, progress ---------------------------------------------------------
const drop = document.getElementById("drop");
const input = document.getElementById("upload-input");
const progress = document.getElementById("upload-progress");

// Straight to the object store when it accepts a presigned PUT from this page (the server
// never carries the bytes); a store that refuses the browser (no CORS rule for this origin)
// falls back to the streamed upload through the API. An abandoned direct upload is swept by
// the server after the URL's lifetime.
class DirectUnavailable extends Error {}

function put(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(target.method || "PUT", target.uploadUrl);
    for (const [name, value] of Object.entries(target.headers || {})) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve();
      else reject(new DirectUnavailable(`the store answered HTTP ${request.status}`));
    });
    request.addEventListener("error", () => reject(new DirectUnavailable("the store refused the browser")));
    request.send(file);
  });
}

async function uploadDirect(file, onProgress) {
  const target = await api("POST", "/api/files/presign", {
    projectId,
    filename: file.name,
    size: file.size,
    contentType: file.type || "application/octet-stream",
  });
  await put(target, file, onProgress);
  await api("POST", `/api/files/${target.fileId}/complete`);
}

async function uploadOne(file, onProgress) {
  try {
    await uploadDirect(file, onProgress);
    return;
  } catch (error) {
    if (!(error instanceof DirectUnavailable)) throw error;
  }
  const form = new FormData();
  form.append("projectId", projectId);
  form.append("file", file, file.name);
  await send("/api/files/upload", form, onProgress);
}

async function uploadAll(files) {
  const list = [...files];
  if (!list.length) return;
  const stored = [];
  for (const file of list) {
    if (file.size > maxUpload) {
      uploadStatus.textContent = `“${file.name}” is ${formatBytes(file.size)}: larger than the limit of ${formatBytes(maxUpload)}. Nothing was stored.`;
      say(uploadStatus.textContent);
      continue;
    }
    progress.hidden = false;
    progress.value = 0;
    uploadStatus.textContent = `Uploading “${file.name}”…`;
    try {
      await uploadOne(file, (share) => { progress.value = Math.round(share * 100); });
      progress.value = 100;
      stored.push(file.name);
    } catch (error) {
      uploadStatus.textContent = `“${file.name}” was not stored: ${error.message}`;
      say(uploadStatus.textContent);
    }
  }
  progress.hidden = true;
  if (stored.length) {
    flash(`Uploaded ${stored.map((name) => `“${name}”`).join(", ")}.`);
    window.location.reload();
  }
}

input.addEventListener("change", () => uploadAll(input.files));
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  uploadAll(event.dataTransfer.files);
});

// --- DXF import -----------------------------------------------------------------------------
const importForm = document.getElementById("dxf-import");
const importProgress = document.getElementById("dxf-progress");
const importResult = document.getElementById("dxf-result");

function area(value) {
  return `${Number(value).toLocaleString("en", { maximumFractionDigits: 1, minimumFractionDigits: 1 })} m²`;
}

function showImported(plan) {
  importResult.replaceChildren();
  const text = document.createElement("p");
  text.className = "notice ok";
  text.textContent = `Imported “${plan.name}”: ${plan.wallCount} walls, ${plan.roomCount} rooms, area ${area(plan.totalAreaM2)}.`;
  const image = document.createElement("img");
  image.src = `/app/previews/${plan.id}.svg`;
  image.alt = `Preview of ${plan.name}`;
  image.className = "import-preview";
  image.width = 320;
  const again = document.createElement("a");
  again.href = `/app/projects/${projectId}#plan-${plan.id}`;
  again.textContent = "Show it among the levels";
  again.addEventListener("click", () => window.location.reload());
  importResult.append(text, image, again);
  say(text.textContent);
}

async function waitForJob(job) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const data = await api("GET", job.statusUrl);
    if (data.job.status === "done") {
      return api("GET", `/api/floorplans/${data.job.floorplanId}`).then((read) => read.floorplan);
    }
    if (data.job.status === "failed") {
      throw new Error((data.job.error && data.job.error.error) || "The import failed.");
    }
    importResult.textContent = `Importing in the background (${data.job.status})…`;
    await new Promise((done) => window.setTimeout(done, 1000));
  }
  throw new Error("The import is taking long; look at the levels again later.");
}

importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = importForm.elements.file.files[0];
  if (!file) return;
  if (file.size > maxUpload) {
    importResult.textContent = `“${file.name}” is larger than the limit of ${formatBytes(maxUpload)}. Nothing was stored.`;
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("level", importForm.elements.level.value || "0");
  const button = importForm.querySelector("button");
  button.disabled = true;
  importProgress.hidden = false;
  importProgress.value = 0;
  importResult.textContent = `Uploading “${file.name}”…`;
  try {
    const answer = await send(`/api/projects/${projectId}/floorplans/import`, form, (share) => {
      importProgress.value = Math.round(share * 100);
      if (share >= 1) importResult.textContent = "Reading the drawing…";
    });
    const plan = answer.status === 202 ? await waitForJob(answer.data.job) : answer.data.floorplan;
    showImported(plan);
  } catch (error) {
    importResult.replaceChildren(Object.assign(document.createElement("p"), {
      className: "notice error",
      textContent: `The DXF was not imported: ${error.message}`,
    }));
    say(importResult.textContent);
  } finally {
    importProgress.hidden = true;
    button.disabled = false;
  }
});

// --- the site's location --------------------------------------------------------------------
document.getElementById("site-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const siteStatus = document.getElementById("site-status");
  try {
    await api("POST", "/api/site-analysis", {
      projectId,
      coordinates: { lat: Number(form.elements.lat.value), lng: Number(form.elements.lng.value) },
    });
    window.location.assign(`/app/projects/${projectId}#site`);
    window.location.reload();
  } catch (error) {
    siteStatus.textContent = error.message;
  }
});
