// Ground-truth editor: the boxes of the editable pane and what is done to them (select, draw
// and label, relabel, delete, nudge), shared by the ground-truth stage, the review stream's
// Fix & Accept and the adjudication page. Boxes live in the image's natural pixels; result()
// gives them back as Label Studio regions in percent, followed by the regions the editor does
// not edit (other controls, polygons), untouched. Loads after editor_geometry, editor_view,
// editor_picker, editor_tools and editor_keys.
"use strict";

window.assayEditor = window.assayEditor || {};

(function (E) {
  const G = E.geometry;

  // pane: the editable Pane; picker: the LabelPicker; opts: {control: {from_name, to_name} or
  // null (nothing editable), colours: Map label -> colour, ready(): may the boxes change now,
  // editable(): draw handles (default: always), onRender(): after each redraw}.
  function createBoxEditor(pane, picker, opts) {
    const editable = opts.editable || (() => true);
    const st = {
      boxes: [],
      others: [], // regions the editor does not edit: sent back as they are
      selected: null,
      size: { w: 1, h: 1 }, // the image's natural size: the editor's pixels
      original: { w: 1, h: 1 }, // recorded as original_width/height
      dirty: false,
      lastLabel: null,
      past: [], // the boxes after each change since load(), oldest first: what undo() restores
    };

    const copy = (boxes) => boxes.map((b) => ({ ...b }));

    function look(canEdit) {
      return { colourOf: (label) => opts.colours.get(label), selected: st.selected, editable: canEdit };
    }

    function render() {
      pane.draw(st.boxes, look(editable()));
      if (opts.onRender) opts.onRender();
    }

    function find(id) {
      return st.boxes.find((b) => b.id === id) || null;
    }

    function select(id) {
      if (st.selected === id) return;
      st.selected = id;
      render();
    }

    function changed() {
      st.dirty = true;
      st.past.push(copy(st.boxes));
      render();
    }

    // Back to the boxes before the last change of this task; false when there is none.
    function undo() {
      if (!opts.ready() || st.past.length < 2) return false;
      st.past.pop();
      st.boxes = copy(st.past[st.past.length - 1]);
      if (!find(st.selected)) st.selected = null;
      st.dirty = st.past.length > 1;
      render();
      return true;
    }

    function add(box) {
      st.boxes.push(box);
      st.selected = box.id;
      render();
      chooseLabel(box, true);
    }

    function remove(id) {
      st.boxes = st.boxes.filter((b) => b.id !== id);
      if (st.selected === id) st.selected = null;
      changed();
    }

    function relabel(id) {
      const box = find(id);
      if (box) chooseLabel(box, false);
    }

    // The picker under the box; a new box that gets no label is dropped again.
    async function chooseLabel(box, isNew) {
      const r = pane.svg.getBoundingClientRect();
      const x = r.left + (box.x * r.width) / st.size.w;
      const y = r.top + ((box.y + box.h) * r.height) / st.size.h;
      const label = await picker.open(x, y, box.label || st.lastLabel);
      if (label) {
        box.label = label;
        st.lastLabel = label;
        changed();
      } else if (isNew) {
        st.boxes = st.boxes.filter((b) => b !== box); // never labeled: no change
        st.selected = null;
        render();
      }
    }

    // Move the selected box by (dx, dy) screen pixels at `zoom`.
    function nudge(dx, dy, zoom) {
      const box = st.selected ? find(st.selected) : null;
      if (!box || !opts.ready()) return;
      Object.assign(box, G.moved(box, dx / zoom, dy / zoom, st.size));
      changed();
    }

    // Start over from `regions` on an image of `size` (null: the image could not be shown, so
    // every region is kept as it is); `task` gives the original width and height.
    function load(regions, size, task) {
      const control = opts.control;
      const mine = size && control ? regions.filter((r) => G.isBox(r, control)) : [];
      st.boxes = mine.map((r) => G.boxOf(r, size)).filter(Boolean);
      st.others = regions.filter((r) => !mine.includes(r));
      if (size) st.size = size;
      st.original = { w: task.width || st.size.w, h: task.height || st.size.h };
      st.selected = null;
      st.dirty = false;
      st.past = [copy(st.boxes)];
    }

    function result() {
      const regionOf = (b) => G.regionOf(b, st.size, opts.control, st.original);
      return [...st.boxes.map(regionOf).filter(Boolean), ...st.others];
    }

    const ed = {
      // what attachTools needs
      ready: () => opts.ready(),
      size: () => st.size,
      find,
      selected: () => st.selected,
      select,
      add,
      changed,
      relabel,
      redraw: (box) => pane.redraw(box, look(true)),
      // for the page
      boxes: () => st.boxes,
      others: () => st.others,
      dirty: () => st.dirty,
      look,
      render,
      remove,
      removeSelected: () => st.selected && opts.ready() && remove(st.selected),
      relabelSelected: () => st.selected && opts.ready() && relabel(st.selected),
      nudge,
      undo,
      canUndo: () => st.past.length > 1,
      load,
      result,
    };
    if (opts.control) E.attachTools(pane, ed);
    return ed;
  }

  // A local image's thumbnail (/data/thumbnails/..., see services/tasks/thumbnails.py) and the
  // task's size, to show at once while the full image loads; null for other images.
  function previewOf(url, task) {
    const media = "/data/media/";
    if (!url.startsWith(media) || !(task.width > 0 && task.height > 0)) return null;
    const thumb = `/data/thumbnails/${url.slice(media.length)}`;
    return { url: thumb, size: { w: task.width, h: task.height } };
  }

  // The task's image in both panes; resolves to its natural size. Rejects with a readable
  // message (the panes are blanked) when the task has no image a page can show or it fails.
  async function loadTaskImage(left, right, task, imageKey) {
    const value = task.data && imageKey ? task.data[imageKey] : null;
    const url = typeof value === "string" ? value.trim() : "";
    try {
      if (!/^(https?:|data:image\/)/i.test(url) && !url.startsWith("/")) {
        throw new Error(`Task ${task.id} has no image the page can show.`);
      }
      const preview = previewOf(url, task);
      const [size] = await Promise.all([
        left.load(url, preview),
        right.load(url, preview).catch(() => null),
      ]);
      return size;
    } catch (error) {
      left.blank();
      right.blank();
      if (error.name === "EncodingError" || !error.message) {
        throw new Error(`The image of task ${task.id} could not be loaded (${url.slice(0, 80)}).`);
      }
      throw error;
    }
  }

  // The page's config (the JSON in <script id=configId>) and its editor: the two panes
  // (#gt-left editable, #gt-right read-only), the label picker and the viewer that zooms both.
  function openEditor(configId, onZoom) {
    const config = JSON.parse(document.getElementById(configId).textContent);
    const left = new E.Pane(document.getElementById("gt-left"));
    const right = new E.Pane(document.getElementById("gt-right"));
    const picker = new E.LabelPicker(document.getElementById("gt-picker"), config.labels);
    return { config, left, right, picker, viewer: E.createViewer(left, right, onZoom) };
  }

  // One piece of work at a time (loading a task, saving): while it runs `state.busy` is true,
  // `root` says data-busy="true" and onBusy(busy) updates the buttons; an error it throws is
  // shown in `message`. Returns {run(async work), showError(error)}.
  function createRunner(state, root, message, onBusy) {
    function showError(error) {
      message.textContent = error.message || String(error);
      message.hidden = false;
    }

    function setBusy(busy) {
      state.busy = busy;
      root.dataset.busy = String(busy);
      onBusy(busy);
    }

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

    return { run, showError };
  }

  // A toolbar button: it gives up focus (Space pans, it must not press it again), then acts.
  function button(id, action) {
    const node = document.getElementById(id);
    node.addEventListener("click", () => {
      node.blur();
      action();
    });
  }

  // The keys every editing page shares (editor_keys.js), with the page's own in `on`:
  // {blocked(), done(), back(), deselect()?, keys?}; `root` gets gt-space while Space is held.
  function bindEditorKeys(ed, viewer, root, on) {
    E.bindKeys({
      space(held) {
        viewer.spaceHeld = held;
        root.classList.toggle("gt-space", held);
      },
      remove: ed.removeSelected,
      deselect: () => ed.ready() && ed.select(null),
      relabel: ed.relabelSelected,
      zoomIn: viewer.zoomIn,
      zoomOut: viewer.zoomOut,
      fit: viewer.fit,
      nudge: (dx, dy) => ed.nudge(dx, dy, viewer.zoom()),
      undo: ed.undo,
      back() {},
      ...on,
    });
  }

  // The zoom buttons and the trash button of the toolbar (ids gt-zoom-in, -out, gt-fit,
  // gt-delete).
  function bindToolbar(ed, viewer) {
    button("gt-zoom-in", viewer.zoomIn);
    button("gt-zoom-out", viewer.zoomOut);
    button("gt-fit", viewer.fit);
    button("gt-delete", ed.removeSelected);
  }

  E.createBoxEditor = createBoxEditor;
  E.loadTaskImage = loadTaskImage;
  E.createRunner = createRunner;
  E.openEditor = openEditor;
  E.button = button;
  E.bindEditorKeys = bindEditorKeys;
  E.bindToolbar = bindToolbar;
})(window.assayEditor);
