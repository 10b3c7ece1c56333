"""Accessibility checks run in the page: axe-core (bundled by the axe-playwright-python
package, injected by the test, never served to users) and the checks of ``a11y_checks.js``
that axe does not make (form-field boundaries, focus indicators, sideways overflow)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from axe_playwright_python.base import AXE_SCRIPT

CHECKS = (Path(__file__).with_name("a11y_checks.js")).read_text(encoding="utf-8")

#: WCAG 2.0, 2.1 and 2.2 at levels A and AA: labels, names, contrast (4.5:1, 3:1 for large
#: text), landmarks and structure the success criteria require.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    target: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.rule} — {self.target} — {self.detail}"


def audit(page, name: str) -> list[Violation]:
    """Return the accessibility violations of the page as it is now shown."""
    found, flagged = [], []
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    for violation in results["violations"]:
        for node in violation["nodes"]:
            summary = node.get("failureSummary") or violation["help"]
            detail = " ".join(summary.split())
            html = " ".join(node["html"].split())[:120]
            found.append(Violation(name, violation["id"], f"{', '.join(map(str, node['target']))} {html}", detail))
            if violation["id"] == "color-contrast":
                flagged += [target for target in node["target"] if isinstance(target, str)]
    # The focus check needs the browser to treat focus as keyboard focus (:focus-visible).
    page.keyboard.press("Tab")
    for item in page.evaluate(CHECKS, flagged):
        found.append(Violation(name, item["rule"], item["target"], item["detail"]))
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    return found
