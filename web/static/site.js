// Progressive enhancement only: every page works without this file.
// Moves focus to a form's error summary, so a screen reader hears it first.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
