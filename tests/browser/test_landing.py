"""`make demo`'s landing page lists every app notebook and its links open the apps."""
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


def test_landing_links_open_apps(open_app, voila_url):
    page = open_app("home.ipynb")
    for app in discover_apps():
        page.goto(f"{voila_url}/voila/render/home.ipynb", wait_until="domcontentloaded")
        page.locator(f'a[href="{app.url}"]').click()
        page.wait_for_selector(".padl-ready", state="visible")
        assert page.url.endswith(app.path.name)
