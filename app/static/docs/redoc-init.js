// Starts ReDoc on /redoc. A file rather than inline code, so the page's
// Content-Security-Policy can allow scripts from this origin only (app/docs.py).
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapiUrl, {}, root);
})();
