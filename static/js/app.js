// Behaviour every page shares, switched on by data attributes. The Content-Security-Policy
// (settings.CONTENT_SECURITY_POLICY) refuses inline scripts, onchange=/onclick= handlers
// and style="" attributes, so templates mark elements and this file acts on them:
//
//   <select data-autosubmit>   choosing an option submits the select's form
//   <button data-print>        prints the page
//   <div data-progress="42">   a progress bar 42 % wide
//
// Listeners sit on the document, so rows and fragments that htmx swaps in work too. The
// file is loaded in <head>, so they are there before the first control can be touched
// (at the end of <body> a quick hand, or a test, could change a select first).

document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  // requestSubmit, not submit: the form's own submit handlers (htmx's) still run.
  if (field?.form) field.form.requestSubmit();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// Widths are set through the CSSOM, which the policy allows. A MutationObserver runs before
// the next paint, so a bar swapped in by htmx's polling shows its width at once instead
// of growing from zero every second.
(function () {
  const widen = (root) => {
    const bars = root.matches?.("[data-progress]") ? [root] : [];
    bars.push(...(root.querySelectorAll?.("[data-progress]") ?? []));
    for (const bar of bars) bar.style.width = `${Number(bar.dataset.progress) || 0}%`;
  };
  // The observer watches the whole document from the start: bars are widened as the
  // parser adds them, and again as htmx swaps new ones in.
  new MutationObserver((mutations) => {
    for (const mutation of mutations) mutation.addedNodes.forEach(widen);
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", () => widen(document.body));
})();
