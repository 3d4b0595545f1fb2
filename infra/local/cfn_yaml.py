"""YAML loading for CloudFormation/SAM templates.

PyYAML's safe loader rejects the short-form intrinsic tags (``!Ref``, ``!GetAtt`` ...). We map every
``!Name`` tag to the long form (``{"Fn::Name": ...}``, ``{"Ref": ...}``, ``{"Condition": ...}``) so the
rest of the local stack only has to understand one shape: the JSON form CloudFormation itself uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_NO_FN_PREFIX = frozenset({"Ref", "Condition"})


class CfnLoader(yaml.SafeLoader):
    """A safe loader that understands CloudFormation short-form tags."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    """Turn ``!Tag value`` into ``{"Fn::Tag": value}`` (or ``{"Ref": value}``)."""
    key = tag_suffix if tag_suffix in _NO_FN_PREFIX else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            # `!GetAtt Res.Attr.Sub` splits on the FIRST dot only, like CloudFormation.
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_cfn_yaml(text: str) -> dict[str, Any]:
    """Parse template text; the result uses only long-form intrinsics."""
    document = yaml.load(text, Loader=CfnLoader)  # nosec B506 - CfnLoader is a SafeLoader (tags only)
    if not isinstance(document, dict):
        raise ValueError("a template must be a YAML mapping")
    return document


def load_cfn_file(path: Path) -> dict[str, Any]:
    """Read and parse a template file."""
    return load_cfn_yaml(path.read_text(encoding="utf-8"))
