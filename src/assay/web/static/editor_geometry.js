// Ground-truth editor: boxes and their conversion to and from Label Studio regions.
// Inside the editor a box is {id, label, x, y, w, h, rotation} in pixels of the original image,
// origin top-left; regions on the wire keep x, y, width, height in percent of the image size.
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

  return { clamp, newId, isBox, boxOf, clip, regionOf, spanned, moved, resized, handles };
})();
