// The API reference at /api/v1/docs: Swagger UI (its bundle, loaded by the page, sets SwaggerUIBundle),
// started with the configuration the page carries as JSON (no inline script: see obsapp/security.py).
const config = JSON.parse(document.getElementById("swagger-config").textContent);
export const ui = globalThis.SwaggerUIBundle(config);

// Each operation's summary button is labelled with its method and path only ("post /api/v1/auth/login"), so
// its accessible name hides the summary it shows (WCAG 2.5.3, label in name). Without the aria-label the name
// is the button's own text: method, path and summary.
const container = document.querySelector(config.dom_id);
const unlabel = () => {
  for (const button of container.querySelectorAll("button.opblock-summary-control[aria-label]")) {
    button.removeAttribute("aria-label");
  }
};
new MutationObserver(unlabel).observe(container, { subtree: true, childList: true, attributeFilter: ["aria-label"] });
unlabel();
