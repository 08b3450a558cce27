// Starts Swagger UI on /docs. A file rather than inline code, so the page's
// Content-Security-Policy can allow scripts from this origin only (app/docs.py).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The public validator's badge would be fetched from the internet.
    validatorUrl: null,
  });
})();
