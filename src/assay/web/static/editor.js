// Ground-truth editor: the stage itself. It asks the JSON API for the job's next
// task, shows the starting regions on the left (what becomes ground truth) and a reference on
// the right, and sends Done (the regions in percent of the image) or goes Back. It loads last,
// after editor_geometry, editor_view, editor_picker, editor_tools and editor_keys.
"use strict";

(function () {
  const E = window.assayEditor;
  const G = E.geometry;
  const config = JSON.parse(document.getElementById("gt-config").textContent);
  const $ = (id) => document.getElementById(id);
  const root = $("gt-editor");
  const colours = new Map(config.labels.map((l) => [l.name, l.colour]));
  const left = new E.Pane($("gt-left"));
  const right = new E.Pane($("gt-right"));
  const picker = new E.LabelPicker($("gt-picker"), config.labels);
  const viewer = E.createViewer(left, right, onZoom);
  const state = {
    stage: null, // the API's answer for the task on screen
    revising: false, // the task is done already (reached with Back); Done sends revise
    boxes: [], // editable boxes, original pixels
    others: [], // regions of other controls: kept as they are
    selected: null,
    size: { w: 1, h: 1 }, // the image's natural size: the editor's pixels
    original: { w: 1, h: 1 }, // recorded as original_width/height
    ready: false,
    busy: false,
    dirty: false,
    startFrom: null, // the annotator the lead chose to start from, kept across tasks
    references: [],
    referenceKey: null, // the reference the lead chose, matched again on the next task
    lastLabel: null,
  };

  const ed = {
    ready: () => state.ready && !state.busy,
    size: () => state.size,
    find: (id) => state.boxes.find((b) => b.id === id) || null,
    selected: () => state.selected,
    select, add, changed, relabel,
    redraw: (box) => left.redraw(box, look()),
  };
  E.attachTools(left, ed);

  const api = (method, url, body) => window.assay.api(method, url, body);
  const forTask = (template, id) => template.replace("{task}", encodeURIComponent(id));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;

  function look(editable = true) {
    return { colourOf: (label) => colours.get(label), selected: state.selected, editable };
  }

  // -- boxes ------------------------------------------------------------------------------

  function render() {
    left.draw(state.boxes, look());
    const n = state.boxes.filter((b) => b.label).length;
    $("gt-box-count").textContent = `· ${plural(n, "box")}`;
    $("gt-done").textContent = n || state.others.length ? "Done" : "Done — empty";
    $("gt-delete").disabled = !state.selected;
  }

  // Outlines keep their width on screen, but tags and handles are sized per zoom.
  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    render();
    drawReference();
  }

  function select(id) {
    if (state.selected === id) return;
    state.selected = id;
    render();
  }

  function changed() {
    state.dirty = true;
    render();
  }

  function add(box) {
    state.boxes.push(box);
    state.selected = box.id;
    render();
    chooseLabel(box, true);
  }

  function remove(id) {
    state.boxes = state.boxes.filter((b) => b.id !== id);
    if (state.selected === id) state.selected = null;
    changed();
  }

  function relabel(id) {
    const box = ed.find(id);
    if (box) chooseLabel(box, false);
  }

  // The picker under the box; a new box that gets no label is dropped again.
  async function chooseLabel(box, isNew) {
    const r = left.svg.getBoundingClientRect();
    const x = r.left + (box.x * r.width) / state.size.w;
    const y = r.top + ((box.y + box.h) * r.height) / state.size.h;
    const label = await picker.open(x, y, box.label || state.lastLabel);
    if (label) {
      box.label = label;
      state.lastLabel = label;
      changed();
    } else if (isNew) {
      state.boxes = state.boxes.filter((b) => b !== box); // never labeled: no change
      state.selected = null;
      render();
    }
  }

  function nudge(box, dx, dy) {
    Object.assign(box, G.moved(box, dx, dy, state.size));
    changed();
  }

  function result() {
    const regionOf = (b) => G.regionOf(b, state.size, config.control, state.original);
    const regions = state.boxes.map(regionOf);
    return [...regions.filter(Boolean), ...state.others];
  }

  // -- loading tasks ----------------------------------------------------------------------

  async function run(work) {
    if (state.busy) return;
    setBusy(true);
    try {
      await work();
    } catch (error) {
      showError(error);
    } finally {
      setBusy(false);
    }
  }

  function setBusy(busy) {
    state.busy = busy;
    root.dataset.busy = String(busy);
    $("gt-done").disabled = busy;
    $("gt-back").disabled = busy;
  }

  function showError(error) {
    $("gt-message").textContent = error.message || String(error);
    $("gt-message").hidden = false;
  }

  function say(text) {
    $("gt-status").textContent = text;
  }

  async function next() {
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
    state.revising = Boolean(st.ground_truth);
    state.ready = false;
    state.selected = null;
    const size = await loadImage(st.task);
    setRegions(st.regions || [], size);
    if (size && !(same && size.w === state.size.w && size.h === state.size.h)) viewer.setSize(size);
    if (size) state.size = size;
    state.original = { w: st.task.width || state.size.w, h: st.task.height || state.size.h };
    state.ready = Boolean(size);
    state.dirty = false;
    showTask(st);
    render();
    await loadReferences(st);
    root.dataset.task = st.task.id;
    root.dataset.ready = "true";
  }

  // Both panes show the task's image; resolves to its size, or null when it cannot be shown.
  async function loadImage(task) {
    const value = task.data ? task.data[config.image_key] : null;
    const url = typeof value === "string" ? value.trim() : "";
    const keep = "Done keeps its regions as they are.";
    try {
      if (!/^(https?:|data:image\/)/i.test(url) && !url.startsWith("/")) {
        throw new Error(`Task ${task.id} has no image the editor can show. ${keep}`);
      }
      const [size] = await Promise.all([left.load(url), right.load(url).catch(() => null)]);
      return size;
    } catch (error) {
      const why = error.name === "EncodingError" || !error.message
        ? `The image of task ${task.id} could not be loaded (${url.slice(0, 80)}). ${keep}`
        : error.message;
      left.blank();
      right.blank();
      showError(new Error(why));
      return null;
    }
  }

  function setRegions(regions, size) {
    const mine = size ? regions.filter((r) => G.isBox(r, config.control)) : [];
    state.boxes = mine.map((r) => G.boxOf(r, size)).filter(Boolean);
    state.others = regions.filter((r) => !mine.includes(r));
  }

  function showTask(st) {
    const p = st.progress;
    $("gt-progress").max = p.total || 1;
    $("gt-progress").value = p.done;
    const percent = Math.round(p.done_percent);
    $("gt-progress-text").textContent = `${p.done} of ${p.total} done · ${percent} %`;
    $("gt-task").textContent = `Task #${st.task.id}`;
    $("gt-revising").hidden = !state.revising;
    fillStartFrom(st);
  }

  function person(id) {
    return config.people[String(id)] || `user ${id}`;
  }

  function fillStartFrom(st) {
    const select = $("gt-start-from");
    select.replaceChildren();
    const boxes = (result) => plural(result.length, "box");
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
    if (state.dirty && !confirm(lose)) {
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
    setRegions(source ? source.result : [], state.size);
    state.selected = null;
    state.dirty = select.value !== "gt";
    render();
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
      const n = ref.result.filter((r) => G.boxOf(r, state.size)).length;
      select.add(new Option(`${ref.title} · ${plural(n, "box")}`, String(i)));
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
    const boxes = ref ? ref.result.map((r) => G.boxOf(r, state.size)).filter(Boolean) : [];
    right.draw(boxes, look(false));
    $("gt-reference-count").textContent = `· ${plural(boxes.length, "box")}`;
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
    run(async () => {
      const st = state.stage;
      const body = { job: config.job.id, result: result(), revise: state.revising };
      const answer = await api("POST", forTask(config.urls.done, st.task.id), body);
      const regions = plural(body.result.length, "region", "regions");
      const how = answer.gt_status === "empty" ? "empty" : `done, ${regions}`;
      say(`Task #${st.task.id} saved as ${how}.`);
      await next();
    });
  }

  function back() {
    if (!state.stage || picker.isOpen()) return;
    if (state.dirty && !confirm("Go back without saving your changes to this task?")) return;
    const before = `?before=${encodeURIComponent(state.stage.task.id)}`;
    run(async () => show(await api("GET", config.urls.previous + before)));
  }

  // -- keyboard and buttons ---------------------------------------------------------------

  E.bindKeys({
    blocked: () => picker.isOpen(),
    space(held) {
      viewer.spaceHeld = held;
      root.classList.toggle("gt-space", held);
    },
    done,
    back,
    remove: () => state.selected && remove(state.selected),
    deselect: () => select(null),
    relabel: () => state.selected && relabel(state.selected),
    zoomIn: viewer.zoomIn,
    zoomOut: viewer.zoomOut,
    fit: viewer.fit,
    nudge(dx, dy) {
      const box = state.selected ? ed.find(state.selected) : null;
      if (box && ed.ready()) nudge(box, dx / viewer.zoom(), dy / viewer.zoom());
    },
  });

  function button(id, action) {
    $(id).addEventListener("click", () => {
      $(id).blur(); // Space is for panning, not for pressing the last button again
      action();
    });
  }

  button("gt-done", done);
  button("gt-back", back);
  button("gt-zoom-in", viewer.zoomIn);
  button("gt-zoom-out", viewer.zoomOut);
  button("gt-fit", viewer.fit);
  button("gt-delete", () => state.selected && remove(state.selected));
  $("gt-start-from").addEventListener("change", onStartFrom);
  $("gt-reference").addEventListener("change", onReference);

  if (config.start === "previous") run(async () => show(await api("GET", config.urls.previous)));
  else run(next);
})();
