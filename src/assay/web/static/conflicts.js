// The conflicts page: the project's conflict groups in a table, each with the three decision
// buttons (leads and admins). Plain JS over the JSON API; texts go in with textContent only.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("conflicts-config").textContent);
  const DECISIONS = { guideline_issue: "Guideline issue", gt_error: "GT error",
                      training_need: "Training need" };
  const PAGE_SIZE = 50;
  let page = 1;

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function say(text) {
    $("conflicts-message").textContent = text;
    $("conflicts-message").hidden = !text;
  }
  function name(g) {
    if (g.by === "label_pair") return `${g.kind}: ${g.gt_label ?? "—"} → ${g.label ?? "—"}`;
    if (g.by === "annotator") return `annotator ${g.annotator}`;
    return `${g.field} = ${JSON.stringify(g.value)}`;
  }
  function decisionText(g) {
    return g.decision ? `${DECISIONS[g.decision]} (${g.decided_by_email || g.decided_by})` : "";
  }

  async function decide(g, decision, row) {
    try {
      const made = await assay.api("POST", cfg.urls.decide, { group: g.key, decision });
      row.dataset.decision = made.decision;
      row.querySelector(".cf-decision").textContent =
        `${DECISIONS[made.decision]} (${made.decided_by_email || made.decided_by})`;
    } catch (e) {
      say(e.message);
    }
  }

  function groupRow(g) {
    const row = el("tr", { class: "cf-group", "data-key": g.key, "data-decision": g.decision || "" });
    row.appendChild(el("td", {}, name(g)));
    row.appendChild(el("td", {}, g.kinds.join(", ")));
    row.appendChild(el("td", { class: "num" }, String(g.count)));
    row.appendChild(el("td", { class: "num" }, `${g.annotators} of ${g.annotators_on_tasks}`));
    row.appendChild(el("td", { class: "num" }, String(g.tasks)));
    row.appendChild(el("td", { class: "num" }, g.spread.toFixed(2)));
    row.appendChild(el("td", { class: "cf-reading" }, g.reading));
    const ex = el("td");
    for (const task of new Set(g.examples.map((e) => e.task))) {
      const a = el("a", { href: cfg.urls.task_page.replace("{task}", task) }, `#${task}`);
      ex.appendChild(a);
      ex.appendChild(document.createTextNode(" "));
    }
    row.appendChild(ex);
    const cell = el("td");
    cell.appendChild(el("span", { class: "cf-decision" }, decisionText(g)));
    if (cfg.may_decide) {
      for (const [value, label] of Object.entries(DECISIONS)) {
        const b = el("button", { type: "button", class: `cf-${value}` }, label);
        b.addEventListener("click", () => decide(g, value, row));
        cell.appendChild(b);
      }
    }
    row.appendChild(cell);
    return row;
  }

  async function load() {
    $("conflicts").dataset.ready = "false";
    say("");
    const by = $("conflicts-by").value;
    const params = new URLSearchParams({ by, page, page_size: PAGE_SIZE });
    if (by === "data_field") params.set("field", $("conflicts-field").value);
    try {
      const body = await assay.api("GET", `${cfg.urls.groups}?${params}`);
      $("conflicts-table").querySelector("tbody").replaceChildren(...body.results.map(groupRow));
      $("conflicts-empty").hidden = body.count > 0;
      const last = Math.max(1, Math.ceil(body.count / PAGE_SIZE));
      $("conflicts-pager").hidden = last <= 1;
      $("conflicts-page").textContent = `Page ${page} of ${last} (${body.count} groups)`;
      $("conflicts-prev").disabled = page <= 1;
      $("conflicts-next").disabled = page >= last;
    } catch (e) {
      say(e.message);
    }
    $("conflicts").dataset.ready = "true";
  }

  $("conflicts-form").addEventListener("submit", (ev) => { ev.preventDefault(); page = 1; load(); });
  $("conflicts-prev").addEventListener("click", () => { page -= 1; load(); });
  $("conflicts-next").addEventListener("click", () => { page += 1; load(); });
  load();
})();
