"""/docs on the local stack in a real browser: headless Chromium from Debian's packages (`make browser`, part of
`make test`) opens Swagger UI, checks every operation of api-specification.json renders, runs "Try it out" on
GET /v1/health against this same stack, and keeps a screenshot under TEST_OUTPUT_DIR (default .test-output/browser)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.browser import Browser, find_chromium

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR") or ROOT / ".test-output") / "browser"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("SKIPPED: no chromium on PATH; `make browser` installs Debian's package (apt-get install -y "
                    "chromium) and could not here")
    opened = Browser(executable)
    try:
        yield opened
    finally:
        opened.close()


def operations() -> list[tuple[str, str]]:
    spec = json.loads((ROOT / "api-specification.json").read_text())
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS]


def test_docs_assets_are_served_locally(base_url: str) -> None:
    page = requests.get(f"{base_url}/docs", timeout=10)
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text and "http" not in page.text.split("<body>", 1)[1], "no CDN"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert requests.get(f"{base_url}/docs/{asset}", timeout=10).status_code == 200, asset
    spec = requests.get(f"{base_url}/docs/api-specification.json", timeout=10).json()
    assert spec["servers"][0]["url"] == base_url  # "Try it out" calls the stack that served the page
    assert requests.get(f"{base_url}/docs/../../etc/passwd", timeout=10).status_code == 404


WAIT_FOR = """new Promise((resolve, reject) => {
  const started = Date.now();
  const tick = () => {
    const found = %s;
    if (found) return resolve(found);
    if (Date.now() - started > %d) return reject(new Error("timed out waiting for: %s"));
    setTimeout(tick, 100);
  };
  tick();
})"""


def wait_in_page(browser: Browser, condition: str, timeout_ms: int = 20000) -> object:
    script = WAIT_FOR % (condition, timeout_ms, condition.replace('"', "'"))
    return browser.evaluate(script, timeout=timeout_ms / 1000 + 5)


def test_docs_render_every_operation_and_try_it_out_works(base_url: str, browser: Browser) -> None:
    browser.open(f"{base_url}/docs")
    expected = operations()
    count = wait_in_page(browser, f"document.querySelectorAll('.opblock').length >= {len(expected)} && "
                                  "document.querySelectorAll('.opblock').length")
    assert count == len(expected)
    rendered = browser.evaluate(
        "[...document.querySelectorAll('.opblock-summary')].map(e => "
        "[e.querySelector('.opblock-summary-method').textContent, "
        "e.querySelector('.opblock-summary-path').getAttribute('data-path')])")
    assert sorted(map(tuple, rendered)) == sorted(expected)

    # Try it out: open GET /v1/health, execute, and read the live response the page shows.
    browser.evaluate("""(() => {
      const block = [...document.querySelectorAll('.opblock-get')].find(
        b => b.querySelector('.opblock-summary-path').getAttribute('data-path') === '/v1/health');
      (block.querySelector('.opblock-summary-control') || block.querySelector('.opblock-summary')).click();
      return true;
    })()""")
    wait_in_page(browser, "!!document.querySelector('.opblock-get.is-open .execute')")
    browser.evaluate("document.querySelector('.opblock-get.is-open .execute').click(), true")
    cell = "document.querySelector('.opblock-get.is-open .live-responses-table tbody .response-col_status')"
    status = wait_in_page(browser, f"{cell} && {cell}.textContent.trim()")
    assert status == "200"
    shown = browser.evaluate("document.querySelector('.opblock-get.is-open .live-responses-table "
                             ".microlight, .opblock-get.is-open .live-responses-table pre').textContent")
    assert '"status": "ok"' in shown or '"status":"ok"' in shown
    browser.screenshot(OUTPUT / "api-docs.png")
    assert (OUTPUT / "api-docs.png").stat().st_size > 10_000
