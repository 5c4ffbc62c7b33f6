// Adjudication: the project's queue of tasks whose consensus tied or agreed too little, from
// GET /api/projects/{id}/adjudication/next (lowest consensus support first). The left pane starts with
// the consensus boxes (or an annotator's, or nothing: Start from); the lead edits them with the
// ground-truth editor's tools and saves them as the task's ground truth (Ctrl+Enter: POST
// /api/tasks/{id}/adjudicate), then the next task loads. The consensus, each annotator's
// annotation, the ground truth and the models are tabs shown read-only on the right. Loads
// after the editor_*.js modules.
"use strict";

(function () {
  const E = window.assayEditor;
  const $ = (id) => document.getElementById(id);
  const root = $("adj");
  const { config, left, right, picker, viewer } = E.openEditor("adjudication-config", onZoom);
  const state = {
    next: null, // the API's answer on screen: {task, consensus, remaining}
    sources: new Map(), // Start from: key -> result
    ready: false,
    busy: false,
  };
  const ed = E.createEditor(config, left, picker, {
    colours: new Map(Object.entries(config.colours)),
    ready: () => state.ready && !state.busy,
    onRender() {
      $("adj-box-count").textContent = `· ${E.countText(ed.boxes())}`;
      $("gt-delete").disabled = !ed.selected();
    },
  });
  const tabs = E.createCompareTabs($("adj-tabs"), right, viewer, left, {
    root, title: $("adj-compare-title"), count: $("adj-compare-count"), size: ed.size, look: ed.look,
  });

  const { run, showError } = E.createRunner(state, root, $("adj-message"), (busy) => {
    $("adj-save").disabled = busy || !state.next || !state.next.task;
  });
  const api = (method, url, body) => window.assay.api(method, url, body);
  const forTask = (template, id) => template.replace("{task}", encodeURIComponent(id));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;
  const person = (id) => config.people[String(id)] || `user ${id}`;
  const percent = (v) => `${Math.round(v * 100)} %`;

  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    ed.render();
    tabs.draw();
  }

  // -- loading ------------------------------------------------------------------------------

  function say(text) {
    $("gt-status").textContent = text;
  }

  async function next() {
    await show(await api("GET", config.urls.next));
  }

  async function show(nx) {
    state.next = nx;
    $("adj-remaining").textContent = `${nx.remaining} waiting`;
    if (!nx.task) {
      finished();
      return;
    }
    $("adj-message").hidden = true;
    const task = nx.task;
    const c = nx.consensus || {};
    state.ready = false;
    const before = ed.size();
    const size = await loadImage(task);
    if (size && !(size.w === before.w && size.h === before.h)) viewer.setSize(size);
    fillStartFrom(c);
    ed.load(state.sources.get($("adj-start-from").value) || [], size, task);
    state.ready = Boolean(size);
    $("adj-task").textContent = `Task #${task.id}`;
    $("adj-agreement").textContent =
      c.agreement == null ? "" : `· consensus support ${percent(c.agreement)}`;
    $("adj-tied").hidden = !c.tied;
    ed.render();
    makeTabs(nx);
    root.dataset.task = task.id;
    root.dataset.ready = "true";
  }

  function finished() {
    state.ready = false;
    $("gt-panes").hidden = true;
    tabs.hide();
    $("adj-finished").hidden = false;
    $("adj-finished-text").textContent =
      "Every task of the queue is adjudicated. Merging again may send new tasks here.";
    root.dataset.ready = "finished";
  }

  async function loadImage(task) {
    try {
      return await E.loadTaskImage(left, right, task, config.image_key);
    } catch (error) {
      showError(new Error(`${error.message} Save as GT keeps the regions as they are.`));
      return null;
    }
  }

  // -- start from and compare -------------------------------------------------------------------

  function fillStartFrom(c) {
    const select = $("adj-start-from");
    select.replaceChildren();
    state.sources = new Map();
    const add = (key, title, result) => {
      state.sources.set(key, result);
      select.add(new Option(`${title} · ${plural(result.length, "region", "regions")}`, key));
    };
    if (c.annotation) add("consensus", "Consensus", c.annotation.result || []);
    for (const a of c.annotations || []) add(`user:${a.completed_by}`, person(a.completed_by), a.result || []);
    add("empty", "Nothing", []);
    select.value = c.annotation ? "consensus" : "empty";
    select.dataset.value = select.value;
  }

  function onStartFrom() {
    const select = $("adj-start-from");
    select.blur();
    if (ed.dirty() && !confirm("Start over from these boxes? Your changes to this task are lost.")) {
      select.value = select.dataset.value;
      return;
    }
    select.dataset.value = select.value;
    ed.load(state.sources.get(select.value) || [], ed.size(), state.next.task);
    ed.render();
  }

  // The edited result alone, then the consensus, each annotator, the ground truth, the models.
  function makeTabs(nx) {
    const c = nx.consensus || {};
    const list = [{ key: "self", title: "Edited result only", result: null }];
    if (c.annotation) {
      list.push({ key: "consensus", title: "Consensus", result: c.annotation.result || [] });
    }
    for (const a of c.annotations || []) {
      list.push({ key: `user:${a.completed_by}`, title: person(a.completed_by), result: a.result || [] });
    }
    const gt = nx.task.annotations.find((a) => a.ground_truth);
    if (gt) list.push({ key: "gt", title: `Ground truth · ${person(gt.completed_by)}`, result: gt.result });
    for (const p of nx.task.predictions) {
      list.push({ key: `model:${p.model_version}`, title: `Model ${p.model_version || p.id}`,
        result: p.result });
    }
    tabs.set(list);
  }

  // -- saving ---------------------------------------------------------------------------------

  function save() {
    const task = state.next && state.next.task;
    if (!task || picker.isOpen()) return;
    run(async () => {
      const result = ed.result();
      await api("POST", forTask(config.urls.adjudicate, task.id), { result });
      say(`Task #${task.id} saved as ground truth, ${plural(result.length, "region", "regions")}.`);
      await next();
    });
  }

  // -- keyboard and buttons -------------------------------------------------------------------

  E.bindEditorKeys(ed, viewer, root, { blocked: () => picker.isOpen(), done: save });
  document.addEventListener("keydown", (event) => {
    const field = event.target.closest && event.target.closest("input, select, textarea");
    if (field || picker.isOpen() || event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^[1-9]$/.test(event.key)) tabs.choose(Number(event.key));
  });
  E.button("adj-save", save);
  E.bindToolbar(ed, viewer);
  $("adj-start-from").addEventListener("change", onStartFrom);

  run(next);
})();
