"""axe-core (the copy axe-playwright-python ships) run in the page as it stands: WCAG 2.1 A and AA rules."""

from axe_playwright_python.sync_playwright import Axe

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]}


def assert_accessible(page) -> None:
    """Fails with each violated rule, its impact and the elements it found, for the page now shown."""
    violations = Axe().run(page, options=WCAG).response["violations"]
    report = [f"{v['id']} ({v['impact']}): {v['help']} — {[node['target'] for node in v['nodes']]}" for v in violations]
    assert report == [], f"{page.url}:\n" + "\n".join(report)
