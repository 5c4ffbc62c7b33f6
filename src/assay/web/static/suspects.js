// The GT suspects page: one card per task, its GT, the disagreeing annotators' boxes and the
// model's regions side by side (percent coordinates over the image), Confirm / Dismiss per
// suspect. Plain JS over the JSON API; texts go in with textContent only.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("suspects-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const KIND = { missing: "missing in GT", spurious: "spurious GT region",
                 swapped: "swapped label", badloc: "badly located",
                 gt_error: "reviewer decision: GT error" };
  const PAGE_SIZE = 20;
  let page = 1;

  const $ = (id) => document.getElementById(id);
  const url = (name, values) =>
    cfg.urls[name].replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(values[k]));
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function say(text) {
    $("suspects-message").textContent = text;
    $("suspects-message").hidden = !text;
  }

  function rect(svg, box, cls, label, title) {
    if (!box) return;
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", box.x); r.setAttribute("y", box.y);
    r.setAttribute("width", box.width); r.setAttribute("height", box.height);
    r.setAttribute("class", cls);
    r.setAttribute("vector-effect", "non-scaling-stroke");
    if (label) r.dataset.label = label;
    const t = document.createElementNS(SVG, "title");
    t.textContent = title || label || "";
    r.appendChild(t);
    svg.appendChild(r);
  }
  const boxOf = (item) => {
    const v = item.value || {};
    const label = (v.rectanglelabels || v.labels || [])[0] || "";
    return [{ x: v.x, y: v.y, width: v.width, height: v.height }, label];
  };

  function pane(title, image, cls) {
    const fig = el("figure", { class: "sx-pane " + cls });
    fig.appendChild(el("figcaption", {}, title));
    const stage = el("div", { class: "sx-stage" });
    if (image) stage.appendChild(el("img", { src: image, alt: "" }));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    stage.appendChild(svg);
    fig.appendChild(stage);
    return [fig, svg];
  }

  function imageOf(task) {
    for (const v of Object.values(task.data || {})) {
      if (typeof v === "string" && (v.startsWith("/") || /^(https?:|data:image\/)/.test(v))) return v;
    }
    return null;
  }

  async function decide(s, action, reason, row) {
    try {
      await assay.api("POST", url("decide", { key: s.key, action }), reason ? { reason } : {});
      row.dataset.decided = action;
      row.querySelectorAll("button, input").forEach((b) => { b.disabled = true; });
      row.querySelector(".sx-outcome").textContent =
        action === "confirm" ? "Confirmed: the GT is fixed." : "Dismissed.";
    } catch (e) {
      say(e.message);
    }
  }

  function suspectRow(s) {
    const row = el("li", { class: "sx-suspect", "data-key": s.key, "data-kind": s.kind });
    const what = el("div", { class: "sx-what" });
    what.appendChild(el("strong", {}, KIND[s.kind] || s.kind));
    const gt = s.evidence.gt_region;
    if (gt) what.appendChild(el("span", {}, ` region ${gt.id} (${gt.label})`));
    what.appendChild(el("span", { class: "sx-score" }, ` score ${s.score.toFixed(2)}`));
    const parts = [];
    if (s.annotator_score !== null) parts.push(`annotators ${s.annotator_score.toFixed(2)}`);
    if (s.model_score !== null) parts.push(`model ${s.model_score.toFixed(2)}`);
    if (parts.length) what.appendChild(el("span", { class: "muted" }, ` (${parts.join(", ")})`));
    row.appendChild(what);
    const who = el("ul", { class: "sx-evidence" });
    for (const a of s.evidence.annotators) {
      if (!s.evidence.disagreeing.includes(a.user_id)) continue;
      const how = a.label === null || a.label === undefined ? "drew nothing there"
        : `said ${a.label}` + (a.iou !== null && a.iou !== undefined ? `, IoU ${a.iou.toFixed(2)}` : "");
      who.appendChild(el("li", {}, `${a.email || "annotator " + a.user_id}: ${how}`));
    }
    for (const d of s.evidence.reviewer_decisions || []) {
      const regions = d.gt_regions.length ? ` on GT region ${d.gt_regions.join(", ")}` : "";
      const note = d.note ? `: ${d.note}` : "";
      who.appendChild(el("li", { class: "sx-reviewer" },
        `${d.email || "reviewer " + d.decided_by} decided "GT error"${regions}${note}`));
    }
    if (s.evidence.model) {
      who.appendChild(el("li", {}, `model ${s.evidence.model.model_version || "(no version)"}: ` +
        `suspicion ${s.evidence.model.score.toFixed(2)}`));
    }
    row.appendChild(who);
    if (cfg.may_decide) {
      const bar = el("div", { class: "sx-actions" });
      const reason = el("input", { type: "text", class: "sx-reason", placeholder: "Why (required to dismiss)",
                                   "aria-label": "Reason" });
      const ok = el("button", { type: "button", class: "primary sx-confirm" }, "Confirm");
      const no = el("button", { type: "button", class: "sx-dismiss" }, "Dismiss");
      ok.addEventListener("click", () => decide(s, "confirm", reason.value.trim(), row));
      no.addEventListener("click", () => {
        if (!reason.value.trim()) { say("Say why you dismiss it."); reason.focus(); return; }
        decide(s, "dismiss", reason.value.trim(), row);
      });
      bar.append(reason, ok, no, el("span", { class: "sx-outcome", role: "status" }));
      row.appendChild(bar);
    }
    return row;
  }

  async function card(t) {
    const box = el("article", { class: "card sx-task", "data-task": t.task });
    const head = el("header", { class: "sx-head" });
    head.appendChild(el("h2", {}, `Task ${t.task}`));
    head.appendChild(el("span", { class: "sx-score" }, `suspicion ${t.score.toFixed(2)}`));
    const open = el("a", { href: url("task_page", { task: t.task }) }, "Open task →");
    head.appendChild(open);
    box.appendChild(head);
    const [task, gt, preds] = await Promise.all([
      assay.api("GET", url("task", { task: t.task })),
      assay.api("GET", url("annotation", { annotation: t.gt_annotation })),
      assay.api("GET", url("predictions", { task: t.task })).catch(() => []),
    ]);
    const image = imageOf(task);
    const panes = el("div", { class: "sx-panes" });
    const [gtFig, gtSvg] = pane("Ground truth", image, "sx-pane-gt");
    const suspectRegions = new Set(t.suspects.map((s) => s.region).filter(Boolean));
    for (const item of gt.result || []) {
      if (item.type !== "rectanglelabels") continue;
      const [b, label] = boxOf(item);
      rect(gtSvg, b, "sx-gt" + (suspectRegions.has(item.id) ? " sx-flagged" : ""), label);
    }
    const [annFig, annSvg] = pane("Disagreeing annotators", image, "sx-pane-ann");
    for (const s of t.suspects) {
      for (const a of s.evidence.annotators) {
        if (s.evidence.disagreeing.includes(a.user_id) && a.box) rect(annSvg, a.box, "sx-ann", a.label, `${a.email}: ${a.label}`);
      }
      if (s.evidence.gt_region) rect(annSvg, s.evidence.gt_region.box, "sx-gt sx-ghost", s.evidence.gt_region.label);
    }
    const [modelFig, modelSvg] = pane("Model", image, "sx-pane-model");
    const latest = preds.length ? preds[preds.length - 1] : null;
    for (const item of (latest && latest.result) || []) {
      if (item.type !== "rectanglelabels") continue;
      const [b, label] = boxOf(item);
      rect(modelSvg, b, "sx-model", label);
    }
    panes.append(gtFig, annFig, modelFig);
    box.appendChild(panes);
    const list = el("ol", { class: "sx-suspects" });
    for (const s of t.suspects) list.appendChild(suspectRow(s));
    box.appendChild(list);
    return box;
  }

  async function load() {
    $("suspects").dataset.ready = "false";
    say("");
    try {
      const body = await assay.api("GET", `${cfg.urls.list}?page=${page}&page_size=${PAGE_SIZE}`);
      const list = $("suspects-list");
      list.replaceChildren(...(await Promise.all(body.results.map(card))));
      $("suspects-empty").hidden = body.count > 0;
      const last = Math.max(1, Math.ceil(body.count / PAGE_SIZE));
      $("suspects-pager").hidden = last <= 1;
      $("suspects-page").textContent = `Page ${page} of ${last} (${body.count} tasks)`;
      $("suspects-prev").disabled = page <= 1;
      $("suspects-next").disabled = page >= last;
    } catch (e) {
      say(e.message);
    }
    $("suspects").dataset.ready = "true";
  }

  $("suspects-prev").addEventListener("click", () => { page -= 1; load(); });
  $("suspects-next").addEventListener("click", () => { page += 1; load(); });
  load();
})();
