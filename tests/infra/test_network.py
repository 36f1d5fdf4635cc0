"""VPC: private subnets only, no route to the internet, endpoints for every AWS service used."""

from __future__ import annotations


def test_no_internet_gateway_nat_or_public_subnet(synth):
    template = synth.template("network")
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP",
                 "AWS::EC2::VPCGatewayAttachment"):
        template.resource_count_is(kind, 0)
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    for route in template.find_resources("AWS::EC2::Route").values():
        assert route["Properties"].get("DestinationCidrBlock") != "0.0.0.0/0"


def test_endpoints_for_s3_kinesis_secrets_manager_and_cloudwatch(synth):
    endpoints = synth.template("network").find_resources("AWS::EC2::VPCEndpoint")
    kinds = {}
    for endpoint in endpoints.values():
        props = endpoint["Properties"]
        service = props["ServiceName"]
        name = service if isinstance(service, str) else service["Fn::Join"][1][-1]
        kinds[name.rsplit(".", 1)[-1]] = props.get("VpcEndpointType", "Gateway")
        if props.get("VpcEndpointType") == "Interface":
            assert props["PrivateDnsEnabled"] is True
    assert kinds == {"s3": "Gateway", "kinesis-streams": "Interface",
                     "secretsmanager": "Interface", "monitoring": "Interface",
                     "logs": "Interface"}


def test_flow_logs_and_closed_security_groups(synth):
    template = synth.template("network")
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    for group in template.find_resources("AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    [jdbc] = [r["Properties"] for r in ingress.values() if r["Properties"]["FromPort"] == 5440]
    assert "SourceSecurityGroupId" in jdbc and "CidrIp" not in jdbc
