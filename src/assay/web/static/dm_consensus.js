// Data manager: the Consensus… dialog. It merges the selected tasks (or every task of the
// project) with POST /api/projects/{id}/consensus/merge, polls the background job it starts
// (GET /api/background-jobs/{id}) for progress, and shows the counts: merged, waiting for
// adjudication (with a link to the adjudication page), accepted as GT, skipped. Before that,
// POST /api/projects/{id}/consensus/preview counts, for each weighting, the tasks a merge with
// the dialog's settings would send to adjudication; each weighting's option says so. Loads
// after data_manager.js, which owns the selection.
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
    refreshPreview();
  }

  // Each weighting's option with the number of tasks it would send to adjudication.
  const previewText = $("dm-consensus-preview");
  let previewAsked = 0;
  async function refreshPreview() {
    const asked = ++previewAsked;
    const options = [...form.elements.weighting.options];
    for (const o of options) o.textContent = o.dataset.title;
    previewText.textContent = "Counting what each weighting would send to adjudication…";
    dialog.dataset.preview = "loading";
    try {
      const { weighting, auto_accept_at, ...settings } = await body();
      const p = await assay.api("POST", urls.preview, settings);
      if (asked !== previewAsked) return;  // a newer question is on its way
      let tasks = 0;
      for (const o of options) {
        const c = p.weightings[o.value];
        if (!c) continue;
        tasks = c.tasks;
        o.textContent = `${o.dataset.title} (${c.adjudicate} to adjudication)`;
        o.dataset.adjudicate = String(c.adjudicate);
      }
      const below = settings.adjudicate_below;
      previewText.textContent =
        `Of ${plural(tasks, "task")} with two or more annotators, each weighting sends the ` +
        `number in brackets to adjudication: a tied label vote, or consensus support under ${below}.`;
      dialog.dataset.preview = "done";
    } catch (error) {
      if (asked !== previewAsked) return;
      previewText.textContent = `No preview: ${error.message}`;
      dialog.dataset.preview = "failed";
    }
  }
  let previewTimer = null;
  function previewSoon() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, 300);
  }
  for (const name of ["quorum", "iou_threshold", "adjudicate_below"]) {
    form.elements[name].addEventListener("input", previewSoon);
  }
  for (const radio of form.querySelectorAll('input[name="scope"]')) {
    radio.addEventListener("change", previewSoon);
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
