// The import page: upload images or label files to the API with XMLHttpRequest (whose upload
// progress events move the bar), then show the API's counts, or its `detail` and every
// `validation_errors` entry. Nothing here decides what is valid: the API does.
"use strict";

(function () {
  const urls = JSON.parse(document.getElementById("import-urls").textContent);
  const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

  function labelsQuery(form) {
    const f = form.elements;
    const params = new URLSearchParams({ format: f.format.value, as: f.as.value });
    if (f.as.value === "annotations" && f.annotator.value) params.set("annotator", f.annotator.value);
    if (f.as.value === "predictions" && f.model_version.value.trim()) {
      params.set("model_version", f.model_version.value.trim());
    }
    if (f.format.value === "voc") params.set("voc_convention", f.voc_convention.value);
    if (f.create_missing.checked) params.set("create_missing", "true");
    if (f.add_labels.checked) params.set("add_labels", "true");
    return params.toString();
  }

  function summary(kind, r) {
    if (kind === "images") return `Imported ${plural(r.task_count, "image")} as tasks.`;
    let text =
      `Imported ${plural(r.annotation_count, "annotation")} and ` +
      `${plural(r.prediction_count, "prediction")} on ` +
      `${plural(r.matched_task_count, "matched task")}` +
      (r.task_count ? ` and ${plural(r.task_count, "new task")}` : "") + ".";
    if (r.replaced_prediction_count) {
      text += ` ${plural(r.replaced_prediction_count, "earlier prediction")} of that model replaced.`;
    }
    if (r.labels_added && r.labels_added.length) text += ` Labels added: ${r.labels_added.join(", ")}.`;
    return text;
  }

  function setUp(form) {
    const kind = form.dataset.kind;
    const run = form.querySelector(".transfer-run");
    const bar = document.getElementById(`${kind}-progress`);
    const status = document.getElementById(`${kind}-status`);
    const errors = document.getElementById(`${kind}-errors`);
    const button = form.querySelector('button[type="submit"]');
    const input = form.querySelector('input[type="file"]');

    function show(text, problems) {
      status.textContent = text;
      status.classList.toggle("error", problems !== null);
      errors.replaceChildren();
      errors.hidden = !problems || !problems.length;
      for (const line of problems || []) {
        const li = document.createElement("li");
        li.textContent = line;
        errors.appendChild(li);
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!input.files.length) return;
      const body = new FormData();
      for (const file of input.files) body.append(input.name, file, file.name);
      const url = kind === "images" ? urls.images : `${urls.labels}?${labelsQuery(form)}`;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", assay.csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        bar.value = Math.round((100 * e.loaded) / e.total);
        status.textContent = bar.value < 100
          ? `Uploading… ${bar.value} %`
          : "Uploaded; importing…";
      });
      xhr.addEventListener("load", () => {
        button.disabled = false;
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (_) {
          data = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && data) {
          bar.value = 100;
          show(summary(kind, data), null);
          for (const note of data.notes || []) {
            const li = document.createElement("li");
            li.textContent = `Not imported: ${note}`;
            errors.appendChild(li);
            errors.hidden = false;
          }
          input.value = "";
          return;
        }
        const detail = (data && data.detail) || `The server answered ${xhr.status}.`;
        const problems = [];
        const fields = (data && data.validation_errors) || {};
        for (const [field, whys] of Object.entries(fields)) {
          for (const why of [].concat(whys)) {
            if (!detail.includes(String(why))) problems.push(`${field}: ${why}`);
          }
        }
        bar.value = 0;
        show(`Nothing was imported. ${detail}`, problems);
      });
      xhr.addEventListener("error", () => {
        button.disabled = false;
        show("The upload failed: the server could not be reached.", []);
      });
      button.disabled = true;
      run.hidden = false;
      bar.value = 0;
      show(`Uploading ${plural(input.files.length, "file")}…`, null);
      xhr.send(body);
    });
  }

  for (const form of document.querySelectorAll("form.transfer-form")) setUp(form);

  // Show the annotator or the model version, whichever the import is as.
  const labels = document.getElementById("labels-form");
  function showAs() {
    const asPredictions = labels.elements.as.value === "predictions";
    document.getElementById("labels-annotator-field").hidden = asPredictions;
    document.getElementById("labels-model-field").hidden = !asPredictions;
    document.getElementById("labels-voc-field").hidden = labels.elements.format.value !== "voc";
  }
  labels.addEventListener("change", showAs);
  showAs();
})();
