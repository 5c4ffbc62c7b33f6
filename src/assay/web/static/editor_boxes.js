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

  // pane: the editable Pane; picker: the LabelPicker; opts: {tools: the page config's tools
  // ([{kind, type, from_name, to_name, labels, rotatable}]; `control` alone stands for one box
  // tool), fields: the config's form fields, colours: Map label -> colour, ready(): may the
  // shapes change now, editable(): draw handles (default: always), onRender(): after each
  // redraw}. Shapes are called boxes here for history: a box, a polygon or a point.
  function createBoxEditor(pane, picker, opts) {
    const editable = opts.editable || (() => true);
    const tools = opts.tools || (opts.control ? [{
      kind: "box", type: "rectanglelabels", ...opts.control, labels: picker.labels, rotatable: true,
    }] : []);
    const st = {
      boxes: [],
      others: [], // regions the editor does not edit: sent back as they are
      selected: null,
      vertex: null, // the chosen vertex of the selected polygon
      tool: 0, // index into tools
      size: { w: 1, h: 1 }, // the image's natural size: the editor's pixels
      original: { w: 1, h: 1 }, // recorded as original_width/height
      dirty: false,
      lastLabel: new Map(), // tool from_name -> the label picked last
      past: [], // the boxes after each change since load(), oldest first: what undo() restores
    };
    const form = E.createFields(opts.fieldsRoot, opts.fields || [], () => changed());

    const copy = (boxes) => boxes.map((b) => ({ ...b, points: b.points && b.points.map((p) => [...p]) }));
    const toolOf = (box) => tools.find((t) => t.from_name === box.control) ||
      tools.find((t) => t.kind === box.kind) || null;

    function look(canEdit) {
      return {
        colourOf: (label) => opts.colours.get(label),
        selected: st.selected,
        vertex: st.vertex,
        editable: canEdit,
        rotatable: (box) => { const t = toolOf(box); return Boolean(t && t.rotatable); },
      };
    }

    function render() {
      pane.draw(st.boxes, look(editable()));
      form.enable(editable());
      showTools();
      if (opts.onRender) opts.onRender();
    }

    function find(id) {
      return st.boxes.find((b) => b.id === id) || null;
    }

    function select(id) {
      if (st.selected === id) return;
      st.selected = id;
      st.vertex = null;
      render();
    }

    function selectVertex(i) {
      st.vertex = i;
      render();
    }

    function changed() {
      st.dirty = true;
      st.past.push({ boxes: copy(st.boxes), fields: form.values() });
      render();
    }

    // Back to the shapes and fields before the last change of this task; false when there is
    // none.
    function undo() {
      if (!opts.ready() || st.past.length < 2) return false;
      st.past.pop();
      const last = st.past[st.past.length - 1];
      st.boxes = copy(last.boxes);
      form.set(last.fields);
      if (!find(st.selected)) st.selected = null;
      st.vertex = null;
      st.dirty = st.past.length > 1;
      render();
      return true;
    }

    function add(box) {
      st.boxes.push(box);
      st.selected = box.id;
      st.vertex = null;
      render();
      chooseLabel(box, true);
    }

    function remove(id) {
      st.boxes = st.boxes.filter((b) => b.id !== id);
      if (st.selected === id) st.selected = null;
      st.vertex = null;
      changed();
    }

    // Take vertex i out of the selected polygon; a polygon keeps three points at least.
    function removeVertex(i) {
      const box = st.selected ? find(st.selected) : null;
      if (!box || box.kind !== "polygon" || !opts.ready() || box.points.length <= 3) return false;
      box.points.splice(i, 1);
      st.vertex = null;
      changed();
      return true;
    }

    function relabel(id) {
      const box = find(id);
      if (box) chooseLabel(box, false);
    }

    // The picker under the shape, with its tool's labels; a new shape that gets no label is
    // dropped again.
    async function chooseLabel(box, isNew) {
      const r = pane.svg.getBoundingClientRect();
      const b = G.bounds(box);
      const x = r.left + (b.x * r.width) / st.size.w;
      const y = r.top + ((b.y + b.h) * r.height) / st.size.h;
      const tool = toolOf(box);
      if (tool) picker.labels = tool.labels;
      const label = await picker.open(x, y, box.label || st.lastLabel.get(box.control));
      if (label) {
        box.label = label;
        st.lastLabel.set(box.control, label);
        changed();
      } else if (isNew) {
        st.boxes = st.boxes.filter((other) => other !== box); // never labeled: no change
        st.selected = null;
        render();
      }
    }

    // Move the selected shape by (dx, dy) screen pixels at `zoom`.
    function nudge(dx, dy, zoom) {
      const box = st.selected ? find(st.selected) : null;
      if (!box || !opts.ready()) return;
      Object.assign(box, G.shifted(box, dx / zoom, dy / zoom, st.size));
      changed();
    }

    // Start over from `regions` on an image of `size` (null: the image could not be shown, so
    // every region is kept as it is); `task` gives the original width and height.
    function load(regions, size, task) {
      if (drawing) drawing.cancelDraft();
      const shapes = new Map(); // region -> its shape, for the regions the tools edit
      for (const r of size ? regions : []) {
        const shape = G.isMine(r, tools) ? G.shapeOf(r, size) : null;
        if (shape) shapes.set(r, shape);
      }
      const mine = [...shapes.keys()];
      st.boxes = [...shapes.values()];
      const filled = form.load(regions);
      st.others = regions.filter((r) => !mine.includes(r) && !filled.includes(r));
      if (size) st.size = size;
      st.original = { w: task.width || st.size.w, h: task.height || st.size.h };
      st.selected = null;
      st.vertex = null;
      st.dirty = false;
      st.past = [{ boxes: copy(st.boxes), fields: form.values() }];
    }

    function result() {
      const regionOf = (b) => {
        const tool = toolOf(b);
        return tool ? G.regionOfShape(b, st.size, tool, st.original) : null;
      };
      return [...st.boxes.map(regionOf).filter(Boolean), ...form.result(), ...st.others];
    }

    // -- tools: the toolbar's buttons and the keys that pick one --------------------------

    let toolbar = null;
    function showTools() {
      if (!toolbar) return;
      for (const b of toolbar.children) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.tool) === st.tool));
        b.disabled = !editable();
      }
    }

    function setTool(i) {
      if (!tools[i] || (drawing && drawing.drafting())) return;
      st.tool = i;
      showTools();
    }

    const NAMES = { box: "Box", polygon: "Polygon", point: "Point" };
    const KEYS = { box: "X", polygon: "P", point: "K" };
    function buildToolbar(bar) {
      if (!bar || !tools.length) return;
      toolbar = document.createElement("span");
      toolbar.className = "gt-group gt-tools";
      toolbar.setAttribute("aria-label", "Tools");
      tools.forEach((t, i) => {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.tool = String(i);
        b.dataset.kind = t.kind;
        const several = tools.filter((o) => o.kind === t.kind).length > 1;
        b.textContent = NAMES[t.kind] + (several ? ` · ${t.from_name}` : "");
        b.title = `${NAMES[t.kind]} tool (${KEYS[t.kind]}; T cycles)`;
        b.addEventListener("click", () => {
          b.blur();
          setTool(i);
        });
        toolbar.appendChild(b);
      });
      const zoom = bar.querySelector(".gt-group");
      bar.insertBefore(toolbar, zoom || bar.firstChild);
      showTools();
    }

    // Tool keys: X box, P polygon, K point (the next of that kind when there are several),
    // T the next tool.
    function toolKey(kind) {
      if (!opts.ready()) return;
      if (!kind) return setTool((st.tool + 1) % tools.length);
      const of = tools.map((t, i) => [t, i]).filter(([t]) => t.kind === kind).map(([, i]) => i);
      if (!of.length) return;
      setTool(of.find((i) => i > st.tool && tools[st.tool].kind === kind) ?? of[0]);
    }

    // Delete / Backspace: the last point of a polygon being drawn, else the chosen vertex,
    // else the selected shape.
    function removeSelected() {
      if (drawing && drawing.dropDraftPoint()) return;
      if (!st.selected || !opts.ready()) return;
      if (st.vertex != null && removeVertex(st.vertex)) return;
      remove(st.selected);
    }

    // Esc: drop the polygon being drawn, else deselect.
    function escape() {
      if (drawing && drawing.cancelDraft()) return;
      if (opts.ready()) select(null);
    }

    const ed = {
      // what attachTools needs
      ready: () => opts.ready(),
      size: () => st.size,
      find,
      selected: () => st.selected,
      select,
      selectVertex,
      removeVertex,
      add,
      changed,
      relabel,
      tool: () => tools[st.tool] || null,
      redraw: (box) => pane.redraw(box, look(true)),
      // for the page
      tools: () => tools,
      setTool,
      toolKey,
      buildToolbar,
      boxes: () => st.boxes,
      others: () => st.others,
      dirty: () => st.dirty,
      look,
      render,
      remove,
      removeSelected,
      escape,
      closeDraft: () => Boolean(drawing && drawing.closeDraft()),
      relabelSelected: () => st.selected && opts.ready() && relabel(st.selected),
      nudge,
      undo,
      canUndo: () => st.past.length > 1,
      load,
      result,
    };
    const drawing = tools.length ? E.attachTools(pane, ed) : null;
    return ed;
  }

  // The form fields beside the image (Choices as radio buttons or check boxes, TextArea as a
  // text box) inside `root`: load(regions) fills them and returns the regions it took,
  // result() gives them back as regions, values()/set() for undo, enable(on).
  function createFields(root, fields, onChange) {
    const ids = new Map(); // from_name -> the id of the region loaded into it
    const inputs = new Map(); // from_name -> its inputs
    if (root) root.hidden = !fields.length;
    for (const f of fields) {
      const set = document.createElement("fieldset");
      set.className = "gt-field";
      set.dataset.field = f.from_name;
      const legend = document.createElement("legend");
      legend.textContent = f.from_name;
      set.appendChild(legend);
      const mine = [];
      if (f.kind === "textarea") {
        const text = document.createElement("textarea");
        text.name = f.from_name;
        text.setAttribute("aria-label", f.from_name);
        text.addEventListener("change", onChange);
        set.appendChild(text);
        mine.push(text);
      } else {
        for (const option of f.options) {
          const label = document.createElement("label");
          const input = document.createElement("input");
          input.type = f.multiple ? "checkbox" : "radio";
          input.name = `field-${f.from_name}`;
          input.value = option;
          input.addEventListener("change", () => {
            input.blur();
            onChange();
          });
          label.append(input, ` ${option}`);
          set.appendChild(label);
          mine.push(input);
        }
      }
      inputs.set(f.from_name, mine);
      if (root) root.appendChild(set);
    }

    function values() {
      const out = {};
      for (const f of fields) {
        const mine = inputs.get(f.from_name);
        out[f.from_name] = f.kind === "textarea"
          ? mine[0].value
          : mine.filter((i) => i.checked).map((i) => i.value);
      }
      return out;
    }

    function set(vals) {
      for (const f of fields) {
        const mine = inputs.get(f.from_name);
        const v = vals[f.from_name];
        if (f.kind === "textarea") mine[0].value = v || "";
        else for (const i of mine) i.checked = (v || []).includes(i.value);
      }
    }

    function load(regions) {
      const taken = [];
      const vals = {};
      ids.clear();
      for (const f of fields) {
        const r = regions.find((x) => x && x.from_name === f.from_name && x.type === f.type &&
          x.to_name === f.to_name);
        if (!r) continue;
        taken.push(r);
        ids.set(f.from_name, r.id);
        const v = r.value || {};
        vals[f.from_name] = f.kind === "textarea"
          ? (Array.isArray(v.text) ? v.text.join("\n") : String(v.text || ""))
          : (Array.isArray(v.choices) ? v.choices.map(String) : []);
      }
      set(vals);
      return taken;
    }

    function result() {
      const vals = values();
      const out = [];
      for (const f of fields) {
        const v = vals[f.from_name];
        if (f.kind === "textarea" ? !v.trim() : !v.length) continue;
        if (!ids.has(f.from_name)) ids.set(f.from_name, G.newId());
        const value = f.kind === "textarea" ? { text: [v] } : { choices: v };
        out.push({
          id: ids.get(f.from_name), type: f.type, from_name: f.from_name, to_name: f.to_name,
          origin: "manual", value,
        });
      }
      return out;
    }

    function enable(on) {
      for (const mine of inputs.values()) for (const i of mine) i.disabled = !on;
    }

    return { load, result, values, set, enable };
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

  // The shape editor of a page: createBoxEditor with the config's tools and fields, the
  // tool buttons in the page's toolbar (.gt-bar) and the fields in a row above the panes.
  function createEditor(config, left, picker, opts) {
    const panes = left.section.parentElement;
    const fieldsRoot = document.createElement("div");
    fieldsRoot.className = "gt-fields";
    fieldsRoot.id = "gt-fields";
    panes.parentElement.insertBefore(fieldsRoot, panes);
    const ed = createBoxEditor(left, picker, {
      tools: config.tools || undefined,
      control: config.control,
      fields: config.fields || [],
      fieldsRoot,
      ...opts,
    });
    ed.buildToolbar(document.querySelector(".gt-bar"));
    // the fields show with the panes (a page hides those when its queue is finished)
    const follow = () => { fieldsRoot.hidden = panes.hidden || !(config.fields || []).length; };
    new MutationObserver(follow).observe(panes, { attributes: true, attributeFilter: ["hidden"] });
    follow();
    return ed;
  }

  // "3 boxes" when every shape is a box, else "3 regions".
  function countText(shapes) {
    const n = shapes.length;
    if (shapes.every((s) => !s.kind || s.kind === "box")) return `${n} ${n === 1 ? "box" : "boxes"}`;
    return `${n} ${n === 1 ? "region" : "regions"}`;
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
      deselect: ed.escape,
      enter: ed.closeDraft,
      relabel: ed.relabelSelected,
      zoomIn: viewer.zoomIn,
      zoomOut: viewer.zoomOut,
      fit: viewer.fit,
      nudge: (dx, dy) => ed.nudge(dx, dy, viewer.zoom()),
      undo: ed.undo,
      back() {},
      ...on,
      keys: {
        x: () => ed.toolKey("box"), p: () => ed.toolKey("polygon"), k: () => ed.toolKey("point"),
        t: () => ed.toolKey(null), ...(on.keys || {}),
      },
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
  E.createEditor = createEditor;
  E.createFields = createFields;
  E.countText = countText;
  E.loadTaskImage = loadTaskImage;
  E.createRunner = createRunner;
  E.openEditor = openEditor;
  E.button = button;
  E.bindEditorKeys = bindEditorKeys;
  E.bindToolbar = bindToolbar;
})(window.assayEditor);
