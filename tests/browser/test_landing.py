"""`make demo`'s landing page lists every app notebook and its links open the apps."""
from conftest import wait_until_ready

from padl_lib.widgets import discover_apps


def test_root_url_serves_landing_page(page, voila_url):
    page.goto(voila_url + "/", wait_until="domcontentloaded")
    page.wait_for_selector(".padl-landing", state="visible")
    assert "/voila/render/home.ipynb" in page.url
    assert "padl" in page.locator("h1").first.inner_text()
    cards = page.locator(".padl-app-card")
    apps = discover_apps()
    assert cards.count() == len(apps)
    for app in apps:
        assert page.locator(f'a[href="{app.url}"]').count() == 1


def test_landing_links_open_apps(open_app):
    page = open_app("home.ipynb")
    for app in discover_apps():
        # Voilà's renderer opens output links in a new tab, as a person would see it.
        with page.context.expect_page() as opened:
            page.locator(f'a[href="{app.url}"]').click()
        app_page = opened.value
        wait_until_ready(app_page)
        assert app_page.url.endswith(f"/voila/render/{app.path.name}")
        app_page.close()
