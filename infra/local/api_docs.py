"""The API reference at /docs on the local gateway: Swagger UI (npm package swagger-ui-dist, served from
node_modules, no CDN) over api-specification.json, whose "Try it out" calls this same local stack.

The spec is served with this server's own origin as its first `servers` entry, so requests from the page go to the
gateway that served it (same origin: no CORS needed), whatever port `make dev` runs on.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = REPO_ROOT / "api-specification.json"
ASSETS = REPO_ROOT / "node_modules" / "swagger-ui-dist"
PREFIX = "/docs"
# Only what the page loads: never a path that could walk out of the package.
SERVED_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ticker League API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/docs/api-specification.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: true,
  displayRequestDuration: true,
});
"""


@dataclass(frozen=True)
class DocsAnswer:
    status: int
    content_type: str
    body: bytes


class ApiDocs:
    """Answers GET/HEAD under /docs; None for every other request (the gateway's)."""

    def __init__(self, spec: Path = SPEC, assets: Path = ASSETS) -> None:
        self.spec = spec
        self.assets = assets

    def answer(self, method: str, path: str, host: str) -> DocsAnswer | None:
        path = path.split("?", 1)[0]
        if method not in ("GET", "HEAD") or not (path == PREFIX or path.startswith(PREFIX + "/")):
            return None
        name = path[len(PREFIX):].lstrip("/")
        if name in ("", "index.html"):
            return DocsAnswer(200, "text/html; charset=utf-8", INDEX_HTML.encode())
        if name == "init.js":
            return DocsAnswer(200, "text/javascript; charset=utf-8", INIT_JS.encode())
        if name == "api-specification.json":
            return DocsAnswer(200, "application/json", self._spec(host))
        if name in SERVED_ASSETS:
            asset = self.assets / name
            if not asset.is_file():
                return _error(503, "NOT_INSTALLED", "swagger-ui-dist is not installed: run `make node_modules`.")
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return DocsAnswer(200, content_type, asset.read_bytes())
        return _error(404, "NOT_FOUND", "No such page under /docs.")

    def _spec(self, host: str) -> bytes:
        document = json.loads(self.spec.read_text())
        here = {"url": f"http://{host}", "description": "This local stack (the server that served this page)."}
        others = [s for s in document.get("servers") or [] if s.get("url") != here["url"]]
        document["servers"] = [here, *others]
        return json.dumps(document).encode()


def _error(status: int, code: str, message: str) -> DocsAnswer:
    body = {"error": {"code": code, "message": message, "requestId": "local-docs"}}
    return DocsAnswer(status, "application/json", json.dumps(body).encode())
