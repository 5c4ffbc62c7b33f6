// Ground-truth editor: the label picker that pops up after a box is drawn (or on L /
// double-click). Typing filters the labels (names that start with the text come first), the
// arrow keys move the highlight, Enter or a click picks, Esc or a click elsewhere cancels.
"use strict";

window.assayEditor = window.assayEditor || {};

window.assayEditor.LabelPicker = class LabelPicker {
  // root: the #gt-picker element; labels: [{name, colour}] in label-config order.
  constructor(root, labels) {
    this.root = root;
    this.labels = labels;
    this.input = root.querySelector("input");
    this.list = root.querySelector("ul");
    this.shown = [];
    this.index = 0;
    this.request = null;
    this.input.addEventListener("input", () => this.filter(null));
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep the input focused
    this.list.addEventListener("click", (e) => {
      const item = e.target.closest("li");
      if (item) this.pick(Number(item.dataset.index));
    });
    document.addEventListener("pointerdown", (e) => {
      if (this.isOpen() && !root.contains(e.target)) this.cancel();
    }, true);
  }

  isOpen() {
    return !this.root.hidden;
  }

  // Open next to the screen point (x, y); `current` is highlighted first. Resolves to the
  // picked label name, or null when cancelled.
  open(x, y, current) {
    if (this.request) this.finish(null);
    this.root.hidden = false;
    this.input.value = "";
    this.filter(current);
    this.place(x, y);
    this.input.focus();
    return new Promise((resolve) => { this.request = resolve; });
  }

  place(x, y) {
    const { offsetWidth: w, offsetHeight: h } = this.root;
    const left = Math.min(Math.max(4, x), window.innerWidth - w - 4);
    const top = y + h + 4 > window.innerHeight ? Math.max(4, y - h - 8) : y + 4;
    this.root.style.left = `${left}px`;
    this.root.style.top = `${top}px`;
  }

  // The labels matching the typed text: prefix matches first, then any other match.
  matches(text) {
    const t = text.trim().toLowerCase();
    if (!t) return this.labels;
    const starts = this.labels.filter((l) => l.name.toLowerCase().startsWith(t));
    const inside = this.labels.filter(
      (l) => !starts.includes(l) && l.name.toLowerCase().includes(t),
    );
    return [...starts, ...inside];
  }

  filter(highlight) {
    this.shown = this.matches(this.input.value);
    const at = this.shown.findIndex((l) => l.name === highlight);
    this.index = at >= 0 ? at : 0;
    this.render();
  }

  render() {
    this.list.replaceChildren();
    this.shown.forEach((label, i) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.dataset.index = i;
      item.dataset.label = label.name;
      item.setAttribute("aria-selected", String(i === this.index));
      const swatch = document.createElement("span");
      swatch.className = "gt-swatch";
      swatch.style.background = label.colour;
      item.append(swatch, label.name);
      this.list.appendChild(item);
    });
    if (!this.shown.length) {
      const none = document.createElement("li");
      none.className = "gt-none";
      none.textContent = "No label matches";
      this.list.appendChild(none);
    }
    const active = this.list.children[this.index];
    if (active && active.scrollIntoView) active.scrollIntoView({ block: "nearest" });
  }

  onKey(event) {
    const n = this.shown.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (n) this.index = (this.index + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (n) this.pick(this.index);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.cancel();
    }
    event.stopPropagation(); // typing here is not an editor shortcut
  }

  pick(index) {
    const label = this.shown[index];
    if (label) this.finish(label.name);
  }

  cancel() {
    this.finish(null);
  }

  finish(value) {
    this.root.hidden = true;
    this.input.blur();
    const resolve = this.request;
    this.request = null;
    if (resolve) resolve(value);
  }
};
