import { api, flash, highlighted, say, showFlash } from "./console.js";

const status = document.getElementById("project-status");

function report(message, kind = "error") {
  status.textContent = message;
  status.className = `notice ${kind}`;
  status.hidden = false;
  say(message);
}

showFlash(status);

document.getElementById("create-project")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const name = form.elements.name.value.trim();
  if (!name) return;
  const button = form.querySelector("button");
  button.disabled = true;
  report("Creating the project…", "");
  try {
    const data = await api("POST", "/api/projects", { name });
    window.location.assign(`/app/projects/${data.project.id}`);
  } catch (error) {
    report(error.message);
    button.disabled = false;
  }
});

document.getElementById("project-grid")?.addEventListener("click", async (event) => {
  const rename = event.target.closest("[data-rename]");
  const remove = event.target.closest("[data-delete]");
  if (rename) {
    const name = window.prompt("New name of the project", rename.dataset.name);
    if (name === null || !name.trim() || name.trim() === rename.dataset.name) return;
    try {
      await api("PATCH", `/api/projects/${rename.dataset.rename}`, { name: name.trim() });
      flash(`Renamed to “${name.trim()}”.`);
      window.location.reload();
    } catch (error) {
      report(error.message);
    }
  } else if (remove) {
    const question = `Delete “${remove.dataset.name}” with all its floorplans, models and files? This cannot be undone.`;
    if (!window.confirm(question)) return;
    try {
      await api("DELETE", `/api/projects/${remove.dataset.delete}`);
      flash(`Deleted “${remove.dataset.name}”.`);
      window.location.reload();
    } catch (error) {
      report(error.message);
    }
  }
});

// Search as you type through the API; the form itself still works without script.
const box = document.getElementById("q");
const live = document.getElementById("live-results");
let timer = 0;
let latest = 0;

async function search(query) {
  const asked = ++latest;
  live.hidden = false;
  live.replaceChildren(Object.assign(document.createElement("p"), { className: "notice", textContent: "Searching…" }));
  try {
    const params = new URLSearchParams({ q: query, types: "projects", limit: "10" });
    const data = await api("GET", `/api/search?${params}`);
    if (asked !== latest) return;
    const heading = Object.assign(document.createElement("h2"), { textContent: `Projects matching “${query}”` });
    if (!data.results.length) {
      live.replaceChildren(heading, Object.assign(document.createElement("p"), { className: "empty", textContent: `No project matches “${query}”.` }));
      say("No project matches.");
      return;
    }
    const list = document.createElement("ul");
    list.className = "results";
    for (const hit of data.results) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `/app/projects/${hit.id}`;
      link.append(highlighted(hit.title));
      item.append(link);
      list.append(item);
    }
    live.replaceChildren(heading, list);
    say(`${data.results.length} project${data.results.length === 1 ? "" : "s"} found.`);
  } catch (error) {
    if (asked === latest) live.replaceChildren(Object.assign(document.createElement("p"), { className: "notice error", textContent: error.message }));
  }
}

box?.addEventListener("input", () => {
  window.clearTimeout(timer);
  const query = box.value.trim();
  if (query.length < 2) {
    latest += 1;
    live.hidden = true;
    return;
  }
  timer = window.setTimeout(() => search(query), 250);
});
