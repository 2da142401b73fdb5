// The transcript page while its summary is written: show the job's progress, and load the
// page again once it is done (or failed) so that the summary itself appears.

import { gettext, interpolate } from "./i18n.js";

const POLL_MS = 2000;
const status = document.getElementById("summary-status");
const bar = document.getElementById("summary-progress");

function show(job) {
  if (job.status === "queued") {
    status.textContent = gettext("The summary is waiting for the worker.");
  } else if (job.status === "running") {
    status.textContent = interpolate(gettext("Writing the summary: part %(done)s of %(total)s done."), {
      done: job.parts_done,
      total: job.parts_total,
    });
    bar.max = Math.max(job.parts_total, 1);
    bar.value = job.parts_done;
  }
}

async function poll() {
  try {
    const response = await fetch(status.dataset.statusUrl, { credentials: "same-origin" });
    if (response.ok) {
      const job = await response.json();
      if (job.status === "done" || job.status === "failed") {
        status.textContent = job.status === "done" ? gettext("The summary is ready.") : gettext("The summary failed.");
        window.location.hash = "summary";
        window.location.reload();
        return;
      }
      show(job);
    }
  } catch (error) {
    // offline for a moment: the next poll tries again
  }
  window.setTimeout(poll, POLL_MS);
}

/** Polls the summary's progress while one is being written (the section then has its URL). */
export function followSummaryProgress() {
  if (!status || !status.dataset.statusUrl) return;
  window.setTimeout(poll, POLL_MS);
}

/** The transcript page's feature (features.js). */
export function start() {
  followSummaryProgress();
  return null;
}
