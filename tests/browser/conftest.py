"""Browser tests: every page is checked for Content-Security-Policy violations (tests/browser/csp.py)."""

from __future__ import annotations

import pytest

from tests.browser.csp import close_checked, new_tracked_page


@pytest.fixture
def page(browser):
    contexts: list = []
    tracked = new_tracked_page(browser, contexts)
    yield tracked
    close_checked(contexts, [tracked])


@pytest.fixture
def new_page(browser):
    """new_page() -> another signed-out page in its own browser context (a second person)."""
    contexts: list = []
    pages: list = []

    def make():
        made = new_tracked_page(browser, contexts)
        pages.append(made)
        return made

    yield make
    close_checked(contexts, pages)
