// Task page: draw one annotation's or prediction's regions (or all of them) over the image.
// Regions are Label Studio results: x, y, width, height and polygon points in percent of the
// image size, origin top-left; rotation in degrees clockwise around the box's top-left corner.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FALLBACK_COLOUR = "#868e96";
  const data = JSON.parse(document.getElementById("task-data").textContent);
  const img = document.getElementById("task-image");
  const overlay = document.getElementById("overlay");
  const legend = document.getElementById("legend");
  const buttons = Array.from(document.querySelectorAll("#sources .source"));
  const sources = new Map(data.sources.map((s) => [s.key, s]));
  const fromHash = decodeURIComponent(location.hash.slice(1));
  let selected = fromHash === "all" || sources.has(fromHash) ? fromHash : data.selected;

  function svg(name, attrs, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function labelOf(region) {
    const value = region.value || {};
    const names = value[region.type] || value.labels || [];
    return names.length ? String(names[0]) : region.type;
  }

  function colourOf(label) {
    return data.colours[label] || FALLBACK_COLOUR;
  }

  // One region as an SVG group (shape + label tag), in screen pixels of a w x h image.
  function drawRegion(region, source, w, h) {
    const v = region.value || {};
    const type = String(region.type || "");
    const label = labelOf(region);
    const colour = colourOf(label);
    const g = svg("g", { class: `region ${source.kind}`, "data-label": label }, overlay);
    let anchor;
    if (type.startsWith("rectangle")) {
      const x = (v.x * w) / 100;
      const y = (v.y * h) / 100;
      svg("rect", {
        class: "shape", x, y, width: (v.width * w) / 100, height: (v.height * h) / 100,
        transform: `rotate(${Number(v.rotation) || 0} ${x} ${y})`, stroke: colour,
      }, g);
      anchor = [x, y];
    } else if (type.startsWith("polygon")) {
      const points = (v.points || []).map(([px, py]) => [(px * w) / 100, (py * h) / 100]);
      const coords = points.map((p) => p.join(",")).join(" ");
      svg("polygon", { class: "shape", points: coords, stroke: colour, fill: colour }, g);
      anchor = points.reduce((best, p) => (p[1] < best[1] ? p : best), points[0] || [0, 0]);
    } else if (type.startsWith("keypoint")) {
      const cx = (v.x * w) / 100;
      const cy = (v.y * h) / 100;
      svg("circle", { class: "shape point", cx, cy, r: 4, fill: colour, stroke: colour }, g);
      anchor = [cx - 4, cy - 4];
    } else {
      g.remove();
      return null;
    }
    const score = typeof region.score === "number" ? ` ${region.score.toFixed(2)}` : "";
    tag(g, label + score, colour, anchor, h);
    return g;
  }

  // A filled label tag just above the anchor point, or just below it at the top edge.
  function tag(g, text, colour, [x, y], h) {
    const background = svg("rect", { class: "tag", fill: colour }, g);
    const label = svg("text", { class: "tag-text" }, g);
    label.textContent = text;
    const box = label.getBBox();
    const top = y - box.height - 2 < 0 ? Math.min(y + 2, h - box.height) : y - box.height - 2;
    label.setAttribute("x", x + 3);
    label.setAttribute("y", top + box.height - 4);
    background.setAttribute("x", x);
    background.setAttribute("y", top);
    background.setAttribute("width", box.width + 6);
    background.setAttribute("height", box.height);
  }

  function shown() {
    return selected === "all" ? data.sources : [sources.get(selected)].filter(Boolean);
  }

  // Scale the image to fit the viewer (up or down), keeping its aspect ratio.
  function fit() {
    const nw = img.naturalWidth;
    const nh = img.naturalHeight;
    if (!nw || !nh) return;
    const box = img.parentElement.parentElement;
    const room = window.innerHeight - box.getBoundingClientRect().top - 16;
    const scale = Math.min(box.clientWidth / nw, Math.max(room, 200) / nh);
    img.style.width = `${Math.floor(nw * scale)}px`;
    img.style.height = `${Math.floor(nh * scale)}px`;
  }

  function draw() {
    const w = img.clientWidth;
    const h = img.clientHeight;
    overlay.replaceChildren();
    overlay.setAttribute("width", w);
    overlay.setAttribute("height", h);
    overlay.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const counts = new Map();
    const choices = [];
    for (const source of shown()) {
      for (const region of source.result || []) {
        if (String(region.type).startsWith("choices")) {
          choices.push(...((region.value || {}).choices || []));
        } else if (drawRegion(region, source, w, h)) {
          const label = labelOf(region);
          counts.set(label, (counts.get(label) || 0) + 1);
        }
      }
    }
    drawLegend(counts, choices);
  }

  function drawLegend(counts, choices) {
    legend.replaceChildren();
    for (const [label, n] of counts) {
      const item = document.createElement("span");
      item.className = "legend-item";
      const swatch = svg("svg", { class: "swatch", width: 12, height: 12 }, item);
      svg("rect", { width: 12, height: 12, rx: 2, fill: colourOf(label) }, swatch);
      item.append(` ${label} × ${n}`);
      legend.appendChild(item);
    }
    if (choices.length) {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.textContent = `Classes: ${choices.join(", ")}`;
      legend.appendChild(item);
    }
  }

  function select(key) {
    selected = key;
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.source === key));
    }
    history.replaceState(null, "", `#${encodeURIComponent(key)}`);
    if (img && img.complete && img.naturalWidth) draw();
  }

  for (const button of buttons) {
    button.addEventListener("click", () => select(button.dataset.source));
  }
  select(selected);

  // Ground-truth stars (leads and admins only): a task has at most one GT, so starring one
  // annotation unstars the others, as the server does in the same transaction.
  const stars = Array.from(document.querySelectorAll("#sources button.star"));
  const starMessage = document.getElementById("task-message");

  function showGroundTruth(gtId) {
    for (const star of stars) {
      const on = Number(star.dataset.annotation) === gtId;
      star.setAttribute("aria-pressed", String(on));
      star.textContent = on ? "★" : "☆";
      star.title = on ? "Unset ground truth" : "Make this the ground truth";
    }
    for (const badge of document.querySelectorAll("[data-gt-badge]")) {
      badge.hidden = Number(badge.dataset.gtBadge) !== gtId;
    }
    for (const source of data.sources) {
      if (source.kind === "annotation") source.ground_truth = source.id === gtId;
    }
  }

  function tell(text, isError) {
    starMessage.textContent = text;
    starMessage.classList.toggle("error", isError);
    starMessage.setAttribute("role", isError ? "alert" : "status");
    starMessage.hidden = false;
  }

  for (const star of stars) {
    star.addEventListener("click", async () => {
      const id = Number(star.dataset.annotation);
      const value = star.getAttribute("aria-pressed") !== "true";
      for (const other of stars) other.disabled = true;
      try {
        await assay.api("PATCH", `/api/annotations/${id}`, { ground_truth: value });
        showGroundTruth(value ? id : null);
        tell(
          value
            ? `Annotation #${id} is now the ground truth.`
            : `Annotation #${id} is no longer the ground truth.`,
          false,
        );
      } catch (error) {
        tell(`The ground truth did not change: ${error.message}`, true);
      } finally {
        for (const other of stars) other.disabled = false;
        star.focus();
      }
    });
  }

  if (!img) return;
  function ready() {
    fit();
    draw();
    document.body.dataset.drawn = "true";
  }
  img.addEventListener("error", () => {
    document.getElementById("image-error").hidden = false;
    img.parentElement.hidden = true;
  });
  if (img.complete && img.naturalWidth) ready();
  else img.addEventListener("load", ready);
  // Refit when the room changes: window resize, a scrollbar coming or going.
  let room = [0, 0];
  window.addEventListener("resize", refit);
  new ResizeObserver(refit).observe(img.parentElement.parentElement);
  function refit() {
    const viewer = img.parentElement.parentElement;
    if (!img.naturalWidth || (viewer.clientWidth === room[0] && window.innerHeight === room[1])) return;
    room = [viewer.clientWidth, window.innerHeight];
    fit();
    draw();
  }
})();
