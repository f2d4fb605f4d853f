// The hall's call screen (templates/applications/pages/hall_screen.html): asks screen/data/ every few
// seconds and redraws the numbers in place. A failed request keeps what is shown and tries again.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var body = document.body;
  var url = body.getAttribute("data-screen-url");
  if (!url || !window.fetch) { return; }

  function part(name) { return document.querySelector('[data-screen="' + name + '"]'); }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  var shown = null;
  function draw(state) {
    part("now").textContent = state.now;
    part("waiting").textContent = String(state.waiting);
    var latest = state.latest;
    part("latest").hidden = !latest;
    part("idle").hidden = !!latest;
    if (latest) {
      var key = latest.number + "@" + latest.window + "@" + latest.at + "@" + latest.recalled;
      if (key !== shown) {  // only a new call changes the live region, so it is announced once
        part("number").textContent = latest.number;
        part("window").textContent = String(latest.window);
        shown = key;
      }
    }
    var table = part("recent");
    var rows = table.querySelector("tbody");
    while (rows.firstChild) { rows.removeChild(rows.firstChild); }
    state.recent.forEach(function (ticket) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(ticket.number, "screen-number-small"));
      tr.appendChild(cell(ticket.window + " 号窗口"));
      tr.appendChild(cell(ticket.at));
      rows.appendChild(tr);
    });
    table.hidden = state.recent.length === 0;
    part("no-recent").hidden = state.recent.length !== 0;
    body.setAttribute("data-screen-updated", String(Date.now()));
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) { draw(state); } })
      .catch(function () { /* keep the screen as it is; try again next time */ })
      .then(function () { window.setTimeout(poll, INTERVAL_MS); });
  }
  window.setTimeout(poll, INTERVAL_MS);
})();
