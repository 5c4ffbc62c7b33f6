// Ground-truth editor: the mouse on the editable pane. With the box tool a drag on the image
// draws a box; with the polygon tool each click adds a point and a click on the first point
// (or Enter) closes it; with the point tool a click places a point. A click selects the shape
// under the pointer; the selected shape moves when dragged, a box resizes by its handles and
// turns by its round rotation handle, a polygon's vertices drag (Alt+click deletes one); a
// double-click relabels. Everything works in original image pixels.
"use strict";

window.assayEditor = window.assayEditor || {};

// pane: the editable Pane; ed: the editor (find, select, selectVertex, add, redraw, changed,
// relabel, tool(), removeVertex).
window.assayEditor.attachTools = function attachTools(pane, ed) {
  const G = window.assayEditor.geometry;
  const CLICK_SLOP = 4; // screen pixels a press may wander and still be a click
  const MIN_BOX = 4; // screen pixels: smaller drags draw nothing
  const CLOSE_RADIUS = 9; // screen pixels around a polygon's first point that close it
  let drag = null;
  let draft = null; // the polygon being drawn: {points, tool}

  function target(event) {
    const handle = event.target.closest(".gt-handle");
    const vertex = event.target.closest(".gt-vertex");
    const group = event.target.closest(".gt-box");
    return {
      handle: handle && handle.dataset.handle,
      rotate: Boolean(event.target.closest(".gt-rotate")),
      vertex: vertex ? Number(vertex.dataset.vertex) : null,
      id: group && group.dataset.id,
    };
  }

  const copy = (shape) => ({ ...shape, points: shape.points && shape.points.map((p) => [...p]) });

  function onPointerDown(event) {
    if (event.button !== 0 || !ed.ready()) return;
    event.preventDefault();
    const at = pane.toImage(event.clientX, event.clientY);
    const client = { x: event.clientX, y: event.clientY };
    if (draft) {
      drag = { mode: "draft", at, client };
      pane.svg.setPointerCapture(event.pointerId);
      return;
    }
    const { handle, rotate, vertex, id } = target(event);
    const shape = id ? ed.find(id) : null;
    const mine = shape && id === ed.selected();
    if (mine && vertex != null && event.altKey) {
      ed.removeVertex(vertex);
      return;
    }
    if (mine && vertex != null) {
      ed.selectVertex(vertex);
      drag = { mode: "vertex", box: shape, vertex, start: copy(shape), client };
    } else if (mine && rotate) {
      drag = { mode: "rotate", box: shape, at, start: copy(shape) };
    } else if (mine && handle) {
      drag = { mode: "resize", box: shape, handle, start: copy(shape) };
    } else if (mine) {
      drag = { mode: "move", box: shape, at, start: copy(shape), client };
    } else {
      drag = { mode: "press", id, at, client };
    }
    pane.svg.setPointerCapture(event.pointerId);
  }

  function onPointerMove(event) {
    const p = pane.toImage(event.clientX, event.clientY);
    if (draft && (!drag || drag.mode === "draft")) pane.draftPolygon(draft.points, G.within(p, ed.size()));
    if (!drag) return;
    if (drag.client) {
      const far = Math.hypot(event.clientX - drag.client.x, event.clientY - drag.client.y);
      if (far < CLICK_SLOP) return;
      drag.client = null; // from here on it is a drag, not a click
    }
    if (drag.mode === "draft") return;
    if (drag.mode === "press") {
      const tool = ed.tool();
      drag.mode = tool && tool.kind === "box" ? "draw" : "nothing";
      if (drag.mode === "draw") ed.select(null);
    }
    const size = ed.size();
    const box = drag.box;
    if (drag.mode === "draw") {
      drag.rect = G.spanned(drag.at, p, size);
      pane.draft(drag.rect);
    } else if (drag.mode === "move") {
      Object.assign(box, G.shifted(drag.start, p.x - drag.at.x, p.y - drag.at.y, size));
      ed.redraw(box);
    } else if (drag.mode === "resize") {
      Object.assign(box, G.resized(drag.start, drag.handle, p, size));
      ed.redraw(box);
    } else if (drag.mode === "vertex") {
      const q = G.within(p, size);
      box.points[drag.vertex] = [q.x, q.y];
      ed.redraw(box);
    } else if (drag.mode === "rotate") {
      const rotation = G.turned(drag.start, drag.at, p, size);
      if (rotation != null) box.rotation = rotation;
      ed.redraw(box);
    }
  }

  function onPointerUp() {
    if (!drag) return;
    const done = drag;
    drag = null;
    if (done.mode === "draft") {
      if (done.client) addDraftPoint(done.at, done.client);
    } else if (done.mode === "press") {
      click(done);
    } else if (done.mode === "draw") {
      pane.draft(null);
      const r = done.rect;
      if (r && r.w * pane.zoom >= MIN_BOX && r.h * pane.zoom >= MIN_BOX) {
        const tool = ed.tool();
        ed.add({ kind: "box", control: tool.from_name, id: G.newId(), label: "", rotation: 0, score: null, ...r });
      }
    } else if (done.box && changed(done.start, done.box)) {
      ed.changed();
      ed.redraw(done.box);
    }
  }

  // A click on the image, not on the selected shape: select the shape under it, or start what
  // the tool makes (a polygon's first point, a point) where there is none of its kind.
  function click(press) {
    const tool = ed.tool();
    const hit = press.id ? ed.find(press.id) : null;
    const makes = tool && tool.kind !== "box" && (!hit || hit.kind !== tool.kind);
    if (!makes) {
      ed.select(press.id || null);
      return;
    }
    const p = G.within(press.at, ed.size());
    if (tool.kind === "point") {
      ed.add({ kind: "point", control: tool.from_name, id: G.newId(), label: "", x: p.x, y: p.y, width: null, score: null });
      return;
    }
    ed.select(null);
    draft = { tool, points: [[p.x, p.y]] };
    pane.draftPolygon(draft.points, null);
  }

  function addDraftPoint(at) {
    const first = draft.points[0];
    const r = CLOSE_RADIUS / pane.zoom;
    if (draft.points.length >= 3 && Math.hypot(at.x - first[0], at.y - first[1]) <= r) {
      closeDraft();
      return;
    }
    const p = G.within(at, ed.size());
    draft.points.push([p.x, p.y]);
    pane.draftPolygon(draft.points, null);
  }

  // Enter: the polygon being drawn is finished (three points at least) and gets its label.
  function closeDraft() {
    if (!draft || draft.points.length < 3) return false;
    const { tool, points } = draft;
    draft = null;
    pane.draftPolygon(null);
    ed.add({ kind: "polygon", control: tool.from_name, id: G.newId(), label: "", points, score: null });
    return true;
  }

  // Esc: drop the polygon being drawn.
  function cancelDraft() {
    if (!draft) return false;
    draft = null;
    pane.draftPolygon(null);
    return true;
  }

  // Backspace while drawing: take back the last point (the last one cancels).
  function dropDraftPoint() {
    if (!draft) return false;
    draft.points.pop();
    if (!draft.points.length) return cancelDraft();
    pane.draftPolygon(draft.points, null);
    return true;
  }

  function changed(a, b) {
    return JSON.stringify(a) !== JSON.stringify(copy(b));
  }

  function onDoubleClick(event) {
    const { id } = target(event);
    if (!id || !ed.ready() || draft) return;
    ed.select(id);
    ed.relabel(id);
  }

  pane.svg.addEventListener("pointerdown", onPointerDown);
  pane.svg.addEventListener("pointermove", onPointerMove);
  pane.svg.addEventListener("pointerup", onPointerUp);
  pane.svg.addEventListener("pointercancel", onPointerUp);
  pane.svg.addEventListener("dblclick", onDoubleClick);
  return {
    dragging: () => drag !== null,
    drafting: () => draft !== null,
    closeDraft,
    cancelDraft,
    dropDraftPoint,
  };
};
