"""Browser pages that record Content-Security-Policy violations, from the document's
``securitypolicyviolation`` events and from Chromium's console ("Refused to ... Content Security Policy")."""

from __future__ import annotations

CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__obsappReportCsp(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
                           + `in ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


def new_tracked_page(browser, contexts: list):
    """A page in a new browser context; ``page.errors`` (uncaught exceptions) and ``page.csp_violations``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    contexts.append(context)
    violations: list[str] = []
    context.expose_binding("__obsappReportCsp", lambda _source, text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.errors = []
    page.csp_violations = violations
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda message: violations.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.set_default_timeout(15000)
    return page


def close_checked(contexts: list, pages: list) -> None:
    """Close the contexts, then fail if any page hit the Content-Security-Policy."""
    found = [v for page in pages for v in page.csp_violations]
    for context in contexts:
        context.close()
    assert found == [], f"Content-Security-Policy violations: {found}"
