// Annotate a job: the assignee's queue in the ground-truth editor's box editor. It asks the
// JSON API for the next task of the job, sends the boxes (Submit), a skip with its reason
// (Skip) or goes Back to a task worked on before to revise it; when the queue is empty it
// hands the job in and shows the feedback. Every task is treated alike: the page never knows
// which tasks are checks. Flag as ambiguous sends the task to the edge-case log; the guideline
// in force (rendered by the server) says what changed since last read. Loads last.
"use strict";

(function () {
  const E = window.assayEditor;
  const $ = (id) => document.getElementById(id);
  const root = $("an-editor");
  const { config, left, right, picker, viewer } = E.openEditor("an-config", onZoom);
  const clock = E.createActiveClock(60); // time on task, sent with each save
  const state = {
    task: null, // the task on screen (the API's task JSON), null at the hand-in
    annotation: null, // the person's annotation of it in this job, when revising
    at: -1, // its index in workedOn when revising, -1 for a task of the queue
    workedOn: config.worked_on.slice(), // task ids annotated or skipped in this job, in order
    remaining: null, // tasks left in the queue, from the last GET next
    ready: false,
    busy: false,
  };
  const ed = E.createEditor(config, left, picker, {
    colours: new Map(config.labels.map((l) => [l.name, l.colour])),
    ready: () => state.ready && !state.busy,
    onRender() {
      $("an-box-count").textContent = `· ${E.countText(ed.boxes().filter((b) => b.label))}`;
      $("gt-delete").disabled = !ed.selected();
      $("an-undo").disabled = !ed.canUndo();
      root.dataset.dirty = String(ed.dirty());
    },
  });
  const { run, showError } = E.createRunner(state, root, $("an-message"), (busy) => {
    for (const id of ["an-submit", "an-skip", "an-back", "an-handin-button", "an-revise"]) {
      $(id).disabled = busy;
    }
  });
  const api = (method, url, body) => window.assay.api(method, url, body);
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(values[key]));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;

  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    ed.render();
  }

  function say(text) {
    $("an-said").textContent = text;
  }

  // -- loading tasks ----------------------------------------------------------------------

  async function next() {
    const answer = await api("GET", config.urls.next);
    state.remaining = answer.remaining;
    if (answer.closed) return closedView(answer.detail);
    if (answer.complete) return handInView();
    if (answer.rework) return show(answer.task, answer.rework.annotation, -1, null, answer.rework);
    return show(answer.task, null, -1, answer.prefill);
  }

  // Rejected work back in the queue: why, and by whom, above the editor.
  function showRework(rework) {
    $("an-rework").hidden = !rework;
    root.dataset.rework = String(Boolean(rework));
    if (!rework) return;
    $("an-rework-reason").textContent = rework.reason || "other";
    $("an-rework-comment").textContent = rework.comment || "";
    $("an-rework-comment").hidden = !rework.comment;
    $("an-rework-reviewer").textContent = rework.reviewer.name;
  }

  // A task worked on before: the task and the person's own annotation of it in this job.
  async function revisit(i) {
    const task = await api("GET", fill(config.urls.task, { task: state.workedOn[i] }));
    const own = task.annotations.filter(
      (a) => a.job === config.job.id && a.completed_by === config.me,
    );
    return show(task, own.length ? own[own.length - 1] : null, i);
  }

  // `prefill`: the regions a new annotation starts from (the task's prediction, when the
  // project prelabels with predictions), else it starts empty.
  async function show(task, annotation, at, prefill = null, rework = null) {
    $("an-message").hidden = true;
    showRework(rework);
    closeSkip();
    $("an-handin").hidden = true;
    $("an-panes").hidden = false;
    state.task = task;
    state.annotation = annotation;
    state.at = at;
    state.ready = false;
    const size = await loadImage(task);
    const own = annotation && !annotation.was_cancelled ? annotation.result : null;
    const regions = annotation ? own || [] : prefill || [];
    ed.load(regions, size, task);
    if (size) viewer.setSize(size);
    state.ready = Boolean(size);
    clock.start();
    showTask();
    ed.render();
    await showMyCases(task.id);
    root.dataset.task = String(task.id);
    root.dataset.revising = String(at >= 0);
    root.dataset.prefilled = String(!annotation && Boolean(prefill && prefill.length));
    root.dataset.ready = "true";
  }

  async function loadImage(task) {
    try {
      return await E.loadTaskImage(left, right, task, config.image_key);
    } catch (error) {
      showError(error);
      return null;
    }
  }

  function showTask() {
    const total = config.total;
    const done = state.remaining == null ? state.workedOn.length : total - state.remaining;
    $("an-progress").max = total || 1;
    $("an-progress").value = done;
    $("an-progress-text").textContent = `${done} of ${total}`;
    $("an-task").textContent = `Task #${state.task.id}`;
    const skipped = state.annotation && state.annotation.was_cancelled;
    $("an-revising").hidden = state.at < 0;
    $("an-revising").textContent = skipped ? "revising · skipped" : "revising";
  }

  // -- Submit, Skip, Back -----------------------------------------------------------------

  function canAct() {
    return state.task && state.ready && !state.busy && !picker.isOpen();
  }

  // Store the task's answer: a new annotation in this job, or a change of the one revised,
  // with the time spent on it (a revision adds this visit's time to the annotation's).
  async function save(body) {
    const spent = clock.readings();
    if (state.annotation) {
      const before = state.annotation;
      const url = fill(config.urls.annotation, { annotation: before.id });
      await api("PATCH", url, {
        ...body,
        lead_time: (before.lead_time || 0) + spent.lead_time,
        active_time: Math.min(
          (before.active_time || 0) + spent.active_time,
          (before.lead_time || 0) + spent.lead_time,
        ),
      });
    } else {
      const url = fill(config.urls.annotations, { task: state.task.id });
      await api("POST", url, { job: config.job.id, ...body, ...spent });
      state.workedOn.push(state.task.id);
    }
  }

  // After a save: the next task revised in order, else the queue's next.
  async function advance() {
    if (state.at >= 0 && state.at + 1 < state.workedOn.length) return revisit(state.at + 1);
    return next();
  }

  function submit() {
    if (!canAct()) return;
    run(async () => {
      const result = ed.result();
      await save({ result, was_cancelled: false, skip_reason: null });
      say(`Task #${state.task.id} submitted, ${plural(result.length, "region", "regions")}.`);
      await advance();
    });
  }

  function openSkip() {
    if (!canAct()) return;
    $("an-skip-form").hidden = false;
    $("an-skip-reason").focus();
  }

  function closeSkip() {
    $("an-skip-form").hidden = true;
    $("an-skip-reason").value = "";
  }

  function skip(event) {
    event.preventDefault();
    const reason = $("an-skip-reason").value.trim();
    if (!reason || !state.task) return;
    run(async () => {
      await save({ result: [], was_cancelled: true, skip_reason: reason });
      say(`Task #${state.task.id} skipped.`);
      closeSkip();
      await advance();
    });
  }

  function back() {
    if (state.busy || picker.isOpen()) return;
    const i = state.at >= 0 ? state.at - 1 : state.workedOn.length - 1;
    if (i < 0) {
      say("There is no task before this one.");
      return;
    }
    if (state.task && ed.dirty() && !confirm("Go back without saving your changes to this task?")) {
      return;
    }
    run(() => revisit(i));
  }

  // -- the hand-in ------------------------------------------------------------------------

  // A lead accepted the job: nothing more to do in it.
  function closedView(detail) {
    state.task = null;
    state.ready = false;
    showRework(null);
    $("an-panes").hidden = true;
    $("an-handin").hidden = false;
    $("an-status").textContent = "closed";
    $("an-intro").textContent = detail;
    for (const id of ["an-score", "an-hints", "an-attempts", "an-handin-button", "an-revise"]) {
      $(id).hidden = true;
    }
    root.dataset.status = "closed";
    root.dataset.ready = "complete";
  }

  async function handInView() {
    showRework(null);
    state.task = null;
    state.ready = false;
    state.at = -1;
    showFeedback(await api("GET", config.urls.feedback));
  }

  function showFeedback(fb) {
    closeSkip();
    $("an-panes").hidden = true;
    $("an-handin").hidden = false;
    $("an-status").textContent = config.status_titles[fb.status] || fb.status;
    const intro = {
      open: "You worked through every task of this job. Hand it in to get your score.",
      needs_fixes: "Please look over your work in this job again, fix it, then hand it in once more.",
      to_lead: "The job went to a lead, who will look at it with you.",
      accepted: "Thank you: the job is accepted.",
    };
    $("an-intro").textContent = intro[fb.status] || "";
    const score = fb.score == null ? "" : `Your score on the checks: ${Math.round(fb.score * 100)} % (target ${Math.round(fb.target * 100)} %).`;
    $("an-score").textContent = score;
    $("an-score").hidden = !score;
    $("an-hints").replaceChildren(
      ...fb.hints.map((hint) => Object.assign(document.createElement("li"), { textContent: hint })),
    );
    $("an-hints").hidden = !fb.hints.length;
    const fixing = fb.status === "needs_fixes";
    $("an-attempts").textContent = fixing ? `${plural(fb.attempts_left, "attempt", "attempts")} left.` : "";
    $("an-attempts").hidden = !fixing;
    const open = fb.status === "open" || fixing;
    $("an-handin-button").hidden = !open;
    $("an-revise").hidden = !open || !state.workedOn.length;
    showProgressDone();
    root.dataset.status = fb.status;
    root.dataset.ready = "complete";
  }

  function showProgressDone() {
    $("an-progress").max = config.total || 1;
    $("an-progress").value = config.total;
    $("an-progress-text").textContent = `${config.total} of ${config.total}`;
  }

  function handIn() {
    run(async () => showFeedback(await api("POST", config.urls.submit)));
  }

  // "Needs fixes" reopens the queue: the tasks worked on, from the first one.
  function revise() {
    if (!state.workedOn.length) return;
    run(() => revisit(0));
  }

  // -- the guideline and edge cases ------------------------------------------------------

  function openFlag() {
    if (!state.task) return;
    $("an-flag-form").hidden = false;
    $("an-flag-comment").focus();
  }

  // Her own flags on the task on screen (by the id she knows it by) and the lead's answers.
  async function showMyCases(id) {
    let cases = [];
    try {
      cases = (await api("GET", fill(config.urls.my_edge_cases, { task: id }))).results;
    } catch (error) {
      cases = []; // the editor works on without them
    }
    const list = $("an-cases-list");
    list.replaceChildren(...cases.map((c) => {
      const item = document.createElement("li");
      item.dataset.case = String(c.id);
      item.dataset.status = c.status;
      const asked = document.createElement("span");
      asked.textContent = `“${c.comment}”`;
      const reply = document.createElement("span");
      reply.className = c.answer ? "an-case-answer" : "muted";
      const settled = c.guideline_version ? ` (settled in guideline version ${c.guideline_version})` : "";
      reply.textContent = c.answer
        ? ` Lead's answer: ${c.answer}${settled}`
        : c.status === "resolved" ? ` Settled in guideline version ${c.guideline_version}.`
        : " Waiting for the lead's answer.";
      item.append(asked, reply);
      return item;
    }));
    $("an-cases").hidden = cases.length === 0;
  }

  function closeFlag() {
    $("an-flag-form").hidden = true;
    $("an-flag-comment").value = "";
  }

  function flag(event) {
    event.preventDefault();
    const comment = $("an-flag-comment").value.trim();
    if (!comment || !state.task) return;
    const id = state.task.id;
    run(async () => {
      await api("POST", fill(config.urls.edge_cases, { task: id }), { comment });
      closeFlag();
      say(`Task #${id} flagged as ambiguous: the lead will answer.`);
      await showMyCases(id);
    });
  }

  function guidelineRead() {
    run(async () => {
      await api("POST", config.urls.guideline_read, {});
      $("an-guideline-changes").hidden = true;
      const badge = $("an-guideline-updated");
      if (badge) badge.hidden = true;
    });
  }

  // -- keyboard, buttons, leaving ---------------------------------------------------------

  E.bindEditorKeys(ed, viewer, root, {
    blocked: () => picker.isOpen(),
    done: submit,
    back,
    undo: () => state.task && ed.undo(),
    keys: { s: openSkip },
  });
  E.button("an-submit", submit);
  E.button("an-back", back);
  E.button("an-skip", openSkip);
  E.button("an-undo", () => ed.undo());
  E.button("an-skip-cancel", closeSkip);
  E.button("an-flag", openFlag);
  E.button("an-flag-cancel", closeFlag);
  if ($("an-guideline-read")) E.button("an-guideline-read", guidelineRead);
  $("an-flag-form").addEventListener("submit", flag);
  E.button("an-handin-button", handIn);
  E.button("an-revise", revise);
  E.bindToolbar(ed, viewer);
  $("an-skip-form").addEventListener("submit", skip);
  $("an-skip-reason").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeSkip();
  });
  window.addEventListener("beforeunload", (event) => {
    if (!state.task || !ed.dirty()) return;
    event.preventDefault();
    event.returnValue = ""; // the browser asks whether to leave with unsaved boxes
  });

  run(next);
})();
