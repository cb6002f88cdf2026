// Progressive enhancement for Rapport's server-rendered pages. Every page works without this
// file; it only smooths the edges.
"use strict";

(() => {
  // A form marked data-once cannot be submitted twice by an impatient double click.
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((button) => {
        button.disabled = true;
      });
    });
  });

  // Password fields marked data-reveal get a show/hide toggle.
  document.querySelectorAll("input[type=password][data-reveal]").forEach((input) => {
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "reveal";
    toggle.textContent = "Show password";
    toggle.setAttribute("aria-controls", input.id);
    toggle.addEventListener("click", () => {
      const hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      toggle.textContent = hidden ? "Hide password" : "Show password";
    });
    input.insertAdjacentElement("afterend", toggle);
  });

  // A checkbox marked data-select-all ticks or clears every row checkbox of the form it names;
  // without this file it stays hidden, and rows are ticked one by one.
  document.querySelectorAll("input[type=checkbox][data-select-all]").forEach((all) => {
    const rows = () => document.querySelectorAll(`input[type=checkbox][form="${all.dataset.selectAll}"]`);
    all.hidden = false;
    all.addEventListener("change", () => {
      rows().forEach((row) => {
        row.checked = all.checked;
      });
    });
  });

  // Elements with data-confirm ask before acting (deletes, irreversible actions).
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
