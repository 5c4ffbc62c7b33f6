// Review stream: one annotation at a time, from GET /api/projects/{id}/review/next. The
// reviewer accepts (A), fixes & accepts (F: the ground-truth editor's tools on this
// annotation's boxes, then Save) or rejects with a comment (R); then the next one loads.
// Other annotations of the task, its ground truth and the model predictions are tabs shown
// read-only on the right. Loads after editor_geometry, editor_view, editor_picker,
// editor_tools and editor_keys, whose panes, tools and keys it reuses.
"use strict";

(function () {
  const E = window.assayEditor;
  const G = E.geometry;
  const config = JSON.parse(document.getElementById("review-config").textContent);
  const $ = (id) => document.getElementById(id);
  const root = $("rv");
  const colours = new Map(Object.entries(config.colours));
  const left = new E.Pane($("gt-left"));
  const right = new E.Pane($("gt-right"));
  const picker = new E.LabelPicker($("gt-picker"), config.labels);
  const viewer = E.createViewer(left, right, onZoom);
  const rejectForm = $("rv-reject-form");
  const STATUS_TEXT = { none: "not reviewed", accepted: "accepted", fixed: "fixed", rejected: "rejected" };
  const state = {
    next: null, // the API's answer on screen: {annotation, task, remaining, total, reviewed}
    boxes: [], // the annotation's boxes (editable while fixing), original pixels
    others: [], // its regions the editor does not edit: kept as they are
    selected: null,
    size: { w: 1, h: 1 },
    original: { w: 1, h: 1 },
    ready: false,
    busy: false,
    fixing: false,
    dirty: false,
    tabs: [], // [{key, title, result}] to compare with; index 0 is the annotation itself
    compare: null, // key of the tab shown on the right, kept across annotations when it exists
    lastLabel: null,
  };

  const ed = {
    ready: () => state.ready && !state.busy && state.fixing,
    size: () => state.size,
    find: (id) => state.boxes.find((b) => b.id === id) || null,
    selected: () => state.selected,
    select,
    add,
    changed,
    relabel,
    redraw: (box) => left.redraw(box, look(true)),
  };
  if (config.control) E.attachTools(left, ed);

  const api = (method, url, body) => window.assay.api(method, url, body);
  const forAnnotation = (template, id) => template.replace("{annotation}", encodeURIComponent(id));
  const plural = (n, word, many = `${word}es`) => `${n} ${n === 1 ? word : many}`;
  const person = (id) => config.people[String(id)] || `user ${id}`;

  function look(editable) {
    return { colourOf: (label) => colours.get(label), selected: state.selected, editable };
  }

  // -- the annotation's boxes ---------------------------------------------------------------

  function render() {
    left.draw(state.boxes, look(state.fixing));
    $("rv-box-count").textContent = `· ${plural(state.boxes.length, "box")}`;
    $("gt-delete").disabled = !state.selected;
  }

  function onZoom(z) {
    $("gt-zoom").textContent = `${Math.round(z * 100)} %`;
    render();
    drawCompare();
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
      state.boxes = state.boxes.filter((b) => b !== box);
      state.selected = null;
      render();
    }
  }

  function setRegions(regions, size) {
    const mine = size && config.control ? regions.filter((r) => G.isBox(r, config.control)) : [];
    state.boxes = mine.map((r) => G.boxOf(r, size)).filter(Boolean);
    state.others = regions.filter((r) => !mine.includes(r)); // go back untouched
  }

  function result() {
    const regionOf = (b) => G.regionOf(b, state.size, config.control, state.original);
    const regions = state.boxes.map(regionOf);
    return [...regions.filter(Boolean), ...state.others];
  }

  // -- loading ------------------------------------------------------------------------------

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
    const off = busy || !state.next || !state.next.annotation;
    for (const id of ["rv-accept", "rv-fix", "rv-reject", "rv-fix-save", "rv-fix-cancel"]) {
      $(id).disabled = off;
    }
  }

  function showError(error) {
    $("rv-message").textContent = error.message || String(error);
    $("rv-message").hidden = false;
  }

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
    state.selected = null;
    const same = state.size;
    const size = await loadImage(task);
    setRegions(ann.result || [], size);
    if (size && !(size.w === same.w && size.h === same.h)) viewer.setSize(size);
    if (size) state.size = size;
    state.original = { w: task.width || state.size.w, h: task.height || state.size.h };
    state.ready = Boolean(size);
    state.dirty = false;
    $("rv-title").textContent = `${person(ann.completed_by)} · #${ann.id}`;
    $("rv-task").textContent = `Task #${task.id}`;
    const badge = $("rv-status-badge");
    badge.textContent = STATUS_TEXT[ann.review_status] || ann.review_status;
    badge.className = `badge rv-${ann.review_status}`;
    render();
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
    $("rv-tabs").hidden = true;
    $("rv-finished").hidden = false;
    $("rv-finished-text").textContent = nx.total
      ? `You have reviewed all ${plural(nx.total, "annotation", "annotations")} of this stream.`
      : "No annotations in this stream: nothing to review.";
    root.dataset.ready = "finished";
  }

  async function loadImage(task) {
    const value = task.data && config.image_key ? task.data[config.image_key] : null;
    const url = typeof value === "string" ? value.trim() : "";
    try {
      if (!/^(https?:|data:image\/)/i.test(url) && !url.startsWith("/")) {
        throw new Error(`Task ${task.id} has no image the page can show.`);
      }
      const [size] = await Promise.all([left.load(url), right.load(url).catch(() => null)]);
      return size;
    } catch (error) {
      left.blank();
      right.blank();
      const why = error.name === "EncodingError" || !error.message
        ? `The image of task ${task.id} could not be loaded (${url.slice(0, 80)}).`
        : error.message;
      showError(new Error(`${why} Accept and Reject still work.`));
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

  // -- compare tabs ---------------------------------------------------------------------------

  function makeTabs(nx) {
    const ann = nx.annotation;
    const tabs = [{ key: "self", title: "This annotation only", result: null }];
    const anns = nx.task.annotations.filter((a) => a.id !== ann.id && !a.was_cancelled);
    anns.sort((a, b) => Number(Boolean(b.ground_truth)) - Number(Boolean(a.ground_truth)));
    for (const a of anns) {
      const gt = a.ground_truth ? "Ground truth · " : "";
      tabs.push({ key: a.ground_truth ? "gt" : `user:${a.completed_by}`,
        title: `${gt}${person(a.completed_by)}`, result: a.result });
    }
    for (const p of nx.task.predictions) {
      tabs.push({ key: `model:${p.model_version}`, title: `Model ${p.model_version || p.id}`,
        result: p.result });
    }
    state.tabs = tabs;
    const nav = $("rv-tabs");
    nav.replaceChildren();
    tabs.forEach((tab, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "tab");
      b.dataset.key = tab.key;
      b.dataset.index = String(i);
      const n = tab.result ? tab.result.filter((r) => G.boxOf(r, state.size)).length : null;
      b.textContent = tab.result ? `${i}. ${tab.title} · ${plural(n, "box")}` : tab.title;
      b.addEventListener("click", () => {
        b.blur();
        chooseTab(i);
      });
      nav.appendChild(b);
    });
    nav.hidden = tabs.length < 2;
    const keep = tabs.findIndex((t) => t.key === state.compare);
    showTab(keep >= 0 ? keep : 0);
  }

  function chooseTab(i) {
    if (!state.tabs[i]) return;
    state.compare = state.tabs[i].key;
    showTab(i);
  }

  function showTab(i) {
    const tab = state.tabs[i];
    for (const b of $("rv-tabs").children) {
      b.setAttribute("aria-selected", String(Number(b.dataset.index) === i));
    }
    right.section.hidden = !tab.result;
    root.dataset.compare = tab.key;
    if (tab.result) {
      $("rv-compare-title").textContent = tab.title;
      viewer.follow(left);
    }
    drawCompare();
  }

  function drawCompare() {
    const tab = state.tabs.find((t) => t.key === root.dataset.compare);
    const boxes = tab && tab.result ? tab.result.map((r) => G.boxOf(r, state.size)).filter(Boolean) : [];
    right.draw(boxes, look(false));
    $("rv-compare-count").textContent = `· ${plural(boxes.length, "box")}`;
  }

  // -- verdicts -------------------------------------------------------------------------------

  function verdict(body, done) {
    const ann = state.next && state.next.annotation;
    if (!ann) return;
    run(async () => {
      await api("POST", forAnnotation(config.urls.review, ann.id), body);
      say(`#${ann.id} ${done}.`);
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
    $("rv-comment").focus();
  }

  function closeReject() {
    rejectForm.hidden = true;
  }

  rejectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const comment = $("rv-comment").value.trim();
    if (!comment) {
      $("rv-comment").focus();
      return;
    }
    closeReject();
    verdict({ action: "reject", comment }, "rejected");
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
    state.selected = null;
    root.dataset.mode = on ? "fix" : "view";
    $("rv-verdicts").hidden = on;
    $("rv-fixing").hidden = !on;
    $("rv-title").classList.toggle("rv-editing", on);
  }

  function startFix() {
    if (!canAct() || !config.control || !state.ready) return;
    setFixing(true);
    render();
    say("Fixing: edit the boxes, then Save fix & accept.");
  }

  function cancelFix() {
    if (!state.fixing) return;
    setRegions(state.next.annotation.result || [], state.size);
    state.dirty = false;
    setFixing(false);
    render();
    say("");
  }

  function saveFix() {
    if (!state.fixing || picker.isOpen()) return;
    verdict({ action: "fix_accept", result: result() }, "fixed and accepted");
  }

  // -- keyboard and buttons -------------------------------------------------------------------

  E.bindKeys({
    blocked: () => picker.isOpen() || !rejectForm.hidden,
    space(held) {
      viewer.spaceHeld = held;
      root.classList.toggle("gt-space", held);
    },
    done: saveFix,
    back() {},
    remove: () => state.fixing && state.selected && remove(state.selected),
    deselect: () => state.fixing && select(null),
    relabel: () => state.fixing && state.selected && relabel(state.selected),
    zoomIn: viewer.zoomIn,
    zoomOut: viewer.zoomOut,
    fit: viewer.fit,
    nudge(dx, dy) {
      const box = state.fixing && state.selected ? ed.find(state.selected) : null;
      if (box && ed.ready()) {
        Object.assign(box, G.moved(box, dx / viewer.zoom(), dy / viewer.zoom(), state.size));
        changed();
      }
    },
  });

  const VERDICT_KEYS = { a: accept, f: startFix, r: openReject };
  document.addEventListener("keydown", (event) => {
    const field = event.target.closest && event.target.closest("input, select, textarea");
    if (field || picker.isOpen() || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (VERDICT_KEYS[key] && !state.fixing) {
      event.preventDefault(); // R must not also type an "r" into the comment it opens
      VERDICT_KEYS[key]();
    } else if (/^[1-9]$/.test(key) && !state.fixing && rejectForm.hidden) {
      chooseTab(Number(key));
    }
  });

  function button(id, action) {
    $(id).addEventListener("click", () => {
      $(id).blur();
      action();
    });
  }

  button("rv-accept", accept);
  button("rv-fix", startFix);
  button("rv-reject", openReject);
  button("rv-fix-save", saveFix);
  button("rv-fix-cancel", cancelFix);
  button("gt-zoom-in", viewer.zoomIn);
  button("gt-zoom-out", viewer.zoomOut);
  button("gt-fit", viewer.fit);
  button("gt-delete", () => state.selected && remove(state.selected));

  // A new order or annotator is a new stream: reload with it in the address, so it can be
  // bookmarked and shared.
  for (const id of ["rv-order", "rv-annotator"]) {
    $(id).addEventListener("change", () => {
      location.assign(`${location.pathname}?${query()}`);
    });
  }

  run(next);
})();
