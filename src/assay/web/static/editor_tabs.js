// Compare tabs: other results of the task (annotators, ground truth, consensus, models) shown
// read-only in the right pane, zoomed and scrolled with the left one. Tab 0 shows the left pane
// alone; keys 1-9 pick a tab (the page binds them). The chosen tab is kept for the next task
// when that task has a tab with the same key. Used by the review and adjudication pages.
"use strict";

window.assayEditor = window.assayEditor || {};

// nav: the tab list element; right: the read-only Pane; viewer: from createViewer; left: the
// editable Pane; opts: {root (gets data-compare), title, count (header elements), size()
// (the image's natural size), look(editable)}.
window.assayEditor.createCompareTabs = function createCompareTabs(nav, right, viewer, left, opts) {
  const G = window.assayEditor.geometry;
  const plural = (shapes) => window.assayEditor.countText(shapes);
  let tabs = [];
  let chosen = null; // the key the user picked

  const boxesOf = (result) => result.map((r) => G.shapeOf(r, opts.size())).filter(Boolean);

  // tabs: [{key, title, result}], the first one with result null (nothing on the right).
  function set(list) {
    tabs = list;
    nav.replaceChildren();
    tabs.forEach((tab, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "tab");
      b.dataset.key = tab.key;
      b.dataset.index = String(i);
      b.textContent = tab.result ? `${i}. ${tab.title} · ${plural(boxesOf(tab.result))}` : tab.title;
      b.addEventListener("click", () => {
        b.blur();
        choose(i);
      });
      nav.appendChild(b);
    });
    nav.hidden = tabs.length < 2;
    const keep = tabs.findIndex((t) => t.key === chosen);
    show(keep >= 0 ? keep : 0);
  }

  function choose(i) {
    if (!tabs[i]) return;
    chosen = tabs[i].key;
    show(i);
  }

  function show(i) {
    const tab = tabs[i];
    for (const b of nav.children) {
      b.setAttribute("aria-selected", String(Number(b.dataset.index) === i));
    }
    right.section.hidden = !tab.result;
    opts.root.dataset.compare = tab.key;
    if (tab.result) {
      opts.title.textContent = tab.title;
      viewer.follow(left);
    }
    draw();
  }

  function draw() {
    const tab = tabs.find((t) => t.key === opts.root.dataset.compare);
    const boxes = tab && tab.result ? boxesOf(tab.result) : [];
    right.draw(boxes, opts.look(false));
    opts.count.textContent = `· ${plural(boxes)}`;
  }

  function hide() {
    nav.hidden = true;
    right.section.hidden = true;
  }

  return { set, choose, draw, hide };
};
