// Data manager: pick tasks in the project's task table and run the bulk actions (ground
// truths, reviewer assignment, honeypots, consensus, GT sampling, a new job), or review the
// picked tasks.
// Every action first says how many selected tasks it affects, and after it what it changed.
//
// A selection is what POST /api/dm/actions takes: {"all": false, "included": [task ids]} or
// {"all": true, "excluded": [task ids]}. It is kept per project and filter in sessionStorage,
// so it survives paging. The API's "all" means every task of the project; under a GT or
// review filter or a saved view, "all" is sent as the list of the filtered tasks' ids instead.
//
// "Review N selected" opens the review stream with ?tasks=<ids>. With every task of the
// project selected (no filter, no exclusion) it opens the whole stream, without a subset.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("dm-data").textContent);
  const filtered = data.filter !== null || data.review_status !== null || data.view !== null;
  const storageKey =
    `assay.dm.${data.project}.${data.filter === null ? "all" : data.filter}` +
    `.${data.review_status || "any"}.${data.view === null ? "all" : data.view}`;
  const scope = [
    { true: "with ground truth", false: "without ground truth" }[String(data.filter)],
    data.review_status ? "under this review filter" : null,
    data.view !== null ? "in this view" : null,
  ]
    .filter(Boolean)
    .join(" ") || "in the project";
  const table = document.getElementById("dm-table");
  const counts = document.getElementById("dm-counts");
  const selectedText = document.getElementById("dm-selected");
  const clearButton = document.getElementById("dm-clear");
  const banner = document.getElementById("dm-banner");
  const bannerText = document.getElementById("dm-banner-text");
  const everything = document.getElementById("dm-select-everything");
  const message = document.getElementById("dm-message");
  const menuButton = document.getElementById("dm-actions");
  const menuList = document.getElementById("dm-action-list");
  const items = Array.from(menuList.querySelectorAll("button"));
  const annotatorDialog = document.getElementById("dm-annotator-dialog");
  const deleteDialog = document.getElementById("dm-delete-dialog");
  const reviewersDialog = document.getElementById("dm-reviewers-dialog");
  const reviewLink = document.getElementById("dm-review");
  const confirmDialog = document.getElementById("dm-confirm-dialog");
  const honeypotsDialog = document.getElementById("dm-honeypots-dialog");
  const sampleDialog = document.getElementById("dm-sample-dialog");
  const jobDialog = document.getElementById("dm-job-dialog");

  // all=false: `ids` are the selected tasks; all=true: `ids` are the excluded ones.
  let selection = load();
  let lastClicked = null;
  let busy = false;

  function load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (saved && typeof saved.all === "boolean" && Array.isArray(saved.ids)) {
        return { all: saved.all, ids: new Set(saved.ids.map(Number)) };
      }
    } catch (error) {
      // a broken saved selection is dropped
    }
    return { all: false, ids: new Set() };
  }

  function save() {
    const value = { all: selection.all, ids: Array.from(selection.ids) };
    try {
      if (!value.all && !value.ids.length) sessionStorage.removeItem(storageKey);
      else sessionStorage.setItem(storageKey, JSON.stringify(value));
    } catch (error) {
      // no storage (privacy settings, quota): the selection just does not survive paging
    }
  }

  function clear() {
    selection = { all: false, ids: new Set() };
    sync();
  }

  function boxes() {
    return Array.from(table.querySelectorAll("input.dm-pick"));
  }

  function isSelected(id) {
    return selection.all ? !selection.ids.has(id) : selection.ids.has(id);
  }

  function setSelected(id, on) {
    if (on !== selection.all) selection.ids.add(id);
    else selection.ids.delete(id);
  }

  function count() {
    return selection.all ? Math.max(0, data.total - selection.ids.size) : selection.ids.size;
  }

  function plural(n, noun) {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
  }

  // Make checkboxes, header checkbox, banner, counter and Actions button show the selection.
  function sync() {
    const all = boxes();
    let checked = 0;
    for (const box of all) {
      box.checked = isSelected(Number(box.value));
      box.closest("tr").classList.toggle("picked", box.checked);
      if (box.checked) checked += 1;
    }
    const pageAll = document.getElementById("dm-page-all");
    if (pageAll) {
      pageAll.checked = all.length > 0 && checked === all.length;
      pageAll.indeterminate = checked > 0 && checked < all.length;
    }
    const n = count();
    selectedText.textContent = n ? `${plural(n, "task")} selected` : "No tasks selected";
    clearButton.hidden = n === 0;
    menuButton.disabled = n === 0 || busy;
    if (reviewLink) {
      reviewLink.textContent = n ? `Review ${n} selected` : "Review All Tasks";
    }
    if (menuButton.disabled) closeMenu(false);

    if (selection.all) {
      const except = selection.ids.size ? `, except ${selection.ids.size}` : "";
      bannerText.textContent = `All ${plural(data.total, "task")} ${scope} are selected${except}.`;
      everything.hidden = true;
      banner.hidden = false;
    } else if (all.length && checked === all.length && data.total > all.length) {
      bannerText.textContent = `All ${plural(all.length, "task")} on this page are selected.`;
      everything.textContent = `Select all ${plural(data.total, "task")} ${scope}`;
      everything.hidden = false;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    save();
  }

  table.addEventListener("click", (event) => {
    const box = event.target.closest("input.dm-pick");
    if (!box) return;
    const all = boxes();
    const index = all.indexOf(box);
    // Shift-click picks the range from the last clicked box.
    if (event.shiftKey && lastClicked !== null && lastClicked < all.length) {
      const [from, to] = [Math.min(lastClicked, index), Math.max(lastClicked, index)];
      for (const other of all.slice(from, to + 1)) setSelected(Number(other.value), box.checked);
    } else {
      setSelected(Number(box.value), box.checked);
    }
    lastClicked = index;
    sync();
  });

  table.addEventListener("change", (event) => {
    if (event.target.id !== "dm-page-all") return;
    for (const box of boxes()) setSelected(Number(box.value), event.target.checked);
    sync();
  });

  everything.addEventListener("click", () => {
    selection = { all: true, ids: new Set() };
    sync();
    clearButton.focus();
  });
  clearButton.addEventListener("click", () => {
    clear();
    const first = boxes()[0];
    if (first) first.focus();
  });

  // The Actions menu: a button that shows a list of buttons (disclosure pattern).
  function openMenu() {
    menuList.hidden = false;
    menuButton.setAttribute("aria-expanded", "true");
    items[0].focus();
  }

  function closeMenu(focusButton) {
    if (menuList.hidden) return;
    menuList.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
    if (focusButton) menuButton.focus();
  }

  menuButton.addEventListener("click", () => {
    if (menuList.hidden) openMenu();
    else closeMenu(false);
  });
  menuButton.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && menuList.hidden) {
      event.preventDefault();
      openMenu();
    }
  });
  menuList.addEventListener("keydown", (event) => {
    const at = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      closeMenu(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(at + step + items.length) % items.length].focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#dm-menu")) closeMenu(false);
  });
  document.getElementById("dm-menu").addEventListener("focusout", (event) => {
    if (!event.relatedTarget || !event.relatedTarget.closest("#dm-menu")) closeMenu(false);
  });

  // Resolve to true when the dialog was closed with its "run" button.
  function ask(dialog) {
    return new Promise((resolve) => {
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "run"), {
        once: true,
      });
      dialog.showModal();
    });
  }

  // The tasks the table lists (under its filters), every page: ids only.
  function listUrl() {
    const q = new URLSearchParams({ project: data.project, fields: "task_only", page_size: 30001 });
    if (data.filter !== null) q.set("ground_truth", String(data.filter));
    if (data.review_status) q.set("review_status", data.review_status);
    if (data.view !== null) q.set("view", data.view);
    return `/api/tasks?${q}`;
  }

  async function selectedItems() {
    const except = Array.from(selection.ids);
    if (!selection.all) return { all: false, included: except };
    if (!filtered) return { all: true, excluded: except };
    const listed = await assay.api("GET", listUrl());
    return {
      all: false,
      included: listed.tasks.map((t) => t.id).filter((id) => !selection.ids.has(id)),
    };
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("error", Boolean(isError));
    message.setAttribute("role", isError ? "alert" : "status");
    message.hidden = false;
  }

  function describe(title, r) {
    return (
      `${title}: ${r.changed} changed, ${r.unchanged} unchanged, ${r.skipped} skipped ` +
      `(of ${plural(r.selected, "selected task")}).`
    );
  }

  // "This affects the N selected tasks." in each dialog's [data-affects] line.
  function affects(dialog, text) {
    const line = dialog.querySelector("[data-affects]");
    if (line) line.textContent = text || `This affects the ${plural(count(), "selected task")}.`;
  }

  // The yes/no dialog of an action without options.
  function confirmAction(title, text, runLabel) {
    document.getElementById("dm-confirm-title").textContent = title;
    document.getElementById("dm-confirm-text").textContent = text;
    document.getElementById("dm-confirm-run").textContent = runLabel;
    return ask(confirmDialog);
  }

  async function run(button) {
    const action = button.dataset.action;
    let title = button.dataset.title;
    closeMenu(true);
    const body = {};
    const n = plural(count(), "selected task");
    for (const dialog of document.querySelectorAll("dialog")) affects(dialog);
    if (action === "consensus") {
      document.getElementById("dm-consensus").click();
      return;
    } else if (action === "sample_ground_truth") {
      await sample();
      return;
    } else if (action === "create_job") {
      openJobDialog();
      return;
    } else if (action === "assign_ground_truths") {
      const text =
        `On each of the ${n} that has no ground truth yet, its earliest annotation becomes ` +
        "the ground truth. Tasks without annotations are skipped.";
      if (!(await confirmAction("Assign ground truths?", text, "Assign ground truths"))) return;
    } else if (action === "remove_from_honeypots") {
      const text =
        `The ${n} leave the honeypot pool: no new job gets them. Their ground truth, ` +
        "and the answers already given, stay.";
      if (!(await confirmAction("Remove from honeypots?", text, "Remove from honeypots"))) return;
    } else if (action === "add_to_honeypots") {
      affects(
        honeypotsDialog,
        `This affects the ${n}; those without ground truth are skipped.`,
      );
      if (!(await ask(honeypotsDialog))) return;
      const difficulty = document.getElementById("dm-honeypot-difficulty");
      body.difficulty = difficulty.value || null;
      if (body.difficulty) title = `Add to honeypots (${body.difficulty})`;
    } else if (action === "set_ground_truths") {
      if (!(await ask(annotatorDialog))) return;
      const annotator = document.getElementById("dm-annotator");
      body.annotator = Number(annotator.value);
      title = `Set ground truths from ${annotator.selectedOptions[0].textContent.split(" · ")[0]}`;
    } else if (action === "delete_ground_truths") {
      document.getElementById("dm-delete-text").textContent =
        `The ground-truth mark is cleared on ${plural(count(), "selected task")}. ` +
        "The annotations stay, and the change is kept in the ground-truth history.";
      if (!(await ask(deleteDialog))) return;
    } else if (action === "assign_reviewers") {
      for (const box of reviewersDialog.querySelectorAll("input[name=reviewer]")) box.checked = false;
      if (!(await ask(reviewersDialog))) return;
      const picked = Array.from(reviewersDialog.querySelectorAll("input[name=reviewer]:checked"));
      if (!picked.length) {
        say(`${title}: pick at least one reviewer.`, true);
        return;
      }
      body.reviewers = picked.map((box) => Number(box.value));
      const names = picked.map((box) => box.parentElement.textContent.trim().split(/\s+/)[0]);
      title = `Assign ${names.join(", ")}`;
    }
    busy = true;
    sync();
    say("Working…", false);
    try {
      body.selectedItems = await selectedItems();
      const url = `/api/dm/actions?id=${encodeURIComponent(action)}&project=${data.project}`;
      const result = await assay.api("POST", url, body);
      clear();
      await refresh();
      say(describe(title, result), false);
    } catch (error) {
      say(`${title} failed: ${error.message}`, true);
    } finally {
      busy = false;
      sync();
      message.focus();
    }
  }

  // Sample ground truth from the selection into a new job (POST .../ground-truth/sample).
  async function sample() {
    affects(
      sampleDialog,
      `It draws from the ${plural(count(), "selected task")}, those without ground truth only.`,
    );
    if (!(await ask(sampleDialog))) return;
    const f = document.getElementById("dm-sample-form").elements;
    const body = { strategy: f.strategy.value, min_per_stratum: Number(f.min_per_stratum.value) };
    if (f.size.value === "count") body.count = Number(f.count.value);
    else body.fraction = Number(f.fraction.value) / 100;
    if (body.strategy === "stratified") body.strata = f.strata.value;
    busy = true;
    sync();
    say("Working…", false);
    try {
      body.task_ids = await selectedTaskIds();
      const r = await assay.api("POST", data.sample_url, body);
      clear();
      await refresh();
      const warnings = r.warnings.length ? ` ${r.warnings.join(" ")}` : "";
      say(
        `Sampled ${plural(r.sampled, "task")} of the ${r.population} selected without ground ` +
          `truth into the job “${r.job.title}” (${(100 * r.share).toFixed(1)} % of the ` +
          `project).${warnings} Open it from Jobs and ground-truth stages.`,
        false,
      );
      const link = document.createElement("a");
      link.href = data.jobs_url;
      link.id = "dm-sample-job";
      link.textContent = "Jobs →";
      message.append(" ", link);
    } catch (error) {
      say(`Sample ground truth failed: ${error.message}`, true);
    } finally {
      busy = false;
      sync();
      message.focus();
    }
  }

  // Create a job of the selection (POST /api/projects/{id}/jobs with selectedItems; the
  // server mixes in the honeypots). A refusal shows in the dialog, which stays open.
  function openJobDialog() {
    document.getElementById("dm-job-form").reset();
    document.getElementById("dm-job-error").hidden = true;
    affects(jobDialog, `The job holds the ${plural(count(), "selected task")}.`);
    jobDialog.showModal();
  }

  function jobError(text) {
    const error = document.getElementById("dm-job-error");
    error.textContent = text;
    error.hidden = false;
  }

  async function createJob(event) {
    event.preventDefault();
    const form = event.target;
    document.getElementById("dm-job-error").hidden = true;
    const picked = Array.from(form.querySelectorAll("input[name=assignee]:checked"));
    if (!picked.length) {
      jobError("Pick at least one assignee.");
      return;
    }
    const button = document.getElementById("dm-job-create");
    button.disabled = true;
    try {
      const job = await assay.api("POST", data.create_job_url, {
        title: form.elements.title.value.trim(),
        assignees: picked.map((box) => Number(box.value)),
        selectedItems: await selectedItems(),
      });
      jobDialog.close();
      clear();
      say(
        `Job ${job.id} created: ${plural(job.task_ids.length - job.honeypots, "task")} ` +
          `(+${plural(job.honeypots, "honeypot")}).`,
        false,
      );
      const link = document.createElement("a");
      link.href = data.jobs_url;
      link.id = "dm-job-link";
      link.textContent = "Jobs →";
      message.append(" ", link);
      message.focus();
    } catch (error) {
      jobError(`Create job failed: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  if (jobDialog) {
    document.getElementById("dm-job-form").addEventListener("submit", createJob);
    document.getElementById("dm-job-cancel").addEventListener("click", () => jobDialog.close());
  }

  for (const item of items) item.addEventListener("click", () => run(item));

  // Whether the selection is every task of the project (no filter, nothing unticked).
  function everyTask() {
    return selection.all && !filtered && !selection.ids.size;
  }

  // The selected task ids, ascending; under "all" they are listed from the server.
  async function selectedTaskIds() {
    if (!selection.all) return Array.from(selection.ids).sort((a, b) => a - b);
    const listed = await assay.api("GET", listUrl());
    return listed.tasks.map((t) => t.id).filter((id) => !selection.ids.has(id));
  }

  // For dm_consensus.js: what is selected.
  window.assayDataManager = { count, everyTask, selectedTaskIds };

  // Review the selection: its ids as ?tasks=, or the whole stream for every task.
  if (reviewLink) {
    reviewLink.addEventListener("click", async (event) => {
      if (!count() || everyTask()) return;
      event.preventDefault();
      try {
        const ids = await selectedTaskIds();
        location.assign(`${reviewLink.dataset.base}?tasks=${ids.join(",")}`);
      } catch (error) {
        say(`Could not list the selected tasks: ${error.message}`, true);
      }
    });
  }

  // Reload the counts and the table from the server, keeping the page (or page 1 if the
  // filter now has fewer pages).
  async function refresh() {
    let url = new URL(location.href);
    let response = await fetch(url, { credentials: "same-origin" });
    if (response.status === 404 && url.searchParams.has("page")) {
      url.searchParams.delete("page");
      response = await fetch(url, { credentials: "same-origin" });
      history.replaceState(null, "", url);
    }
    if (!response.ok || response.redirected) {
      location.reload();
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    table.replaceChildren(...fresh.getElementById("dm-table").childNodes);
    counts.replaceChildren(...fresh.getElementById("dm-counts").childNodes);
    data.total = JSON.parse(fresh.getElementById("dm-data").textContent).total;
    lastClicked = null;
  }

  sync();
  document.body.dataset.dmReady = "true";
})();
