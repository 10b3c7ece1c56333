// A "select all" checkbox (data-select-all) ticks every "case" checkbox of its form.
document.querySelectorAll("[data-select-all]").forEach(function (box) {
  box.addEventListener("change", function () {
    box.form.querySelectorAll('input[name="case"]').forEach(function (c) { c.checked = box.checked; });
  });
});
