// django-celery-beat's periodic task form in admin: once a crontab is chosen, its schedule
// in words appears under the field. The package does this in an inline script, which the
// Content-Security-Policy refuses (templates/admin/djcelery/change_periodictask_form.html).
(function () {
  const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const field = document.querySelector(".field-crontab");
  const help = field?.querySelector(".help");
  // The read-only "crontab translation" row says the same thing; the package hides it.
  const translationRow = document.querySelector(".field-crontab_translation");
  if (translationRow) translationRow.style.display = "none";
  if (!field || !help) return;
  const words = document.createElement("div");
  help.append(words);
  field.addEventListener("change", () => {
    const chosen = readable[document.getElementById("id_crontab").value];
    words.textContent = chosen ? `Translation: ${chosen}` : "";
  });
})();
