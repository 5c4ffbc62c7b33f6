// Ground-truth editor: panes that show the image and its boxes, and the viewer that
// zooms and pans both panes together. The image is never re-encoded: the <img> and the SVG over
// it are sized to (image size × zoom) CSS pixels, and the SVG's viewBox is the image in original
// pixels, so boxes are drawn in original pixels at every zoom.
"use strict";

window.assayEditor = window.assayEditor || {};

(function (E) {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FALLBACK_COLOUR = "#868e96";
  const TAG_FONT = "600 12px system-ui, sans-serif";
  const TAG_HEIGHT = 16; // screen pixels
  const HANDLE = 9; // screen pixels
  const ROTATE_OFFSET = 22; // screen pixels between a box's top edge and its rotation handle
  const ZOOM_STEP = 1.25;

  function svgEl(name, attrs, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  const textWidths = new Map();
  function textWidth(text) {
    if (!textWidths.has(text)) {
      const ctx = (textWidth.canvas ||= document.createElement("canvas")).getContext("2d");
      ctx.font = TAG_FONT;
      textWidths.set(text, ctx.measureText(text).width);
    }
    return textWidths.get(text);
  }

  class Pane {
    constructor(section) {
      this.section = section;
      this.viewport = section.querySelector(".gt-viewport");
      this.stage = section.querySelector(".gt-stage");
      this.img = section.querySelector(".gt-image");
      this.svg = section.querySelector(".gt-svg");
      this.layer = svgEl("g", { class: "gt-boxes" }, this.svg);
      this.size = { w: 1, h: 1 };
      this.zoom = 1;
    }

    // Show the image at `url`; resolves to its size once something is shown. With a `preview`
    // ({url, size}: its thumbnail and the image's own size) the thumbnail is shown scaled up at
    // once and the full image takes its place when it has loaded (data-full="true" then).
    async load(url, preview) {
      this.wanted = url;
      if (preview && this.img.getAttribute("src") !== url) {
        this.img.dataset.full = "false";
        this.img.src = preview.url;
        try {
          await this.img.decode();
        } catch (error) {
          preview = null; // no thumbnail: wait for the full image
        }
        const { naturalWidth: nw, naturalHeight: nh } = this.img;
        if (preview && Math.abs(nw / nh - preview.size.w / preview.size.h) < 0.02) {
          const full = new Image();
          full.src = url;
          full.decode().then(
            () => {
              if (this.wanted !== url) return; // another task is shown by now
              this.img.src = url;
              this.img.dataset.full = "true";
            },
            () => {
              if (this.wanted === url) this.img.dataset.full = "failed";
            },
          );
          return preview.size;
        }
      }
      if (this.img.getAttribute("src") !== url) this.img.src = url;
      await this.img.decode();
      this.img.dataset.full = "true";
      return { w: this.img.naturalWidth, h: this.img.naturalHeight };
    }

    // No image (it could not be loaded): nothing to show or draw on.
    blank() {
      this.img.removeAttribute("src");
      this.layer.replaceChildren();
    }

    setSize(size) {
      this.size = size;
      this.svg.setAttribute("viewBox", `0 0 ${size.w} ${size.h}`);
    }

    setZoom(zoom) {
      this.zoom = zoom;
      const w = Math.max(1, Math.floor(this.size.w * zoom));
      const h = Math.max(1, Math.floor(this.size.h * zoom));
      for (const node of [this.stage, this.img, this.svg]) {
        node.style.width = `${w}px`;
        node.style.height = `${h}px`;
      }
    }

    // The zoom at which the whole image fits the viewport.
    fitZoom() {
      const { clientWidth, clientHeight } = this.viewport;
      return Math.min(clientWidth / this.size.w, clientHeight / this.size.h) || 1;
    }

    // A point on screen (client pixels) in original image pixels.
    toImage(clientX, clientY) {
      const r = this.svg.getBoundingClientRect();
      return {
        x: ((clientX - r.left) * this.size.w) / r.width,
        y: ((clientY - r.top) * this.size.h) / r.height,
      };
    }

    centre() {
      const r = this.viewport.getBoundingClientRect();
      const { clientWidth, clientHeight } = this.viewport;
      return { x: r.left + clientWidth / 2, y: r.top + clientHeight / 2 };
    }

    // Draw every box; the smaller ones last, so they stay clickable on top of big ones.
    draw(boxes, look) {
      this.layer.replaceChildren();
      const area = (s) => { const b = E.geometry.bounds(s); return b.w * b.h; };
      const order = [...boxes].sort((a, b) => area(b) - area(a));
      for (const box of order) {
        const g = svgEl("g", { class: "gt-box", "data-id": box.id }, this.layer);
        this.fill(g, box, look);
      }
    }

    // Redraw one box in place (while it is dragged), without touching the others.
    redraw(box, look) {
      const g = this.layer.querySelector(`g[data-id="${CSS.escape(box.id)}"]`);
      if (g) this.fill(g, box, look);
    }

    // One box's shapes: outline, label tag, and handles when selected. `look` gives
    // colourOf(label), the selected id and whether boxes can be edited.
    fill(g, box, look) {
      const colour = look.colourOf(box.label) || FALLBACK_COLOUR;
      const selected = look.editable && box.id === look.selected;
      g.replaceChildren();
      g.dataset.label = box.label || "";
      g.dataset.kind = box.kind || "box";
      g.classList.toggle("selected", selected);
      g.classList.toggle("unlabeled", !box.label);
      if (box.kind === "polygon") return this.fillPolygon(g, box, colour, selected, look);
      if (box.kind === "point") return this.fillPoint(g, box, colour);
      this.fillBox(g, box, colour, selected, look);
    }

    // A label tag with its top-left corner at (x, y) in image pixels.
    tag(g, box, colour, x, y, turn = {}) {
      const z = this.zoom;
      const text = (box.label || "?") + (box.score != null ? ` ${box.score.toFixed(2)}` : "");
      const tagW = (textWidth(text) + 8) / z;
      const tagH = TAG_HEIGHT / z;
      svgEl("rect", {
        class: "gt-tag", x, y, width: tagW, height: tagH, fill: colour, ...turn,
      }, g);
      const label = svgEl("text", {
        class: "gt-tag-text", x: x + 4 / z, y: y + 12 / z, "font-size": 12 / z, ...turn,
      }, g);
      label.textContent = text;
    }

    fillPolygon(g, poly, colour, selected, look) {
      const z = this.zoom;
      const points = poly.points.map((p) => p.join(",")).join(" ");
      svgEl("polygon", { class: "gt-body", points, stroke: colour, fill: colour }, g);
      const top = poly.points.reduce((a, p) => (p[1] < a[1] ? p : a), poly.points[0]);
      const tagH = TAG_HEIGHT / z;
      this.tag(g, poly, colour, top[0], top[1] - tagH >= 0 ? top[1] - tagH : top[1]);
      if (!selected) return;
      const r = HANDLE / 2 / z;
      poly.points.forEach(([x, y], i) => {
        const chosen = look.vertex === i;
        svgEl("circle", {
          class: `gt-vertex${chosen ? " chosen" : ""}`, "data-vertex": i, cx: x, cy: y,
          r: chosen ? r * 1.5 : r, stroke: colour,
        }, g);
      });
    }

    fillPoint(g, point, colour) {
      const z = this.zoom;
      svgEl("circle", {
        class: "gt-body gt-point", cx: point.x, cy: point.y, r: 5 / z, stroke: colour, fill: colour,
      }, g);
      this.tag(g, point, colour, point.x + 7 / z, point.y - TAG_HEIGHT / z / 2);
    }

    fillBox(g, box, colour, selected, look) {
      const z = this.zoom;
      const turn = box.rotation ? { transform: `rotate(${box.rotation} ${box.x} ${box.y})` } : {};
      svgEl("rect", {
        class: "gt-body", x: box.x, y: box.y, width: box.w, height: box.h,
        stroke: colour, fill: colour, ...turn,
      }, g);
      const tagH = TAG_HEIGHT / z;
      const top = box.y - tagH >= 0 ? box.y - tagH : box.y;
      this.tag(g, box, colour, box.x, top, turn);
      if (selected && !box.rotation) this.handles(g, box, colour);
      if (selected && look.rotatable && look.rotatable(box)) {
        const at = this.rotateHandle(box);
        svgEl("line", {
          class: "gt-rotate-line", x1: at.base[0], y1: at.base[1], x2: at.x, y2: at.y,
          stroke: colour,
        }, g);
        svgEl("circle", {
          class: "gt-rotate", "data-rotate": "1", cx: at.x, cy: at.y, r: HANDLE / 1.6 / z,
          stroke: colour,
        }, g);
      }
    }

    // Where a box's rotation handle is: above the middle of its top edge (below it when that
    // would leave the image), turned with the box.
    rotateHandle(box) {
      const off = ROTATE_OFFSET / this.zoom;
      const a = ((box.rotation || 0) * Math.PI) / 180;
      const at = (cx, cy) => [
        box.x + cx * Math.cos(a) - cy * Math.sin(a), box.y + cx * Math.sin(a) + cy * Math.cos(a),
      ];
      let [x, y] = at(box.w / 2, -off);
      if (x < 0 || y < 0 || x > this.size.w || y > this.size.h) [x, y] = at(box.w / 2, off);
      return { x, y, base: at(box.w / 2, 0) };
    }

    handles(g, box, colour) {
      const size = HANDLE / this.zoom;
      for (const h of E.geometry.handles(box)) {
        svgEl("rect", {
          class: `gt-handle gt-handle-${h.name}`, "data-handle": h.name,
          x: h.x - size / 2, y: h.y - size / 2, width: size, height: size, stroke: colour,
        }, g);
      }
    }

    // The polygon being drawn: its points, a line to the pointer `to`, and a ring around the
    // first point, which closes it when clicked; null removes it.
    draftPolygon(points, to) {
      let node = this.svg.querySelector(".gt-draft-polygon");
      if (!points) return node && node.remove();
      node ||= svgEl("g", { class: "gt-draft-polygon" }, this.svg);
      node.replaceChildren();
      const z = this.zoom;
      const all = to ? [...points, [to.x, to.y]] : points;
      svgEl("polyline", { class: "gt-draft", points: all.map((p) => p.join(",")).join(" ") }, node);
      points.forEach(([x, y], i) => {
        svgEl("circle", {
          class: i ? "gt-draft-vertex" : "gt-draft-vertex gt-draft-first", cx: x, cy: y,
          r: (i ? HANDLE / 2 : HANDLE) / z,
        }, node);
      });
    }

    // A dashed rectangle while a new box is dragged out; null removes it.
    draft(box) {
      let node = this.svg.querySelector(".gt-draft");
      if (!box) return node && node.remove();
      node ||= svgEl("rect", { class: "gt-draft" }, this.svg);
      for (const [k, v] of Object.entries({ x: box.x, y: box.y, width: box.w, height: box.h })) {
        node.setAttribute(k, v);
      }
    }
  }

  // Zoom and pan for both panes at once: same zoom, same scroll position. Zoom keeps the image
  // point under the pointer (or the viewport centre) where it is; "fit" shows the whole image
  // and follows the viewport's size until the lead zooms.
  function createViewer(left, right, onZoom) {
    const panes = [left, right];
    let zoom = 1;
    let fitted = true;
    let pan = null;
    const viewer = { spaceHeld: false };

    function limits() {
      const fit = left.fitZoom();
      return [Math.min(fit, 1) / 2, Math.max(8, fit)];
    }

    function apply(z) {
      zoom = z;
      for (const pane of panes) pane.setZoom(z);
      onZoom(z);
    }

    function zoomAt(pane, z, clientX, clientY) {
      const [lo, hi] = limits();
      const p = pane.toImage(clientX, clientY);
      apply(E.geometry.clamp(z, lo, hi));
      fitted = false;
      const r = pane.svg.getBoundingClientRect();
      pane.viewport.scrollLeft += r.left + (p.x * r.width) / pane.size.w - clientX;
      pane.viewport.scrollTop += r.top + (p.y * r.height) / pane.size.h - clientY;
      follow(pane);
    }

    // Scroll the other pane to where `source` is. Scroll events arrive a frame later, so each
    // pane remembers where it was sent: its own event for that position is an echo, not a move.
    function follow(source) {
      const x = source.viewport.scrollLeft;
      const y = source.viewport.scrollTop;
      for (const pane of panes) {
        const there = pane.viewport.scrollLeft === x && pane.viewport.scrollTop === y;
        if (pane === source || there) continue;
        pane.sentTo = { x, y };
        pane.viewport.scrollLeft = x;
        pane.viewport.scrollTop = y;
      }
    }

    function onScroll(pane) {
      const sent = pane.sentTo;
      pane.sentTo = null;
      if (sent && sent.x === pane.viewport.scrollLeft && sent.y === pane.viewport.scrollTop) return;
      follow(pane);
    }

    viewer.zoomBy = (factor) => {
      const c = left.centre();
      zoomAt(left, zoom * factor, c.x, c.y);
    };
    viewer.zoomIn = () => viewer.zoomBy(ZOOM_STEP);
    viewer.zoomOut = () => viewer.zoomBy(1 / ZOOM_STEP);
    viewer.fit = () => {
      apply(left.fitZoom());
      fitted = true;
      left.viewport.scrollTo(0, 0);
      follow(left);
    };
    viewer.setSize = (size) => {
      for (const pane of panes) pane.setSize(size);
      viewer.fit();
    };
    viewer.zoom = () => zoom;
    viewer.follow = follow;

    function onWheel(pane, event) {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      const factor = Math.exp(-E.geometry.clamp(event.deltaY, -300, 300) * 0.0015);
      zoomAt(pane, zoom * factor, event.clientX, event.clientY);
    }

    // Space + drag (or the middle button) pans; it comes before the drawing tools.
    function onPointerDown(pane, event) {
      if (!(viewer.spaceHeld && event.button === 0) && event.button !== 1) return;
      event.preventDefault();
      event.stopPropagation();
      const { scrollLeft, scrollTop } = pane.viewport;
      pan = { pane, x: event.clientX, y: event.clientY, left: scrollLeft, top: scrollTop };
      pane.viewport.setPointerCapture(event.pointerId);
      pane.viewport.classList.add("gt-grabbing");
    }

    function onPointerMove(event) {
      if (!pan) return;
      pan.pane.viewport.scrollLeft = pan.left - (event.clientX - pan.x);
      pan.pane.viewport.scrollTop = pan.top - (event.clientY - pan.y);
    }

    function onPointerUp() {
      if (!pan) return;
      pan.pane.viewport.classList.remove("gt-grabbing");
      pan = null;
    }

    for (const pane of panes) {
      const vp = pane.viewport;
      vp.addEventListener("scroll", () => onScroll(pane));
      vp.addEventListener("wheel", (e) => onWheel(pane, e), { passive: false });
      vp.addEventListener("pointerdown", (e) => onPointerDown(pane, e), true);
      vp.addEventListener("pointermove", onPointerMove);
      vp.addEventListener("pointerup", onPointerUp);
      vp.addEventListener("pointercancel", onPointerUp);
    }
    new ResizeObserver(() => {
      if (fitted && left.size.w > 1) viewer.fit();
      else follow(left);
    }).observe(left.viewport);
    return viewer;
  }

  E.Pane = Pane;
  E.createViewer = createViewer;
  E.svgEl = svgEl;
})(window.assayEditor);
