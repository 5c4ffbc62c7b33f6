// Ground-truth editor: shapes and their conversion to and from Label Studio regions.
// Inside the editor a shape is in pixels of the original image, origin top-left: a box
// {kind: "box", id, label, x, y, w, h, rotation} (degrees clockwise around its top-left corner,
// as Label Studio and formats/label_studio.py have it), a polygon {kind: "polygon", points:
// [[x, y], ...]} or a point {kind: "point", x, y}; each has `control`, the from_name of its
// tool. Regions on the wire keep their numbers in percent of the image size.
"use strict";

window.assayEditor = window.assayEditor || {};

window.assayEditor.geometry = (function () {
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

  // A Label Studio-style region id: ten letters and digits.
  function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(10));
    return Array.from(bytes, (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
  }

  // Whether the editor edits this region: a rectangle of the stage's box control.
  function isBox(region, control) {
    return Boolean(region) && region.type === "rectanglelabels" &&
      region.from_name === control.from_name && region.to_name === control.to_name;
  }

  // Any rectangle (a reference may come from another control or a model): pixels, or null.
  function boxOf(region, size) {
    if (!region || !String(region.type || "").startsWith("rectangle")) return null;
    const v = region.value || {};
    const labels = v.rectanglelabels || v.labels || [];
    const numbers = [v.x, v.y, v.width, v.height].map(Number);
    if (numbers.some((n) => !Number.isFinite(n))) return null;
    const box = {
      kind: "box",
      control: region.from_name,
      id: String(region.id || newId()),
      label: labels.length ? String(labels[0]) : "",
      x: (numbers[0] * size.w) / 100,
      y: (numbers[1] * size.h) / 100,
      w: (numbers[2] * size.w) / 100,
      h: (numbers[3] * size.h) / 100,
      rotation: Number(v.rotation) || 0,
      score: typeof region.score === "number" ? region.score : null,
    };
    // Where it started, so an unchanged box goes back with its percent numbers untouched.
    box.origin = { x: box.x, y: box.y, w: box.w, h: box.h, percent: numbers };
    return box;
  }

  function unmoved(box) {
    const o = box.origin;
    return Boolean(o) && o.x === box.x && o.y === box.y && o.w === box.w && o.h === box.h;
  }

  // The part of an unrotated box inside the image; null when nothing of it is left.
  function clip(box, size) {
    if (box.rotation) return box;
    const x0 = clamp(box.x, 0, size.w);
    const y0 = clamp(box.y, 0, size.h);
    const x1 = clamp(box.x + box.w, 0, size.w);
    const y1 = clamp(box.y + box.h, 0, size.h);
    if (x1 - x0 <= 0 || y1 - y0 <= 0) return null;
    return { ...box, x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  const percent = (px, total) => Math.round((px / total) * 100 * 1e6) / 1e6;

  // A box as a Label Studio rectanglelabels region (percent units), or null if it is empty.
  // `original` is the image size to record in original_width/original_height.
  function regionOf(box, size, control, original) {
    const inside = clip(box, size);
    if (!inside || !inside.label) return null;
    let [x, y, width, height] = unmoved(inside) ? inside.origin.percent : [];
    if (!unmoved(inside)) {
      x = percent(inside.x, size.w);
      y = percent(inside.y, size.h);
      width = Math.min(percent(inside.w, size.w), 100 - x);
      height = Math.min(percent(inside.h, size.h), 100 - y);
    }
    if (width <= 0 || height <= 0) return null;
    return {
      id: inside.id,
      type: "rectanglelabels",
      from_name: control.from_name,
      to_name: control.to_name,
      original_width: original.w,
      original_height: original.h,
      image_rotation: 0,
      value: { x, y, width, height, rotation: inside.rotation, rectanglelabels: [inside.label] },
    };
  }

  // The box spanned by two points, both clamped to the image.
  function spanned(a, b, size) {
    const ax = clamp(a.x, 0, size.w);
    const ay = clamp(a.y, 0, size.h);
    const bx = clamp(b.x, 0, size.w);
    const by = clamp(b.y, 0, size.h);
    return { x: Math.min(ax, bx), y: Math.min(ay, by), w: Math.abs(bx - ax), h: Math.abs(by - ay) };
  }

  // Where a box moved by (dx, dy) lands, kept inside the image.
  function moved(box, dx, dy, size) {
    return {
      x: clamp(box.x + dx, 0, Math.max(0, size.w - box.w)),
      y: clamp(box.y + dy, 0, Math.max(0, size.h - box.h)),
    };
  }

  // The box after dragging the handle named by compass letters ("nw", "e", ...) to point p.
  // The dragged edges follow p (inside the image); if they cross the others, they swap.
  function resized(box, handle, p, size) {
    let left = box.x;
    let top = box.y;
    let right = box.x + box.w;
    let bottom = box.y + box.h;
    const px = clamp(p.x, 0, size.w);
    const py = clamp(p.y, 0, size.h);
    if (handle.includes("w")) left = px;
    if (handle.includes("e")) right = px;
    if (handle.includes("n")) top = py;
    if (handle.includes("s")) bottom = py;
    return spanned({ x: left, y: top }, { x: right, y: bottom }, size);
  }

  // The eight handles of a box: name and position in image pixels.
  function handles(box) {
    const xs = { w: box.x, "": box.x + box.w / 2, e: box.x + box.w };
    const ys = { n: box.y, "": box.y + box.h / 2, s: box.y + box.h };
    const names = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
    return names.map((name) => {
      const v = name.match(/[ns]/) ? name[0] : "";
      const h = name.match(/[we]$/) ? name[name.length - 1] : "";
      return { name, x: xs[h], y: ys[v] };
    });
  }

  // -- every shape ------------------------------------------------------------------------

  const percents = (points, size) =>
    points.map(([x, y]) => [percent(clamp(x, 0, size.w), size.w), percent(clamp(y, 0, size.h), size.h)]);

  // Whether the editor edits this region: one of its tools' (same control, object and type).
  function isMine(region, tools) {
    return Boolean(region) && tools.some((t) => region.type === t.type &&
      region.from_name === t.from_name && region.to_name === t.to_name);
  }

  function labelsOf(v, key) {
    const labels = v[key] || v.labels || [];
    return Array.isArray(labels) && labels.length ? String(labels[0]) : "";
  }

  function polygonOf(region, size) {
    const v = region.value || {};
    const raw = Array.isArray(v.points) ? v.points : [];
    const ok = raw.length >= 3 && raw.every((p) => Array.isArray(p) && p.length === 2 &&
      p.every((c) => Number.isFinite(Number(c))));
    if (!ok) return null;
    const points = raw.map(([x, y]) => [(Number(x) * size.w) / 100, (Number(y) * size.h) / 100]);
    return {
      kind: "polygon",
      control: region.from_name,
      id: String(region.id || newId()),
      label: labelsOf(v, "polygonlabels"),
      points,
      score: typeof region.score === "number" ? region.score : null,
      origin: { points: JSON.stringify(points), percent: raw.map((p) => p.map(Number)) },
    };
  }

  function pointOf(region, size) {
    const v = region.value || {};
    const x = Number(v.x);
    const y = Number(v.y);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    const point = {
      kind: "point",
      control: region.from_name,
      id: String(region.id || newId()),
      label: labelsOf(v, "keypointlabels"),
      x: (x * size.w) / 100,
      y: (y * size.h) / 100,
      width: Number.isFinite(Number(v.width)) ? Number(v.width) : null,
      score: typeof region.score === "number" ? region.score : null,
    };
    point.origin = { x: point.x, y: point.y, percent: [x, y] };
    return point;
  }

  // Any region the editor can draw (a reference may come from another control or a model):
  // a shape in pixels, or null.
  function shapeOf(region, size) {
    const type = String((region && region.type) || "");
    if (type.startsWith("rectangle")) return boxOf(region, size);
    if (type.startsWith("polygon")) return polygonOf(region, size);
    if (type.startsWith("keypoint")) return pointOf(region, size);
    return null;
  }

  // A shape as a Label Studio region of `tool` ({type, from_name, to_name}), or null.
  function regionOfShape(shape, size, tool, original) {
    if (!shape.label) return null;
    const head = {
      id: shape.id, type: tool.type, from_name: tool.from_name, to_name: tool.to_name,
      original_width: original.w, original_height: original.h, image_rotation: 0,
    };
    if (shape.kind === "box") return regionOf(shape, size, tool, original);
    if (shape.kind === "polygon") {
      if (shape.points.length < 3) return null;
      const same = shape.origin && shape.origin.points === JSON.stringify(shape.points);
      const points = same ? shape.origin.percent : percents(shape.points, size);
      return { ...head, value: { points, closed: true, polygonlabels: [shape.label] } };
    }
    const o = shape.origin;
    const same = o && o.x === shape.x && o.y === shape.y;
    const [x, y] = same ? o.percent : percents([[shape.x, shape.y]], size)[0];
    const value = { x, y, keypointlabels: [shape.label] };
    if (shape.width != null) value.width = shape.width;
    return { ...head, value };
  }

  // The smallest unrotated rectangle around a shape: {x, y, w, h}.
  function bounds(shape) {
    if (shape.kind === "point") return { x: shape.x, y: shape.y, w: 0, h: 0 };
    const pts = shape.kind === "polygon" ? shape.points : corners(shape);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
  }

  // A box's four corners, rotated around its top-left corner.
  function corners(box) {
    const a = ((box.rotation || 0) * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    return [[0, 0], [box.w, 0], [box.w, box.h], [0, box.h]].map(([cx, cy]) =>
      [box.x + cx * cos - cy * sin, box.y + cx * sin + cy * cos]);
  }

  const inside = (pts, size) =>
    pts.every(([x, y]) => x >= 0 && y >= 0 && x <= size.w && y <= size.h);

  // The shape `start` moved by (dx, dy), kept inside the image: the fields to assign.
  function shifted(start, dx, dy, size) {
    if (start.kind === "box" && !start.rotation) return moved(start, dx, dy, size);
    const b = bounds(start);
    const mx = clamp(dx, -b.x, size.w - b.x - b.w);
    const my = clamp(dy, -b.y, size.h - b.y - b.h);
    if (start.kind === "polygon") return { points: start.points.map(([x, y]) => [x + mx, y + my]) };
    return { x: start.x + mx, y: start.y + my };
  }

  // The rotation after turning the box by the angle the pointer swept around its top-left
  // corner, from `from` to `to`, in [0, 360); null when a corner would leave the image.
  function turned(start, from, to, size) {
    const angle = (p) => (Math.atan2(p.y - start.y, p.x - start.x) * 180) / Math.PI;
    const deg = (((start.rotation || 0) + angle(to) - angle(from)) % 360 + 360) % 360;
    const rotation = Math.round(deg * 100) / 100;
    return inside(corners({ ...start, rotation }), size) ? rotation : null;
  }

  // A point inside the image.
  const within = (p, size) => ({ x: clamp(p.x, 0, size.w), y: clamp(p.y, 0, size.h) });

  return {
    clamp, newId, isBox, boxOf, clip, regionOf, spanned, moved, resized, handles,
    isMine, shapeOf, regionOfShape, bounds, corners, shifted, turned, within,
  };
})();
