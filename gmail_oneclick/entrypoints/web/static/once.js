// A connect link works once. A double click on "Continue with Google" would submit its form
// twice: the browser drops the first answer (the way to Google) and shows the second, "this
// link was already used". So a form on these pages is submitted once; the page works the same
// without JavaScript.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.submitted === "yes") {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "yes";
}, true);
