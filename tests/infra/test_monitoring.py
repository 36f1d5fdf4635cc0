"""Alarms at the design's thresholds plus Flink's, the SNS topic and its e-mail parameter."""

from __future__ import annotations

import json

from ecomflow_infra import environments, monitoring

from ecomflow.aws import names as aws_names


def _alarms(synth) -> dict[str, dict]:
    """Alarms by the metric (or metric math expression's metrics) they watch."""
    found = {}
    for alarm in synth.template("monitoring").find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "MetricName" in props:
            found[props["MetricName"]] = props
        else:
            names = sorted(m["MetricStat"]["Metric"]["MetricName"]
                           for m in props["Metrics"] if "MetricStat" in m)
            found[names[0]] = props
    return found


def test_design_thresholds_per_environment(synth):
    alarms = _alarms(synth)
    thresholds = {name: (a["Threshold"], a["ComparisonOperator"]) for name, a in alarms.items()}
    over = "GreaterThanThreshold"
    assert thresholds == {
        "IncomingRecords": (1000, over),              # > 1000 records per minute
        "DeliveryToS3.Success": (1, over),            # > 1 % delivery errors
        "CPUUtilization": (80, over),                 # Redshift CPU > 80 %
        "BucketSizeBytes": (10**12, over),            # lake > 1 TB
        "5XXError": (5, over),                        # API error rate > 5 %
        "downtime": (0, over),
        "numberOfFailedCheckpoints": (0, over),
        "millisBehindLatest": (environments.get(synth.env).alarms.flink_millis_behind_latest,
                               over),
    }
    incoming = alarms["IncomingRecords"]
    assert (incoming["Period"], incoming["Statistic"]) == (60, "Sum")
    assert incoming["Dimensions"] == [{"Name": "StreamName",
                                       "Value": aws_names.stream_name(synth.env)}]
    errors = alarms["DeliveryToS3.Success"]["Metrics"]
    assert [m["Expression"] for m in errors if "Expression" in m] == ["100 * (1 - delivered)"]
    cpu = alarms["CPUUtilization"]
    assert cpu["Dimensions"] == [{"Name": "ClusterIdentifier",
                                  "Value": aws_names.cluster_identifier(synth.env)}]


def test_flink_alarms_watch_the_application(synth):
    alarms = _alarms(synth)
    app = aws_names.application_name(synth.env)
    for name in ("downtime", "millisBehindLatest"):
        dims = {d["Name"]: d["Value"] for d in alarms[name]["Dimensions"]}
        assert dims["Application"] == app
    checkpoints = alarms["numberOfFailedCheckpoints"]["Metrics"]
    assert [m["Expression"] for m in checkpoints if "Expression" in m] == ["RATE(failed)"]


def test_every_alarm_notifies_the_topic(synth):
    template = synth.template("monitoring")
    [topic_id] = template.find_resources("AWS::SNS::Topic")
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


def test_topic_is_kms_encrypted_tls_only_with_an_optional_email_subscription(synth):
    raw = synth.json("monitoring")
    template = synth.template("monitoring")
    [(topic_id, topic)] = template.find_resources("AWS::SNS::Topic").items()
    [key_id] = template.find_resources("AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    [policy] = template.find_resources("AWS::SNS::TopicPolicy").values()
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    parameter = raw["Parameters"][aws_names.ALERT_EMAIL_PARAMETER]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    [subscription] = template.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": aws_names.ALERT_EMAIL_PARAMETER}
    assert subscription["Condition"] == "HasAlertEmail"
    key_policy = template.find_resources("AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"]
    cloudwatch = [s for s in key_policy["Statement"]
                  if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_dashboard_shows_every_alarm(synth):
    template = synth.template("monitoring")
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"ecomflow-{synth.env}"
    body = str(dashboard["Properties"]["DashboardBody"])
    for alarm_id in template.find_resources("AWS::CloudWatch::Alarm"):
        assert alarm_id in body


def test_dashboard_shows_the_jobs_accounting_like_the_local_dashboard(synth):
    """The pipeline-health figures of `ecomflow dashboard`, from the job's own counters (the
    metric group MSF publishes), and the balance that must stay 0."""
    template = synth.template("monitoring")
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for term in monitoring.ACCOUNTING:
        assert f'\\"AWS/KinesisAnalytics\\",\\"{term}\\"' in body, term
    assert ("m_records_in - (m_valid + m_dead_letter + m_duplicates + m_late + m_forgotten"
            " + m_control)") in body
