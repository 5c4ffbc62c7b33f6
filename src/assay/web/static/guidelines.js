// The guideline page: publish a version, resolve re-checks, answer and resolve edge cases,
// each through the JSON API, then reload (the page is rendered by the server).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const root = $("guidelines");
  const project = root.dataset.project;
  const base = `/api/projects/${project}/guidelines`;

  async function send(method, url, body) {
    try {
      await window.assay.api(method, url, body);
      window.location.reload();
    } catch (error) {
      $("gl-message").textContent = error.message;
      $("gl-message").hidden = false;
    }
  }

  const publish = $("gl-publish-form");
  if (publish) {
    publish.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { markdown: $("gl-markdown").value, change_log: $("gl-change-log").value };
      const recheck = $("gl-recheck").value;
      if (recheck === "all") body.recheck = "all";
      else if (recheck.startsWith("label:")) body.recheck = { labels: [recheck.slice(6)] };
      send("POST", base, body);
    });
  }
  for (const button of document.querySelectorAll(".gl-recheck")) {
    button.addEventListener("click", () =>
      send("POST", `${base}/recheck/${button.dataset.task}`, {
        confirm: button.dataset.confirm === "true",
      }),
    );
  }
  for (const form of document.querySelectorAll(".gl-case-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const action = event.submitter ? event.submitter.dataset.action : "answer";
      const answer = form.querySelector(".gl-answer").value.trim();
      const url = `/api/edge-cases/${form.dataset.case}/${action}`;
      if (action === "resolve") {
        const version = Number(event.submitter.dataset.version);
        send("POST", url, answer ? { guideline_version: version, answer } : { guideline_version: version });
      } else {
        send("POST", url, { answer });
      }
    });
  }
})();
