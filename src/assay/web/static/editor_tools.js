// Ground-truth editor: the mouse on the editable pane. Drag on the image draws a
// box; a click selects the box under the pointer; the selected box moves when dragged and
// resizes by its handles; a double-click relabels. Everything works in original image pixels.
"use strict";

window.assayEditor = window.assayEditor || {};

// pane: the editable Pane; ed: the editor (boxes, find, select, add, redraw, changed, relabel).
window.assayEditor.attachTools = function attachTools(pane, ed) {
  const G = window.assayEditor.geometry;
  const CLICK_SLOP = 4; // screen pixels a press may wander and still be a click
  const MIN_BOX = 4; // screen pixels: smaller drags draw nothing
  let drag = null;

  function target(event) {
    const handle = event.target.closest(".gt-handle");
    const group = event.target.closest(".gt-box");
    return { handle: handle && handle.dataset.handle, id: group && group.dataset.id };
  }

  function onPointerDown(event) {
    if (event.button !== 0 || !ed.ready()) return;
    event.preventDefault();
    const at = pane.toImage(event.clientX, event.clientY);
    const client = { x: event.clientX, y: event.clientY };
    const { handle, id } = target(event);
    const box = id ? ed.find(id) : null;
    if (box && id === ed.selected() && handle) {
      drag = { mode: "resize", box, handle, start: { ...box } };
    } else if (box && id === ed.selected()) {
      drag = { mode: "move", box, at, start: { ...box }, client };
    } else {
      drag = { mode: "press", id, at, client };
    }
    pane.svg.setPointerCapture(event.pointerId);
  }

  function onPointerMove(event) {
    if (!drag) return;
    const p = pane.toImage(event.clientX, event.clientY);
    if (drag.client) {
      const far = Math.hypot(event.clientX - drag.client.x, event.clientY - drag.client.y);
      if (far < CLICK_SLOP) return;
      drag.client = null; // from here on it is a drag, not a click
    }
    if (drag.mode === "press") {
      drag.mode = "draw";
      ed.select(null);
    }
    if (drag.mode === "draw") {
      drag.rect = G.spanned(drag.at, p, ed.size());
      pane.draft(drag.rect);
    } else if (drag.mode === "move") {
      Object.assign(drag.box, G.moved(drag.start, p.x - drag.at.x, p.y - drag.at.y, ed.size()));
      ed.redraw(drag.box);
    } else if (drag.mode === "resize") {
      Object.assign(drag.box, G.resized(drag.start, drag.handle, p, ed.size()));
      ed.redraw(drag.box);
    }
  }

  function onPointerUp() {
    if (!drag) return;
    const done = drag;
    drag = null;
    if (done.mode === "press") {
      ed.select(done.id || null);
    } else if (done.mode === "draw") {
      pane.draft(null);
      const r = done.rect;
      if (r && r.w * pane.zoom >= MIN_BOX && r.h * pane.zoom >= MIN_BOX) {
        ed.add({ id: G.newId(), label: "", rotation: 0, score: null, ...r });
      }
    } else if (moved(done.start, done.box)) {
      ed.changed();
      ed.redraw(done.box);
    }
  }

  function moved(a, b) {
    return a.x !== b.x || a.y !== b.y || a.w !== b.w || a.h !== b.h;
  }

  function onDoubleClick(event) {
    const { id } = target(event);
    if (!id || !ed.ready()) return;
    ed.select(id);
    ed.relabel(id);
  }

  pane.svg.addEventListener("pointerdown", onPointerDown);
  pane.svg.addEventListener("pointermove", onPointerMove);
  pane.svg.addEventListener("pointerup", onPointerUp);
  pane.svg.addEventListener("pointercancel", onPointerUp);
  pane.svg.addEventListener("dblclick", onDoubleClick);
  return { dragging: () => drag !== null };
};
