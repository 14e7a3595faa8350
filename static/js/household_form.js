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
