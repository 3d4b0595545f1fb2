"""Translate template.yaml with aws-sam-translator (what CloudFormation's SAM transform does) and print the result.

Runs with the tools venv's python (`.tools-venv/bin/python infra/build/sam_translate.py [template]`): samtranslator is
pinned there by aws-sam-cli, not in the app's venv. Prints the translated CloudFormation template as JSON on stdout.
Offline: the template names no AWS managed policy, so the managed-policy map is never needed; a template that does
fails here rather than being translated against a guess.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]


class OfflinePolicyLoader(ManagedPolicyLoader):
    """No IAM client: asked for the AWS managed policies' ARNs, it refuses."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        raise SystemExit("the template names an AWS managed policy: translating it needs IAM, which is not offline")


# Properties that name local code: `sam package` uploads them and writes S3 locations in their place.
PACKAGED = {"CodeUri", "ContentUri", "DefinitionUri"}


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` would hand it to CloudFormation: local paths become (placeholder) S3 URIs."""
    sections = [
        *(document.get("Globals") or {}).values(),
        *((resource.get("Properties") or {}) for resource in (document.get("Resources") or {}).values()),
    ]
    for properties in sections:
        for key in PACKAGED & set(properties):
            if isinstance(properties[key], str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://packaged/{properties[key].strip('/')}"
    return document


def translate(path: Path, region: str = "us-east-1") -> dict[str, Any]:
    """The template's parameters keep their defaults (SAM fills them in); the region is given, not looked up."""
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator's boto3 session asks for one even when it is given
    document = packaged(yaml_parse(path.read_text(encoding="utf-8")))
    return transform(document, {"AWS::Region": region}, OfflinePolicyLoader())


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    json.dump(translate(path), sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
