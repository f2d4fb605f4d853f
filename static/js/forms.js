// Form behaviour declared with data- attributes and run from this file: the Content-Security-Policy runs
// no inline handlers (onsubmit="…", onchange="…"), only scripts from our own files (decision 040).
//   <form data-confirm="…">      asks before the form is sent
//   <select data-autosubmit>     picking a value sends its form at once (the form's button still works without scripts)
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.form && field.hasAttribute("data-autosubmit")) {
    field.form.submit();
  }
});
