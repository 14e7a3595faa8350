// The filter refreshes the results through htmx without reloading the page and pushes
// the filtered list's address, so a ledger link takes the filter from the address when
// clicked; its href (the filter the page was loaded with) is the fallback without
// JavaScript. Not from the form: the address holds a token where the form may hold a
// full ID number, which must never go into a URL.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-ledger]");
  if (!link) return;
  const params = new URLSearchParams(window.location.search);
  params.delete("page");
  params.delete("full");
  if (link.hasAttribute("data-full")) params.set("full", "1");
  const query = params.toString();
  link.href = link.pathname + (query ? "?" + query : "");
});
