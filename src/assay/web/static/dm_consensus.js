// Data manager: the Consensus… dialog. It merges the selected tasks (or every task of the
// project) with POST /api/projects/{id}/consensus/merge, polls the background job it starts
// (GET /api/background-jobs/{id}) for progress, and shows the counts: merged, waiting for
// adjudication (with a link to the adjudication page), accepted as GT, skipped. Loads after
// data_manager.js, which owns the selection.
"use strict";

(function () {
  const urls = JSON.parse(document.getElementById("dm-consensus-urls").textContent);
  const dm = window.assayDataManager;
  const $ = (id) => document.getElementById(id);
  const dialog = $("dm-consensus-dialog");
  const form = $("dm-consensus-form");
  const pickSelected = $("dm-consensus-selected");
  const auto = $("dm-consensus-auto");
  const status = $("dm-consensus-status");
  const progress = $("dm-consensus-progress");
  const adjudicate = $("dm-consensus-adjudicate");
  const mergeButton = $("dm-consensus-merge");
  const POLL_MS = 400;
  const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  let running = false;

  function open() {
    const n = dm.count();
    pickSelected.disabled = n === 0 || dm.everyTask();
    $("dm-consensus-selected-text").textContent = n
      ? `The ${plural(n, "selected task")}`
      : "Selected tasks (none selected)";
    (pickSelected.disabled ? $("dm-consensus-all") : pickSelected).checked = true;
    if (!running) {
      $("dm-consensus-run").hidden = true;
      adjudicate.hidden = true;
    }
    dialog.showModal();
  }

  auto.addEventListener("change", () => {
    form.elements.auto_accept_at.disabled = !auto.checked;
  });

  // The form as the merge endpoint's body.
  async function body() {
    const f = form.elements;
    const out = {
      quorum: Number(f.quorum.value),
      iou_threshold: Number(f.iou_threshold.value),
      weighting: f.weighting.value,
      adjudicate_below: Number(f.adjudicate_below.value),
      auto_accept_at: auto.checked ? Number(f.auto_accept_at.value) : null,
    };
    if (pickSelected.checked) out.tasks = await dm.selectedTaskIds();
    return out;
  }

  function show(text, isError) {
    $("dm-consensus-run").hidden = false;
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function poll(jobId) {
    const url = urls.job.replace("{job}", encodeURIComponent(jobId));
    for (;;) {
      const job = await assay.api("GET", url);
      progress.value = job.percent;
      if (job.status === "done") return job.result;
      if (job.status === "failed") throw new Error(job.error || "the merge failed");
      const done = job.total ? `${job.progress} of ${plural(job.total, "task")}` : "starting";
      show(`Merging… ${done}`);
      await sleep(POLL_MS);
    }
  }

  function describe(r) {
    return `${plural(r.tasks, "task")}: ${r.merged} merged, ${r.adjudicate} waiting for ` +
      `adjudication, ${r.accepted} accepted as GT, ${r.skipped} skipped ` +
      "(fewer than two annotators).";
  }

  // The header's "Adjudication (N waiting)" after a merge: the whole project's queue.
  async function refreshWaiting() {
    const out = $("adjudication-waiting");
    if (!out) return;
    const next = await assay.api("GET", urls.waiting);
    out.textContent = String(next.remaining);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (running) return;
    running = true;
    mergeButton.disabled = true;
    adjudicate.hidden = true;
    progress.value = 0;
    show("Starting the merge…");
    dialog.dataset.state = "running";
    try {
      const started = await assay.api("POST", urls.merge, await body());
      const result = await poll(started.id);
      progress.value = 100;
      show(`Done. ${describe(result)}`);
      if (result.adjudicate) {
        adjudicate.textContent = `Adjudicate the ${plural(result.adjudicate, "waiting task")} →`;
        adjudicate.hidden = false;
      }
      dialog.dataset.state = "done";
      await refreshWaiting();
    } catch (error) {
      show(`The merge did not run: ${error.message}`, true);
      dialog.dataset.state = "failed";
    } finally {
      running = false;
      mergeButton.disabled = false;
    }
  });

  $("dm-consensus-close").addEventListener("click", () => dialog.close());
  $("dm-consensus").addEventListener("click", open);
})();
