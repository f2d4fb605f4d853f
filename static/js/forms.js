// A form with data-confirm="…" asks before it is sent. A file, not an onsubmit="…" attribute: the
// Content-Security-Policy runs scripts from files only (decision 040).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
