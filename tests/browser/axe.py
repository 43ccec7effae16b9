"""axe-core (vendored in obsapp/static/vendor/, see scripts/vendor.py) run in a Playwright page.

The checker is evaluated through the DevTools protocol, so the page's Content-Security-Policy (which
allows no inline or injected scripts) stays as it is for the page's own code."""

from __future__ import annotations

from pathlib import Path

AXE = next((Path(__file__).resolve().parents[2] / "obsapp" / "static" / "vendor").glob("axe-core-*/axe.min.js"))
# WCAG 2.1 A and AA, plus axe's best practices
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page, *, impacts: tuple[str, ...] = ("minor", "moderate", "serious", "critical")) -> list[str]:
    """The page's accessibility violations of the given impacts, one readable line per rule and element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }));
    }""", TAGS)
    return [f"{v['impact']} {v['id']} ({v['help']}): {node}" for v in result if v["impact"] in impacts
            for node in v["nodes"]]
