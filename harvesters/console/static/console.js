// The console's progressive enhancement: a running job's page follows it through the API without a reload,
// and a backend chosen in the source form shows its options at once. Without JavaScript every page still works.
"use strict";

const POLL_MS = 1000;
const STATUS_CLASSES = /\bstatus-\S+/g;

function followJob(section) {
  const url = section.dataset.poll;
  const text = (id, value) => { document.getElementById(id).textContent = value; };
  const unknown = section.dataset.unknown;
  async function poll() {
    let job;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) throw new Error(String(answer.status));
      job = await answer.json();
    } catch (error) {
      setTimeout(poll, POLL_MS * 5);  // the server restarts or is busy: look again later
      return;
    }
    const badge = document.querySelector("#job-status .badge");
    if (badge && badge.parentElement.dataset.status !== job.status) {
      badge.parentElement.dataset.status = job.status;
      badge.className = badge.className.replace(STATUS_CLASSES, "") + " status-" + job.status;
      badge.textContent = JSON.parse(section.dataset.statuses)[job.status] || job.status;
    }
    const progress = job.progress;
    if (progress) {
      const bar = document.getElementById("progress-bar");
      bar.max = progress.total || Math.max(progress.processed, 1);
      bar.value = progress.processed;
      text("progress-stage", section.dataset["stage" + (progress.stage ? progress.stage[0].toUpperCase() + progress.stage.slice(1) : "None")]);
      text("progress-done", progress.processed + "/" + (progress.total ?? unknown));
      text("progress-rate", progress.rate ? progress.rate + " " + section.dataset.perSecond : unknown);
      text("progress-eta", progress.eta != null ? Math.round(progress.eta) + " s" : unknown);
    }
    showCounts(job.items.by_status, JSON.parse(section.dataset.items));
    if (job.ended || ["done", "done-errors", "failed"].includes(job.status)) {
      window.location.reload();  // the final counts, problems and items
      return;
    }
    setTimeout(poll, POLL_MS);
  }
  setTimeout(poll, POLL_MS);
}

function showCounts(byStatus, labels) {
  const list = document.querySelector("#job-counts ul.counts");
  const entries = Object.entries(byStatus).filter(([, count]) => count > 0).sort();
  list.replaceChildren(...entries.map(([status, count]) => {
    const entry = document.createElement("li");
    const badge = document.createElement("span");
    badge.className = "badge item-" + status;
    badge.textContent = labels[status] || status;
    entry.append(badge, " " + count);
    return entry;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  const job = document.querySelector("[data-poll]");
  if (job) followJob(job);
  for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
