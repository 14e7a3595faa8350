// 全选 for batch actions (issue 18): "select this page" ticks every enabled box of the
// form's list; "select all that match" (when the list has more pages) sends the list's
// filters instead of ticks, and the server takes every case they match. The count of
// what is selected is always shown. Works on lists htmx swaps in later (delegation).
(function () {
  function items(form) {
    return [...form.querySelectorAll("input[type=checkbox][data-select-item]:not(:disabled)")];
  }

  function refresh(form) {
    const counter = form.querySelector("[data-selected-count]");
    const page = form.querySelector("[data-select-page]");
    const all = form.querySelector("[data-select-all]");
    const boxes = items(form);
    if (page) page.checked = boxes.length > 0 && boxes.every((box) => box.checked);
    if (!counter) return;
    if (all && all.checked) {
      counter.textContent = all.dataset.words;
    } else {
      const n = boxes.filter((box) => box.checked).length;
      counter.textContent = counter.dataset.words.replace("%(n)s", String(n));
    }
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    const form = box.closest && box.closest("form");
    if (!form || !box.matches("[data-select-page], [data-select-all], [data-select-item]")) return;
    const all = form.querySelector("[data-select-all]");
    if (box.matches("[data-select-page], [data-select-all]")) {
      items(form).forEach((item) => {
        item.checked = box.checked;
      });
    }
    // Unticking anything means "not all of them" any more.
    if (all && box !== all && !box.checked) all.checked = false;
    if (all && box.matches("[data-select-page]") && !box.checked) all.checked = false;
    refresh(form);
  });

  document.addEventListener("htmx:afterSwap", () => document.querySelectorAll("form").forEach(refresh));
  document.querySelectorAll("form").forEach(refresh);
})();
