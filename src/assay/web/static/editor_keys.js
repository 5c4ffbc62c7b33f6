// Ground-truth editor: the keyboard shortcuts (listed on the page, in gt_stage.html). Keys
// typed into the label picker, a select or a text field are theirs, not shortcuts.
"use strict";

window.assayEditor = window.assayEditor || {};

// on: {blocked(), space(held), done(), back(), remove(), deselect(), enter(), relabel(), zoomIn(),
// zoomOut(), fit(), nudge(dx, dy) in screen pixels, undo(), keys: {key: action} a page's own
// plain keys}; each returns nothing.
window.assayEditor.bindKeys = function bindKeys(on) {
  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const PLAIN = {
    Delete: on.remove, Backspace: on.remove, Escape: on.deselect, l: on.relabel, b: on.back,
    "+": on.zoomIn, "=": on.zoomIn, "-": on.zoomOut, _: on.zoomOut, 0: on.fit,
    ...(on.enter ? { Enter: on.enter } : {}),
    ...(on.keys || {}),
  };

  function typing(event) {
    const field = event.target.closest && event.target.closest("input, select, textarea");
    return on.blocked() || Boolean(field);
  }

  function onKeyDown(event) {
    if (typing(event)) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === " ") {
      event.preventDefault(); // no page scroll, no click on a focused button
      return on.space(true);
    }
    if ((event.ctrlKey || event.metaKey) && key === "Enter") {
      event.preventDefault();
      return on.done();
    }
    if ((event.ctrlKey || event.metaKey) && key === "z" && !event.shiftKey && on.undo) {
      event.preventDefault();
      return on.undo();
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (ARROWS[key]) {
      event.preventDefault();
      const step = event.shiftKey ? 10 : 1;
      return on.nudge(ARROWS[key][0] * step, ARROWS[key][1] * step);
    }
    if (!PLAIN[key]) return;
    event.preventDefault(); // L must not also type an "l" into the picker it opens
    PLAIN[key]();
  }

  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", (event) => event.key === " " && on.space(false));
  window.addEventListener("blur", () => on.space(false));
};
