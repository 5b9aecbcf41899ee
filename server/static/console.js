// The console's only script of its own: progress for uploads sent by htmx. Every form
// works without it; with it, a file upload shows how much has been sent.
"use strict";
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest("form");
  if (!form) { return; }
  var bar = form.querySelector("progress[data-upload-progress]");
  if (!bar || !event.detail.lengthComputable) { return; }
  bar.hidden = false;
  bar.max = event.detail.total;
  bar.value = event.detail.loaded;
  var label = form.querySelector("[data-upload-percent]");
  if (label) {
    label.textContent = Math.floor((100 * event.detail.loaded) / event.detail.total) + "%";
  }
});
