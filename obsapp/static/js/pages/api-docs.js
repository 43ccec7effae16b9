// The API reference at /api/v1/docs: Swagger UI (its bundle, loaded by the page, sets SwaggerUIBundle),
// started with the configuration the page carries as JSON (no inline script: see obsapp/security.py).
const config = JSON.parse(document.getElementById("swagger-config").textContent);
export const ui = globalThis.SwaggerUIBundle(config);
