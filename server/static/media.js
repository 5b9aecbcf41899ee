// The media page's script: starts the track or video where the reader was, keeps the
// place as a Readium locator with a time fragment (`t=`, the same positions the apps
// use) while it plays, and goes on to the next track when one ends. Everything it needs
// comes from the `data-*` attributes of `#media`. Plain ES2017, no build step.
"use strict";

(function () {
  var root = document.getElementById("media");
  var player = document.getElementById("player");
  if (!root || !player) return;
  var data = root.dataset;
  var durations = [];
  try {
    durations = JSON.parse(data.durations || "[]");
  } catch (e) {
    durations = [];
  }
  var index = parseInt(data.index || "0", 10) || 0;
  var total = durations.reduce(function (a, b) { return a + b; }, 0);
  var before = durations.slice(0, index).reduce(function (a, b) { return a + b; }, 0);
  var lastSaved = "";
  var lastSavedAt = 0;

  function locator() {
    var t = player.currentTime || 0;
    var d = player.duration && isFinite(player.duration) ? player.duration : durations[index] || 0;
    return {
      href: data.href,
      type: data.type,
      locations: {
        progression: d > 0 ? Math.min(1, t / d) : 0,
        totalProgression: total > 0 ? Math.min(1, (before + t) / total) : 0,
        position: parseInt(data.position || "1", 10) || 1,
        fragments: ["t=" + Math.round(t * 1000) / 1000],
      },
    };
  }

  function save(keepalive) {
    var body = JSON.stringify(locator());
    if (body === lastSaved) return;
    lastSaved = body;
    lastSavedAt = Date.now();
    fetch(data.positionUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
      body: body,
    })
      .then(function (response) {
        if (response.status === 410) window.location.reload();
        else if (response.ok) root.dataset.savedTime = String(player.currentTime || 0);
        else lastSaved = "";
      })
      .catch(function () {
        lastSaved = "";
      });
  }

  var start = parseFloat(data.start || "0") || 0;
  player.addEventListener("loadedmetadata", function () {
    if (start > 0 && start < (player.duration || Infinity)) player.currentTime = start;
  });
  player.addEventListener("timeupdate", function () {
    if (Date.now() - lastSavedAt > 10000) save(false);
  });
  player.addEventListener("pause", function () { save(false); });
  player.addEventListener("seeked", function () { save(false); });
  player.addEventListener("ended", function () {
    save(false);
    if (data.nextUrl) window.location.href = data.nextUrl;
  });
  window.addEventListener("pagehide", function () { save(true); });
})();
