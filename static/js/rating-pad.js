// The window's rating pad (templates/applications/pages/rating_pad.html): asks every few seconds whether
// the clerk put a case on it, and opens its rating form when so.
(function () {
  "use strict";
  var box = document.querySelector("[data-pad-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-pad-url");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && state.url) { window.location.assign(state.url); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
