// New project and project settings: add and remove label rows, and show either the label
// set or the config's XML. Without JavaScript the form still works: both parts show, and
// the blank rows take new labels.
"use strict";

(function () {
  const form = document.getElementById("project-form");
  if (!form) return;
  const rows = document.querySelector("#label-rows tbody");
  const add = document.getElementById("label-add");
  const palette = add.dataset.palette.split(",");
  const labelsPart = document.getElementById("labels-part");
  const xmlPart = document.getElementById("xml-part");

  function showMode() {
    const xml = form.elements.mode.value === "xml";
    labelsPart.hidden = xml;
    xmlPart.hidden = !xml;
  }

  function addRow() {
    const row = rows.rows[0].cloneNode(true);
    const [name, colour] = row.querySelectorAll("input");
    name.value = "";
    colour.value = palette[rows.rows.length % palette.length];
    rows.appendChild(row);
    name.focus();
  }

  add.addEventListener("click", addRow);
  rows.addEventListener("click", (event) => {
    const remove = event.target.closest(".label-remove");
    if (!remove) return;
    const row = remove.closest("tr");
    if (rows.rows.length > 1) row.remove();
    else row.querySelector('input[name="label"]').value = "";
  });
  rows.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.target.name !== "label") return;
    event.preventDefault(); // Enter in a label adds the next one instead of submitting
    const row = event.target.closest("tr");
    if (row === rows.rows[rows.rows.length - 1]) addRow();
    else row.nextElementSibling.querySelector('input[name="label"]').focus();
  });
  for (const radio of form.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", showMode);
  }
  showMode();
})();
