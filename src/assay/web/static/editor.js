// Ground-truth editor: the stage itself. It asks the JSON API for the job's next
// task, shows the starting regions on the left (what becomes ground truth) and a reference on
// the right, and sends Done (the regions in percent of the image) or goes Back. It loads last,
// after the editor_*.js modules, whose panes, box editing and keys it uses.
// In re-check mode (config.mode "recheck") it walks a guideline's re-check queue instead: each
// waiting task opens with its GT; Confirm unchanged, Save (the edit becomes the GT's new
// revision) or Skip to the next waiting task.
"use strict";

(function () {
  const E = window.assayEditor;
  const G = E.geometry;
  const $ = (id) => document.getElementById(id);
  const root = $("gt-editor");
  const { config, left, right, picker, viewer } = E.openEditor("gt-config", onZoom);
  const recheck = config.mode === "recheck";
  const state = {
    stage: null, // the API's answer for the task on screen
    revising: false, // the task is done already (reached with Back); Done sends revise
    ready: false,
    busy: false,
    startFrom: null, // the annotator the lead chose to start from, kept across tasks
    references: [],
    referenceKey: null, // the reference the lead chose, matched again on the next task
  };
  const ed = E.createEditor(config, left, picker, {
    colours: new Map(config.labels.map((l) => [l.name, l.colour])),
    ready: () => state.ready && !state.busy,
    onRender() {
      const labeled = ed.boxes().filter((b) => b.label);
      $("gt-box-count").textContent = `· ${E.countText(labeled)}`;
      if (!recheck) {
        $("gt-done").textContent = labeled.length || ed.result().length ? "Done" : "Done — empty";
      }
      $("gt-delete").disabled = !ed.selected();
    },
  });

  const { run, showError } = E.createRunner(state, root, $("gt-message"), (busy) => {
    $("gt-done").disabled = busy;
    $("gt-back").disabled = busy;
    if (recheck) $("gt-confirm").disabled = busy;
  });
  const api = (method, url, body) => window.assay.api(method, url, body);
  const forTask = (template, id) => template.replace("{task}", encodeURIComponent(id));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;

  // Outlines keep their width on screen, but tags and handles are sized per zoom.
  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    ed.render();
    drawReference();
  }

  // -- loading tasks ----------------------------------------------------------------------

  function say(text) {
    $("gt-status").textContent = text;
  }

  async function next() {
    if (recheck) {
      await show(await api("GET", config.urls.next));
      return;
    }
    const from = state.startFrom;
    const query = from != null ? `?start_from=${encodeURIComponent(from)}` : "";
    await show(await api("GET", config.urls.next + query));
  }

  async function show(st) {
    if (st.complete) {
      root.dataset.ready = "complete";
      location.assign(config.urls.complete);
      return;
    }
    const same = state.stage && state.stage.task.id === st.task.id;
    $("gt-message").hidden = true;
    state.stage = st;
    state.revising = !recheck && Boolean(st.ground_truth);
    state.ready = false;
    const before = ed.size();
    const size = await loadImage(st.task);
    ed.load(st.regions || [], size, st.task);
    if (size && !(same && size.w === before.w && size.h === before.h)) viewer.setSize(size);
    state.ready = Boolean(size);
    showTask(st);
    ed.render();
    await loadReferences(st);
    root.dataset.task = st.task.id;
    root.dataset.ready = "true";
  }

  // Both panes show the task's image; resolves to its size, or null when it cannot be shown.
  async function loadImage(task) {
    try {
      return await E.loadTaskImage(left, right, task, config.image_key);
    } catch (error) {
      showError(new Error(`${error.message} Done keeps its regions as they are.`));
      return null;
    }
  }

  function showTask(st) {
    const p = st.progress;
    $("gt-progress").max = p.total || 1;
    $("gt-progress").value = p.done;
    const percent = Math.round(p.done_percent);
    const word = recheck ? "re-checked" : "done";
    $("gt-progress-text").textContent = `${p.done} of ${p.total} ${word} · ${percent} %`;
    $("gt-task").textContent = `Task #${st.task.id}`;
    if (recheck) {
      const r = st.recheck;
      $("gt-recheck-info").textContent =
        `· asked by guideline version ${r.guideline_version} · GT revision ${r.current_gt_revision}`;
    }
    $("gt-revising").hidden = !state.revising;
    fillStartFrom(st);
  }

  function person(id) {
    return config.people[String(id)] || `user ${id}`;
  }

  function fillStartFrom(st) {
    const select = $("gt-start-from");
    select.replaceChildren();
    const boxes = (result) => E.countText(result.map((r) => G.shapeOf(r, ed.size())).filter(Boolean));
    if (st.ground_truth) {
      select.add(new Option(`Saved ground truth · ${boxes(st.ground_truth.result)}`, "gt"));
    }
    for (const a of st.annotations) {
      const who = String(a.completed_by);
      select.add(new Option(`${person(a.completed_by)} · ${boxes(a.result)}`, who));
    }
    select.value = st.ground_truth ? "gt" : String(st.start_from);
    select.disabled = select.options.length < 2;
    select.dataset.value = select.value;
  }

  // Start from another annotator: a fresh GET next for an open task; after Back, locally.
  function onStartFrom() {
    const select = $("gt-start-from");
    select.blur();
    const lose = "Start over from these regions? Your changes to this task are lost.";
    if (ed.dirty() && !confirm(lose)) {
      select.value = select.dataset.value;
      return;
    }
    select.dataset.value = select.value;
    const st = state.stage;
    if (!state.revising) {
      state.startFrom = Number(select.value);
      run(next);
      return;
    }
    const source = select.value === "gt"
      ? st.ground_truth
      : st.annotations.find((a) => String(a.completed_by) === select.value);
    ed.load(source ? source.result : [], ed.size(), st.task);
    if (select.value !== "gt") ed.changed(); // not what was saved
    else ed.render();
  }

  // -- references -------------------------------------------------------------------------

  function referenceKey(ref) {
    if (ref.kind === "prediction") return `model:${ref.model_version}`;
    return `job:${ref.job}:${ref.annotator}`;
  }

  async function loadReferences(st) {
    state.references = await api("GET", forTask(config.urls.references, st.task.id));
    const select = $("gt-reference");
    select.replaceChildren(new Option("None", ""));
    state.references.forEach((ref, i) => {
      const shapes = ref.result.map((r) => G.shapeOf(r, ed.size())).filter(Boolean);
      select.add(new Option(`${ref.title} · ${E.countText(shapes)}`, String(i)));
    });
    select.value = String(defaultReference(st));
    showReference();
  }

  // The reference chosen before if this task has it, else the first other annotator's.
  function defaultReference(st) {
    const refs = state.references;
    if (state.referenceKey === "none") return "";
    const same = refs.findIndex((r) => referenceKey(r) === state.referenceKey);
    if (same >= 0) return same;
    const gtId = st.ground_truth ? st.ground_truth.id : null;
    const start = st.annotations.find((a) => a.completed_by === st.start_from);
    const isStart = (r) => r.kind === "annotation" && start && r.id === start.id;
    const other = refs.findIndex((r) => r.id !== gtId && !isStart(r));
    return other >= 0 ? other : "";
  }

  function chosenReference() {
    const value = $("gt-reference").value;
    return value === "" ? null : state.references[Number(value)] || null;
  }

  function showReference() {
    const ref = chosenReference();
    right.section.hidden = !ref;
    drawReference();
    if (!ref) return;
    $("gt-reference-title").textContent = ref.title;
    viewer.follow(left);
  }

  function drawReference() {
    const ref = chosenReference();
    const boxes = ref ? ref.result.map((r) => G.shapeOf(r, ed.size())).filter(Boolean) : [];
    right.draw(boxes, ed.look(false));
    $("gt-reference-count").textContent = `· ${E.countText(boxes)}`;
  }

  function onReference() {
    $("gt-reference").blur();
    const ref = chosenReference();
    state.referenceKey = ref ? referenceKey(ref) : "none";
    showReference();
  }

  // -- Done and Back ----------------------------------------------------------------------

  function done() {
    if (!state.stage || picker.isOpen()) return;
    if (recheck) {
      // nothing edited here: the server records a change made elsewhere, or says it has none
      resolve(ed.dirty() ? { confirm: false, result: ed.result() } : { confirm: false });
      return;
    }
    run(async () => {
      const st = state.stage;
      const body = { job: config.job.id, result: ed.result(), revise: state.revising };
      const answer = await api("POST", forTask(config.urls.done, st.task.id), body);
      const regions = plural(body.result.length, "region", "regions");
      const how = answer.gt_status === "empty" ? "empty" : `done, ${regions}`;
      say(`Task #${st.task.id} saved as ${how}.`);
      await next();
    });
  }

  // Re-check: record the task's GT unchanged, or the edit on screen as its new revision.
  function resolve(body) {
    run(async () => {
      const st = state.stage;
      const answer = await api("POST", forTask(config.urls.resolve, st.task.id), body);
      const how = answer.status === "confirmed"
        ? "confirmed unchanged"
        : `saved as GT revision ${answer.resolved_revision}`;
      say(`Task #${st.task.id} ${how}.`);
      await next();
    });
  }

  function confirmUnchanged() {
    if (!state.stage || picker.isOpen()) return;
    if (ed.dirty() && !confirm("Confirm the GT unchanged and drop your edits to this task?")) return;
    resolve({ confirm: true });
  }

  function skip() {
    if (ed.dirty() && !confirm("Skip this task without saving your changes?")) return;
    const after = `?after=${encodeURIComponent(state.stage.task.id)}`;
    run(async () => show(await api("GET", config.urls.next + after)));
  }

  function back() {
    if (!state.stage || picker.isOpen()) return;
    if (recheck) {
      skip();
      return;
    }
    if (ed.dirty() && !confirm("Go back without saving your changes to this task?")) return;
    const before = `?before=${encodeURIComponent(state.stage.task.id)}`;
    run(async () => show(await api("GET", config.urls.previous + before)));
  }

  // -- keyboard and buttons ---------------------------------------------------------------

  E.bindEditorKeys(ed, viewer, root, { blocked: () => picker.isOpen(), done, back });
  E.button("gt-done", done);
  E.button("gt-back", back);
  if (recheck) E.button("gt-confirm", confirmUnchanged);
  E.bindToolbar(ed, viewer);
  $("gt-start-from").addEventListener("change", onStartFrom);
  $("gt-reference").addEventListener("change", onReference);

  if (config.start === "previous") run(async () => show(await api("GET", config.urls.previous)));
  else run(next);
})();
