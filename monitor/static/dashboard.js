// Show every <time datetime="...Z"> in the viewer's time zone, and tell filter forms that
// zone so a date range means the viewer's days. Loaded as a file: the CSP allows no inline JS.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  function run() {
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        t.title = t.getAttribute("datetime");
        t.textContent = fmt.format(d);
      }
    });
    document.querySelectorAll("input[name=tz]").forEach(function (i) { i.value = zone; });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
