// Review stream: one annotation at a time, from GET /api/projects/{id}/review/next. The
// reviewer accepts (A), fixes & accepts (F: the ground-truth editor's tools on this
// annotation's boxes, then Save) or rejects with a reason and a comment (R); then the next one loads.
// Other annotations of the task, its ground truth and the model predictions are tabs shown
// read-only on the right. Loads after the editor_*.js modules, whose panes, box editing,
// compare tabs and keys it reuses.
"use strict";

(function () {
  const E = window.assayEditor;
  const $ = (id) => document.getElementById(id);
  const root = $("rv");
  const { config, left, right, picker, viewer } = E.openEditor("review-config", onZoom);
  const rejectForm = $("rv-reject-form");
  const STATUS_TEXT = { none: "not reviewed", accepted: "accepted", fixed: "fixed", rejected: "rejected" };
  const state = {
    next: null, // the API's answer on screen: {annotation, task, remaining, total, reviewed}
    ready: false,
    busy: false,
    fixing: false,
  };
  const ed = E.createEditor(config, left, picker, {
    colours: new Map(Object.entries(config.colours)),
    ready: () => state.ready && !state.busy && state.fixing,
    editable: () => state.fixing,
    onRender() {
      $("rv-box-count").textContent = `· ${E.countText(ed.boxes())}`;
      $("gt-delete").disabled = !ed.selected();
    },
  });
  const tabs = E.createCompareTabs($("rv-tabs"), right, viewer, left, {
    root, title: $("rv-compare-title"), count: $("rv-compare-count"), size: ed.size, look: ed.look,
  });

  const { run, showError } = E.createRunner(state, root, $("rv-message"), (busy) => {
    const off = busy || !state.next || !state.next.annotation;
    for (const id of ["rv-accept", "rv-fix", "rv-reject", "rv-fix-save", "rv-fix-cancel"]) {
      $(id).disabled = off;
    }
    $("rv-undo").disabled = busy || !state.lastReview;
  });
  const api = (method, url, body) => window.assay.api(method, url, body);
  const forAnnotation = (template, id) => template.replace("{annotation}", encodeURIComponent(id));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;
  const person = (id) => config.people[String(id)] || `user ${id}`;

  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    ed.render();
    tabs.draw();
  }

  // -- loading ------------------------------------------------------------------------------

  function say(text) {
    $("gt-status").textContent = text;
  }

  function query() {
    const q = new URLSearchParams({ order: $("rv-order").value });
    if ($("rv-annotator").value) q.set("annotator", $("rv-annotator").value);
    if (config.tasks) q.set("tasks", config.tasks.join(","));
    return q;
  }

  async function next() {
    show(await api("GET", `${config.urls.next}?${query()}`));
  }

  async function show(nx) {
    state.next = nx;
    setFixing(false);
    progress(nx);
    if (!nx.annotation) {
      finished(nx);
      return;
    }
    $("rv-message").hidden = true;
    const ann = nx.annotation;
    const task = nx.task;
    state.ready = false;
    const same = ed.size();
    const size = await loadImage(task);
    ed.load(ann.result || [], size, task);
    if (size && !(size.w === same.w && size.h === same.h)) viewer.setSize(size);
    state.ready = Boolean(size);
    $("rv-title").textContent = `${person(ann.completed_by)} · #${ann.id}`;
    $("rv-task").textContent = `Task #${task.id}`;
    const badge = $("rv-status-badge");
    badge.textContent = STATUS_TEXT[ann.review_status] || ann.review_status;
    badge.className = `badge rv-${ann.review_status}`;
    ed.render();
    makeTabs(nx);
    showAccuracy(ann);
    root.dataset.annotation = ann.id;
    root.dataset.task = task.id;
    root.dataset.ready = "true";
  }

  function progress(nx) {
    $("rv-progress").max = nx.total || 1;
    $("rv-progress").value = nx.reviewed;
    $("rv-progress-text").textContent = `${nx.reviewed} of ${nx.total} reviewed`;
  }

  function finished(nx) {
    state.ready = false;
    $("gt-panes").hidden = true;
    tabs.hide();
    $("rv-finished").hidden = false;
    $("rv-finished-text").textContent = nx.total
      ? `You have reviewed all ${plural(nx.total, "annotation", "annotations")} of this stream.`
      : "No annotations in this stream: nothing to review.";
    root.dataset.ready = "finished";
  }

  async function loadImage(task) {
    try {
      return await E.loadTaskImage(left, right, task, config.image_key);
    } catch (error) {
      showError(new Error(`${error.message} Accept and Reject still work.`));
      return null;
    }
  }

  async function showAccuracy(ann) {
    const out = $("rv-accuracy");
    out.textContent = "";
    if (!config.sees_quality) return;
    try {
      const q = await api("GET", forAnnotation(config.urls.quality, ann.id));
      if (state.next.annotation !== ann) return;
      out.textContent = q.scored && q.accuracy !== null
        ? `· accuracy vs GT ${Math.round(q.accuracy * 100)} %`
        : "· no GT to score against";
    } catch (error) {
      out.textContent = "";
    }
  }

  // The annotation alone, then the task's ground truth, its other annotations and the models.
  function makeTabs(nx) {
    const ann = nx.annotation;
    const list = [{ key: "self", title: "This annotation only", result: null }];
    const anns = nx.task.annotations.filter((a) => a.id !== ann.id && !a.was_cancelled);
    anns.sort((a, b) => Number(Boolean(b.ground_truth)) - Number(Boolean(a.ground_truth)));
    for (const a of anns) {
      const gt = a.ground_truth ? "Ground truth · " : "";
      list.push({ key: a.ground_truth ? "gt" : `user:${a.completed_by}`,
        title: `${gt}${person(a.completed_by)}`, result: a.result });
    }
    for (const p of nx.task.predictions) {
      list.push({ key: `model:${p.model_version}`, title: `Model ${p.model_version || p.id}`,
        result: p.result });
    }
    tabs.set(list);
  }

  // -- verdicts -------------------------------------------------------------------------------

  function verdict(body, done) {
    const ann = state.next && state.next.annotation;
    if (!ann) return;
    run(async () => {
      const review = await api("POST", forAnnotation(config.urls.review, ann.id), body);
      state.lastReview = { id: review.id, annotation: ann.id };
      say(`#${ann.id} ${done}. Undo with U.`);
      await next();
    });
  }

  // Takes the last verdict back (a fix restores the annotator's boxes); the stream then
  // offers that annotation again, in its order.
  function undo() {
    const last = state.lastReview;
    if (!last || state.fixing || !rejectForm.hidden) return;
    run(async () => {
      await api("POST", config.urls.undo.replace("{review}", last.id));
      state.lastReview = null;
      say(`Review of #${last.annotation} undone.`);
      await next();
    });
  }

  function accept() {
    if (canAct()) verdict({ action: "accept" }, "accepted");
  }

  function canAct() {
    return state.next && state.next.annotation && !state.busy && !state.fixing &&
      rejectForm.hidden;
  }

  function openReject() {
    if (!canAct()) return;
    rejectForm.hidden = false;
    $("rv-comment").value = "";
    $("rv-reason").selectedIndex = 0;
    $("rv-reason").focus();
  }

  function closeReject() {
    rejectForm.hidden = true;
  }

  rejectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("rv-reason").value;
    const comment = $("rv-comment").value.trim();
    if (!comment && reason === "other") {
      $("rv-comment").focus(); // "other" says nothing by itself: the comment does
      return;
    }
    closeReject();
    verdict({ action: "reject", reason, comment }, "rejected");
  });
  rejectForm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeReject();
    }
  });
  $("rv-reject-cancel").addEventListener("click", closeReject);

  function setFixing(on) {
    state.fixing = on;
    ed.select(null);
    root.dataset.mode = on ? "fix" : "view";
    $("rv-verdicts").hidden = on;
    $("rv-fixing").hidden = !on;
    $("rv-title").classList.toggle("rv-editing", on);
  }

  function startFix() {
    if (!canAct() || !(config.tools.length || config.fields.length) || !state.ready) return;
    setFixing(true);
    ed.render();
    say("Fixing: edit the boxes, then Save fix & accept.");
  }

  function cancelFix() {
    if (!state.fixing) return;
    ed.load(state.next.annotation.result || [], ed.size(), state.next.task);
    setFixing(false);
    ed.render();
    say("");
  }

  function saveFix() {
    if (!state.fixing || picker.isOpen()) return;
    verdict({ action: "fix_accept", result: ed.result() }, "fixed and accepted");
  }

  // -- keyboard and buttons -------------------------------------------------------------------

  E.bindEditorKeys(ed, viewer, root, {
    blocked: () => picker.isOpen() || !rejectForm.hidden,
    done: saveFix,
  });

  const VERDICT_KEYS = { a: accept, f: startFix, r: openReject, u: undo };
  document.addEventListener("keydown", (event) => {
    const field = event.target.closest && event.target.closest("input, select, textarea");
    if (field || picker.isOpen() || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (VERDICT_KEYS[key] && !state.fixing) {
      event.preventDefault(); // R must not also type an "r" into the comment it opens
      VERDICT_KEYS[key]();
    } else if (/^[1-9]$/.test(key) && !state.fixing && rejectForm.hidden) {
      tabs.choose(Number(key));
    }
  });

  E.button("rv-accept", accept);
  E.button("rv-fix", startFix);
  E.button("rv-reject", openReject);
  E.button("rv-undo", undo);
  E.button("rv-fix-save", saveFix);
  E.button("rv-fix-cancel", cancelFix);
  E.bindToolbar(ed, viewer);

  // A new order or annotator is a new stream: reload with it in the address, so it can be
  // bookmarked and shared.
  for (const id of ["rv-order", "rv-annotator"]) {
    $(id).addEventListener("change", () => {
      location.assign(`${location.pathname}?${query()}`);
    });
  }

  run(next);
})();
