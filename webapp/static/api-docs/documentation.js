// Page de documentation de l'API : Swagger UI (fichiers locaux, aucun CDN) sur la spécification servie.
(function () {
  "use strict";
  var cible = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: cible.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
