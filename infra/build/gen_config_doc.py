"""docs/configuration.md from the code: every setting of tickerleague/config.py and every other environment variable
the layer or the handlers read, plus template.yaml's parameters and samconfig.toml's per-environment values.

`make config-doc` writes it; `python -m infra.build.gen_config_doc --check` (a test) fails when it is stale.
A setting's meaning is the comment on its field in `Settings` (or the comment block above it); the table below
describes the settings that predate that convention. A setting with neither is listed as undocumented.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from infra.local.cfn_yaml import load_cfn_file

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "layers" / "core" / "tickerleague" / "config.py"
READERS = (ROOT / "layers" / "core" / "tickerleague", ROOT / "functions")
OUTPUT = ROOT / "docs" / "configuration.md"
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

MEANINGS = {
    "stage": "Deployment stage (dev, staging, prod); names per-stage resources such as the quotes key parameter.",
    "table_name": "The single DynamoDB table.",
    "dynamodb_endpoint": "DynamoDB endpoint override (DynamoDB Local in the local stack and integration tests).",
    "region": "AWS region of every client.",
    "event_bus_name": "EventBridge bus the domain events are published on.",
    "lifecycle_state_machine_arn": "The contest lifecycle state machine (publish, update and cancel start/stop it).",
    "jwt_keys_secret_id": "Secrets Manager id of the JWT signing keys `{current, <kid>: secret}`.",
    "jwt_issuer": "`iss` of issued tokens, checked on verification.",
    "jwt_audience": "`aud` of issued tokens, checked on verification.",
    "access_token_seconds": "Access token lifetime.",
    "refresh_token_seconds": "Refresh token (session) lifetime.",
    "principal_status_cache_seconds": "How long the authorizer trusts a user's cached status (suspension delay).",
    "login_max_failures_per_email": "Failed logins per email in the window before `429 TOO_MANY_ATTEMPTS`.",
    "login_max_failures_per_ip": "Failed logins per source IP in the window before `429 TOO_MANY_ATTEMPTS`.",
    "login_window_seconds": "Sliding window of the login throttle.",
    "quotes_provider": "Market data provider: simulated, finnhub or polygon.",
    "quotes_api_key_parameter": "SSM SecureString parameter holding the provider's API key.",
    "quotes_base_url": "Provider endpoint override (empty: the provider's default).",
    "quote_max_age_seconds": "A stored quote older than this is refreshed before an order fills.",
    "placement_memory_seconds": "How long a container remembers its own recent placements (read-your-writes).",
    "market_calendar": "Trading calendar: XNYS (NYSE sessions) or 24x7.",
    "cors_allow_origins": "Origins whose pages may read API answers (comma-separated).",
    "max_body_bytes": "Largest request body a handler accepts (`413` above).",
    "entry_shards": "Shards of the contest-entries GSI partition key.",
    "local_stack": "Set to 1 by the local stack (`make dev`).",
    "version": "Version reported by `/v1/health`.",
}
OTHER_MEANINGS = {
    "ARGON2_TIME_COST": "Argon2id passes for password hashing (tests lower it).",
    "ARGON2_MEMORY_KIB": "Argon2id memory for password hashing.",
    "ARGON2_PARALLELISM": "Argon2id lanes for password hashing.",
    "JWT_SIGNING_KEYS": "Signing keys inline (JSON) instead of Secrets Manager: tests and the local stack only.",
    "POWERTOOLS_METRICS_DISABLED": "true: tickerleague.metrics writes no EMF record (tests, local stack).",
    "POWERTOOLS_METRICS_NAMESPACE": "CloudWatch namespace of tickerleague.metrics (template Globals: TickerLeague).",
    "POWERTOOLS_TRACE_DISABLED": "true: no X-Ray tracing, the SDK is not even imported (tests, local stack).",
    "LAMBDA_TASK_ROOT": "Set by Lambda itself: tickerleague.tracing traces only where it is set.",
    "AWS_SAM_LOCAL": "Set by `sam local`: no tracing there (no X-Ray daemon).",
    "AWS_LAMBDA_FUNCTION_NAME": "Set by Lambda itself: written as `function_name` on every log line.",
}
SECRET_VALUES = {"JWT_SIGNING_KEYS"}
# Settings whose names end so name where a secret is kept (its value is read at run time, never set here).
SECRET_NAME_SUFFIXES = ("_SECRET_ID", "_PARAMETER")


@dataclass(frozen=True)
class Setting:
    field: str
    env: tuple[str, ...]
    default: str
    meaning: str
    readers: tuple[str, ...]
    group: str

    @property
    def secret(self) -> str:
        if any(name in SECRET_VALUES for name in self.env):
            return "**yes**: never set it in a deployed stage"
        if any(name.endswith(SECRET_NAME_SUFFIXES) for name in self.env):
            return "names a secret (the value stays in Secrets Manager / SSM)"
        return "no"


def _field_comments(source: str, tree: ast.Module) -> tuple[dict[str, str], dict[str, str]]:
    """{field: its comment} and {field: the group comment above it} from the `Settings` dataclass."""
    lines = source.splitlines()
    comments: dict[str, str] = {}
    groups: dict[str, str] = {}
    settings_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    group = ""
    previous_end = settings_class.lineno
    for node in settings_class.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above = [line.strip() for line in lines[previous_end:node.lineno - 1] if line.strip().startswith("#")]
        if above:
            group = above[0].lstrip("# ").strip()
        inline = lines[node.lineno - 1].partition("#")[2].strip()
        if inline:
            comments[node.target.id] = inline
        groups[node.target.id] = group
        previous_end = node.end_lineno or node.lineno
    return comments, groups


def _env_and_default(expression: ast.expr) -> tuple[tuple[str, ...], str]:
    names: list[str] = []
    default = ""
    for node in ast.walk(expression):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            first = node.args[0].value
            if ENV_NAME.match(first) and first not in names:
                names.append(first)
                if len(node.args) > 1 and not default:
                    default = ast.unparse(node.args[1])
            elif first.startswith("_") and ENV_NAME.match(first.lstrip("_")):  # a suffix scan, e.g. "_QUEUE_URL"
                names.append(f"*{first}")
    fallback = next((node for node in ast.walk(expression) if isinstance(node, ast.BoolOp)), None)
    if fallback is not None and not default:  # `os.environ.get(NAME) or "2"`
        default = ast.unparse(fallback.values[-1])
    return tuple(names), default


def _readers(field: str) -> tuple[str, ...]:
    # `settings().<field>`, or `<name>.<field>` where <name> was bound to settings() (config, s, current ...).
    pattern = re.compile(rf"(?:settings\(\)|\b(?:config|current|s|cfg))\.{re.escape(field)}\b")
    found = []
    for base in READERS:
        for path in sorted(base.rglob("*.py")):
            if path == CONFIG:
                continue
            if pattern.search(path.read_text()):
                found.append(str(path.relative_to(ROOT)))
    return tuple(found)


def settings_from_config(source: str) -> list[Setting]:
    tree = ast.parse(source)
    comments, groups = _field_comments(source, tree)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "settings")
    call = next(n for n in ast.walk(function) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Settings")
    found = []
    for keyword in call.keywords:
        assert keyword.arg is not None
        env, default = _env_and_default(keyword.value)
        meaning = (MEANINGS.get(keyword.arg) or comments.get(keyword.arg)
                   or "(undocumented: comment the field in config.py)")
        if any(name.startswith("*") for name in env):  # a suffix scan: the other names it mentions are conditions
            env, default = tuple(name for name in env if name.startswith("*")), ""
        found.append(Setting(keyword.arg, env, default, meaning, _readers(keyword.arg), groups.get(keyword.arg, "")))
    return found


def other_variables(config_env: set[str]) -> list[tuple[str, str, str]]:
    """(name, default, module) of environment variables read outside config.py."""
    read = re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["'](?:\s*,\s*([^)]+))?\)""")
    found: dict[str, tuple[str, str, str]] = {}
    for base in READERS:
        for path in sorted(base.rglob("*.py")):
            if path == CONFIG:
                continue
            for name, default in read.findall(path.read_text()):
                if name not in config_env and name not in found:
                    found[name] = (name, default.strip(), str(path.relative_to(ROOT)))
    return sorted(found.values())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    settings = settings_from_config(CONFIG.read_text())
    out = [
        "# Configuration",
        "",
        "<!-- Generated by `make config-doc` (infra/build/gen_config_doc.py) from config.py, template.yaml and",
        "     samconfig.toml. Do not edit: tests/unit/ops/test_config_doc.py fails when it is stale. -->",
        "",
        "Every setting is read from the environment in one place, `layers/core/tickerleague/config.py`. Deployed",
        "functions get them from `template.yaml` (Globals and per-function `Environment`), whose parameters come from",
        "`samconfig.toml` per environment; the local stack sets its own (infra/local/stack.py). No secret value is",
        "ever an environment variable in a deployed stage: settings ending in `_SECRET_ID` (Secrets Manager) or",
        "`_PARAMETER` (an SSM SecureString) name a secret, which the code reads at run time (see",
        "[secrets.md](secrets.md) for which to create and how they rotate).",
        "",
        "## Settings (config.py)",
        "",
        "| setting | environment | default | meaning | read in | secret |",
        "|---|---|---|---|---|---|",
    ]
    for s in settings:
        env = ", ".join(f"`{n}`" for n in s.env) or "(computed)"
        default = f"`{s.default}`" if s.default else "-"
        readers = "<br>".join(f"`{r}`" for r in s.readers) or "-"
        out.append(f"| `{s.field}` | {env} | {_cell(default)} | {_cell(s.meaning)} | {readers} | {s.secret} |")
    others = other_variables({n for s in settings for n in s.env})
    if others:
        out += ["", "## Other environment variables", "", "| environment | default | meaning | read in | secret |",
                "|---|---|---|---|---|"]
        for name, default, module in others:
            secret = "**yes**: tests and local only" if name in SECRET_VALUES else "no"
            out.append(f"| `{name}` | {_cell(f'`{default}`' if default else '-')} | "
                       f"{_cell(OTHER_MEANINGS.get(name, '(undocumented)'))} | `{module}` | {secret} |")
    out += _parameters()
    return "\n".join(out) + "\n"


