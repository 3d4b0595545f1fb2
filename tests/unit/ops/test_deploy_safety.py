"""Deploy safety in template.yaml: the table survives stack deletion and replacement and can be restored to any
second of the last 35 days; every function shifts traffic through CodeDeploy and rolls back on the 5xx alarm."""

from __future__ import annotations

from pathlib import Path

from infra.local.cfn_yaml import load_cfn_file

TEMPLATE = load_cfn_file(Path(__file__).resolve().parents[3] / "template.yaml")


def test_table_is_retained_and_has_point_in_time_recovery() -> None:
    table = TEMPLATE["Resources"]["Table"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_functions_deploy_gradually_and_roll_back_on_5xx() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["AutoPublishAlias"] == "live"
    preference = globals_["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert {"Ref": "Api5xxRateAlarm"} in preference["Alarms"]
    functions = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    overridden = [r for r in functions if "DeploymentPreference" in (r.get("Properties") or {})
                  or "AutoPublishAlias" in (r.get("Properties") or {})]
    assert not overridden, "a function overrides the global deploy safety"


def test_production_shifts_traffic_gradually() -> None:
    allowed = TEMPLATE["Parameters"]["DeploymentType"]["AllowedValues"]
    assert "AllAtOnce" in allowed and any(v.startswith("Canary") for v in allowed)


def test_the_rollback_alarm_watches_this_stages_api() -> None:
    api = TEMPLATE["Resources"]["Api"]["Properties"]
    alarm = TEMPLATE["Resources"]["Api5xxRateAlarm"]["Properties"]
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dimensions["ApiName"] == api["Name"]
    assert dimensions["Stage"] == api["StageName"]


def test_dashboard_body_is_json_with_the_widgets_the_runbooks_name() -> None:
    import json
    import re

    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # What CloudFormation will substitute: every ${...} becomes a plain string or number.
    rendered = re.sub(r"\$\{ApiLatencyP95ThresholdMs\}", "1000", body)
    rendered = re.sub(r"\$\{[A-Za-z:]+\}", "x", rendered)
    titles = {w["properties"]["title"] for w in json.loads(rendered)["widgets"]}
    runbooks = Path(__file__).resolve().parents[3] / "docs" / "runbooks"
    named = set()
    for path in runbooks.glob("*Alarm.md"):
        named |= set(re.findall(r'"([A-Z][^"]+)"', path.read_text().split("## Dashboards", 1)[1].split("##", 1)[0]))
    missing = sorted(named - titles)
    assert not missing, f"runbooks name dashboard widgets that do not exist: {missing}"
