// Data manager: Export… exports the selected tasks (the export page with ?ids=), or opens the
// export page for every task when none (or all of the project) are selected. Loads after
// data_manager.js, which owns the selection.
"use strict";

(function () {
  const link = document.getElementById("dm-export");
  const dm = window.assayDataManager;
  if (!link || !dm) return;
  link.addEventListener("click", async (event) => {
    if (!dm.count() || dm.everyTask()) return;
    event.preventDefault();
    try {
      const ids = await dm.selectedTaskIds();
      location.assign(`${link.getAttribute("href")}?ids=${ids.join(",")}`);
    } catch (error) {
      location.assign(link.getAttribute("href"));
    }
  });
})();