def _parameters() -> list[str]:
    parameters = load_cfn_file(ROOT / "template.yaml").get("Parameters") or {}
    environments = _samconfig_overrides()
    names = list(environments)  # samconfig.toml's order: dev, staging, prod
    out = ["", "## Template parameters (template.yaml) per environment (samconfig.toml)", "",
           "| parameter | default | " + " | ".join(names) + " | description |",
           "|---|---|" + "---|" * len(names) + "---|"]
    for name, declared in parameters.items():
        spec = declared or {}
        default = str(spec.get("Default", ""))
        values = " | ".join(f"`{environments[env].get(name)}`" if name in environments[env] else "-" for env in names)
        allowed = f" One of {', '.join(map(str, spec['AllowedValues']))}." if spec.get("AllowedValues") else ""
        description = _cell(str(spec.get("Description", "")) + allowed)
        out.append(f"| `{name}` | `{_cell(default)}` | {values} | {description} |")
    return out


def _samconfig_overrides() -> dict[str, dict[str, str]]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    found: dict[str, dict[str, str]] = {}
    for env, commands in config.items():
        if not isinstance(commands, dict) or env == "default":
            continue
        raw = ((commands.get("deploy") or {}).get("parameters") or {}).get("parameter_overrides", "")
        items = raw if isinstance(raw, list) else re.findall(r'(\w+)=("[^"]*"|\S+)', raw)
        pairs = [item.split("=", 1) for item in items] if raw and isinstance(raw, list) else items
        found[env] = {k: str(v).strip('"') for k, v in pairs}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/configuration.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/configuration.md is stale: run `make config-doc`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
