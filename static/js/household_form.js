// Member rows on the household form: "移除" marks the row's DELETE box and folds it
// away (the server removes the member on save); "撤销移除" brings it back.
document.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-remove-member]");
  const restore = event.target.closest("[data-restore-member]");
  const row = (remove || restore)?.closest("[data-member-row]");
  if (!row) return;
  const removing = Boolean(remove);
  row.querySelector(".member-delete").checked = removing;
  row.querySelector(".member-fields").classList.toggle("d-none", removing);
  row.querySelector("[data-remove-member]").classList.toggle("d-none", removing);
  row.querySelector("[data-restore-member]").classList.toggle("d-none", !removing);
  row.classList.toggle("opacity-50", removing);
});

// After a refused save, bring the first field in error into view: on a phone it can be
// several screens below the message at the top.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("#household-form .is-invalid");
  if (invalid) {
    invalid.scrollIntoView({ block: "center" });
    invalid.focus({ preventScroll: true });
  }
});

// 添加成员: htmx asks for one blank row numbered TOTAL_FORMS and appends it; the count
// goes up only once the row has arrived. (Inline hx-vals="js:…" and hx-on would need
// eval, which the Content-Security-Policy refuses.)
const totalForms = () => document.getElementById("id_members-TOTAL_FORMS");

document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt.matches("[data-add-member]")) event.detail.parameters.index = totalForms().value;
});

document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.elt.matches("[data-add-member]") && event.detail.successful) {
    totalForms().value = parseInt(totalForms().value, 10) + 1;
  }
});
