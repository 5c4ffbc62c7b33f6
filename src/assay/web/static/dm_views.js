// Data manager: saved views (/api/dm/views), the tabs above the task table. A tab is a link
// (?view=<id>), so the server applies the view's filters and ordering and a reload keeps it.
// "Save view" saves the table's filters and ordering as the server computed them for this
// page (views_data.page); rename and delete are offered (by the server) only for a view the
// user may change. Every refusal of the API is shown in the dialog, in its own words.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("dm-views-data").textContent);
  const message = document.getElementById("dm-view-message");

  // Open a dialog whose form calls `submit(form)`; its error line shows what the API refused.
  function wire(buttonId, dialogId, prepare, submit) {
    const button = document.getElementById(buttonId);
    const dialog = document.getElementById(dialogId);
    if (!button || !dialog) return;
    const form = dialog.querySelector("form");
    const error = dialog.querySelector("[data-error]");
    const submitButton = form.querySelector("button[type=submit]");
    button.addEventListener("click", () => {
      error.hidden = true;
      if (prepare && prepare(form) === false) return;
      dialog.showModal();
    });
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => button.focus());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submitButton.disabled = true;
      try {
        await submit(form);
      } catch (failure) {
        error.textContent = explain(failure);
        error.hidden = false;
      } finally {
        submitButton.disabled = false;
      }
    });
  }

  // The API's detail, and each field's reasons when they add to it.
  function explain(failure) {
    const fields = (failure.body && failure.body.validation_errors) || {};
    const extra = Object.entries(fields)
      .map(([field, why]) => `${field}: ${[].concat(why).join(", ")}`)
      .filter((line) => !failure.message.includes(line));
    return [failure.message].concat(extra).join(" ");
  }

  function show(url) {
    location.assign(url);
  }

  wire(
    "dm-view-save",
    "dm-view-save-dialog",
    (form) => {
      if (data.page.error) {
        message.textContent = `This table cannot be saved as a view: ${data.page.error}`;
        message.hidden = false;
        message.focus();
        return false;
      }
      message.hidden = true;
      form.elements.title.value = "";
      return true;
    },
    async (form) => {
      const body = {
        project: data.project,
        data: { title: form.elements.title.value.trim(), ...data.page.data },
      };
      if (form.elements.scope) body.scope = form.elements.scope.value;
      const view = await assay.api("POST", "/api/dm/views", body);
      const url = new URL(data.all_url, location.href);
      url.searchParams.set("view", view.id);
      show(url);
    },
  );

  wire(
    "dm-view-rename",
    "dm-view-rename-dialog",
    (form) => {
      form.elements.title.value = data.data.title || "";
    },
    async (form) => {
      const body = { data: { ...data.data, title: form.elements.title.value.trim() } };
      await assay.api("PATCH", `/api/dm/views/${data.view}`, body);
      location.reload();
    },
  );

  wire("dm-view-delete", "dm-view-delete-dialog", null, async () => {
    await assay.api("DELETE", `/api/dm/views/${data.view}`);
    show(new URL(data.all_url, location.href));
  });

  document.body.dataset.dmViewsReady = "true";
})();
