// Time on task, measured in the browser: the wall time from showing a task to its submit, and
// the active part of it. Active time counts the time between two input events (pointer,
// keys, wheel) while the window has focus, when they are at most `idleSeconds` apart; a longer
// pause, a blur or a hidden tab counts nothing until the next input. Both in seconds.
"use strict";

window.assayEditor = window.assayEditor || {};

window.assayEditor.createActiveClock = function createActiveClock(idleSeconds = 60) {
  const idle = idleSeconds * 1000;
  const now = () => performance.now();
  let shownAt = now();
  let active = 0; // milliseconds
  let last = null; // the last input counted from, null while away

  function input() {
    const t = now();
    if (!document.hasFocus() || document.hidden) {
      last = null;
      return;
    }
    if (last !== null && t - last <= idle) active += t - last;
    last = t;
  }

  function away() {
    const t = now();
    if (last !== null && t - last <= idle) active += t - last;
    last = null;
  }

  for (const name of ["pointerdown", "pointermove", "keydown", "wheel"]) {
    window.addEventListener(name, input, { capture: true, passive: true });
  }
  window.addEventListener("blur", away);
  document.addEventListener("visibilitychange", () => document.hidden && away());

  return {
    // A new task on screen: both clocks start from now.
    start() {
      shownAt = now();
      active = 0;
      last = document.hasFocus() && !document.hidden ? shownAt : null;
    },
    // {lead_time, active_time} in seconds so far, as an annotation carries them.
    readings() {
      const wall = (now() - shownAt) / 1000;
      const on = Math.min(active / 1000, wall);
      return { lead_time: Math.round(wall * 1000) / 1000, active_time: Math.round(on * 1000) / 1000 };
    },
  };
};
