"""ecomflow.privacy.hashing: the keyed hash (RFC 4231 vectors) and the reference
pseudonymisation that the job's Java function must match, rule by rule, with exact outputs."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from ecomflow.privacy.hashing import hash_id, pseudonymise, strip_query
from flink_jobs.privacy_rules import PrivacyRules, RulesError
from tests.privacy_cases import KEY, PAYLOADS

RULES = PrivacyRules()


def h(value: str, key: str = KEY) -> str:
    """An independent HMAC-SHA-256 (the standard library's), to check hash_id against."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_hash_id_matches_rfc_4231_test_cases_1_and_2() -> None:
    assert hash_id("\x0b" * 20, "Hi There") == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    assert hash_id("Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_hash_id_is_keyed_and_utf8() -> None:
    assert hash_id(KEY, "user_1") == h("user_1")
    assert hash_id("other", "user_1") != hash_id(KEY, "user_1")
    assert hash_id(KEY, "élève") == hmac.new(KEY.encode(), "élève".encode(),
                                             hashlib.sha256).hexdigest()


def test_the_designs_page_view_exactly() -> None:
    out = pseudonymise(PAYLOADS[0], RULES, KEY)
    assert out == (
        '{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z",'
        f'"user_id":"{h("user_12345")}","session_id":"sess_67890",'
        '"page_url":"/product/electronics/smartphone","referrer":"https://google.com",'
        '"user_agent":"Mozilla/5.0...","device_type":"mobile"}')


def test_the_designs_purchase_hashes_the_customer_and_cuts_the_postal_code() -> None:
    record = json.loads(pseudonymise(PAYLOADS[1], RULES, KEY))
    original = json.loads(PAYLOADS[1])
    assert record["customer_id"] == h("cust_67890")
    assert record["shipping_address"] == {"country": "ES", "city": "Madrid", "postal_code": "28"}
    # everything else, numbers included, round-trips as values
    for name in ("items", "total_amount", "transaction_id", "currency", "timestamp"):
        assert record[name] == original[name]


@pytest.mark.parametrize(("payload", "expected"), [
    ('{"user_id":42}', {"user_id": h("42")}),
    ('{"user_id":-7,"customer_id":4.2e1}', {"user_id": h("-7"), "customer_id": h("4.2e1")}),
    ('{"user_id":1.50}', {"user_id": h("1.50")}),  # the number's text as written
    ('{"customer_id":12345678901234567890123}', {"customer_id": h("12345678901234567890123")}),
    ('{"ip":"10.0.0.1","ip_address":"2001:db8::1","email":"a@b.c"}',
     {"ip": h("10.0.0.1"), "ip_address": h("2001:db8::1"), "email": h("a@b.c")}),
    ('{"user_id":null,"customer_id":true,"email":false}',
     {"user_id": None, "customer_id": True, "email": False}),
    ('{"user_id":""}', {"user_id": h("")}),
])
def test_hashed_fields(payload: str, expected: dict) -> None:
    assert json.loads(pseudonymise(payload, RULES, KEY)) == expected


def test_nested_objects_and_arrays_at_any_depth() -> None:
    out = pseudonymise('{"a":{"b":{"c":[{"user_id":"deep"},{"email":"x@y.z"}]}},'
                       '"email":["a@b.c",7,null,true],"user_id":{"raw":"u1","n":[1,"two"]}}',
                       RULES, KEY)
    assert out == (
        f'{{"a":{{"b":{{"c":[{{"user_id":"{h("deep")}"}},{{"email":"{h("x@y.z")}"}}]}}}},'
        f'"email":["{h("a@b.c")}","{h("7")}",null,true],'
        f'"user_id":{{"raw":"{h("u1")}","n":["{h("1")}","{h("two")}"]}}}}')


@pytest.mark.parametrize(("value", "expected"), [
    ('"28001"', '"28"'), ("28001", '"28"'), ('"S"', '"S"'), ('""', '""'),
    ('"ñá123"', '"ñá"'), ('"\U0001F600\U0001F601x"', '"\U0001F600\U0001F601"'),
    ('["SW1A 1AA","75008"]', '["SW","75"]'), ("null", "null"),
])
def test_postal_codes_are_cut_to_their_region(value: str, expected: str) -> None:
    assert pseudonymise(f'{{"postal_code":{value}}}', RULES, KEY) == (
        f'{{"postal_code":{expected}}}')


def test_region_length_is_configurable() -> None:
    rules = PrivacyRules(region_chars=3, region_fields=("postal_code", "zip"))
    assert pseudonymise('{"zip":"90210","postal_code":"28001"}', rules, KEY) == (
        '{"zip":"902","postal_code":"280"}')


PARAMS = RULES.strip_params


@pytest.mark.parametrize(("url", "expected"), [
    ("/checkout?email=a%40b.c&step=2", "/checkout?step=2"),
    ("/p?step=2&TOKEN=abc&x=1#top", "/p?step=2&x=1#top"),
    ("https://shop.example/?token=1", "https://shop.example/"),
    ("/reset?password=p&Password=q&PASSWORD=r", "/reset"),
    ("/p?a=1&&b=2&sid=9", "/p?a=1&&b=2"),  # empty parameters kept, as written
    ("/p?%65mail=x&e%6Dail=y&keep=1", "/p?keep=1"),  # escaped names are still names
    ("/p#frag?token=not-a-query", "/p#frag?token=not-a-query"),  # the fragment is not a query
    ("/p?token#x", "/p#x"),
    ("/p?", "/p?"),  # nothing stripped: unchanged
    ("/p?a=1", "/p?a=1"),
    ("/no-query", "/no-query"),
    ("/p?api_key=k&access_token=t&code=c&auth=a&session=s&key=z&keys=kept", "/p?keys=kept"),
    ("/p?\u212Aey=1", "/p?\u212Aey=1"),  # the Kelvin sign is not an ASCII K
])
def test_query_parameters_are_stripped(url: str, expected: str) -> None:
    assert strip_query(url, PARAMS) == expected
    payload = json.dumps({"page_url": url, "referrer": url, "url": url})
    assert json.loads(pseudonymise(payload, RULES, KEY)) == {
        "page_url": expected, "referrer": expected, "url": expected}


def test_url_fields_keep_numbers_and_strip_inside_arrays() -> None:
    assert pseudonymise('{"page_url":42,"referrer":null,"url":["/a?token=1","/b"]}',
                        RULES, KEY) == '{"page_url":42,"referrer":null,"url":["/a","/b"]}'


def test_a_control_event_keeps_its_hashed_user_id_only() -> None:
    hashed = "ab" * 32
    payload = ('{"event_type":"erasure_request","timestamp":"2025-07-16T10:30:00Z",'
               f'"user_id":"{hashed}","request_id":"r1","email":"x@y.z","x":{{"user_id":"u"}}}}')
    assert json.loads(pseudonymise(payload, RULES, KEY)) == {
        "event_type": "erasure_request", "timestamp": "2025-07-16T10:30:00Z",
        "user_id": hashed, "request_id": "r1", "email": h("x@y.z"), "x": {"user_id": h("u")}}
    # only a top-level event_type makes a control event
    nested = '{"nested":{"event_type":"erasure_request"},"user_id":"u9"}'
    assert json.loads(pseudonymise(nested, RULES, KEY))["user_id"] == h("u9")


def test_order_duplicates_escapes_and_numbers_survive() -> None:
    assert pseudonymise('{"b":1,"a":2,"user_id":"x","user_id":"y"}', RULES, KEY) == (
        f'{{"b":1,"a":2,"user_id":"{h("x")}","user_id":"{h("y")}"}}')
    numbers = '{"big":1e400,"small":-0.0,"exp":1E+5,"f":29.990,"i":-12}'
    assert pseudonymise(numbers, RULES, KEY) == numbers  # the text as written
    escaped = '{"note":"tab\\there \\"q\\" \\\\ \\u0001 \\u00e9","\\u00fcber":"ok"}'
    out = pseudonymise(escaped, RULES, KEY)
    assert json.loads(out) == json.loads(escaped)
    assert out == '{"note":"tab\\there \\"q\\" \\\\ \\u0001 é","über":"ok"}'


def test_compact_output_from_spaced_input() -> None:
    assert pseudonymise('{ "a" : [ 1 , { } ] ,\n "b" : null }', RULES, KEY) == (
        '{"a":[1,{}],"b":null}')


@pytest.mark.parametrize("payload", [
    "[1, 2]", '"a string"', "42", "null", "not json", '{"truncated": ', '{"a":1} trailing',
    '{"a":NaN}', '{"a":Infinity}', "", None])
def test_not_one_json_object_is_none(payload: str | None) -> None:
    assert pseudonymise(payload, RULES, KEY) is None


def test_every_shared_case_is_an_object_or_none_and_parses() -> None:
    for payload in PAYLOADS:
        out = pseudonymise(payload, RULES, KEY)
        if out is not None:
            json.loads(out)


def test_no_rules_changes_nothing_but_the_spacing() -> None:
    rules = PrivacyRules(hash_fields=(), region_fields=(), url_fields=(), strip_params=())
    for payload in PAYLOADS:
        out = pseudonymise(payload, rules, KEY)
        if out is not None:
            assert json.loads(out) == json.loads(payload)


def test_spec_round_trips_and_names_every_rule() -> None:
    assert RULES.spec() == (
        "v1;hash=user_id,customer_id,ip_address,ip,email;region=postal_code;region.chars=2;"
        "url=page_url,referrer,url;strip=email,token,password,auth,session,sid,key,api_key,"
        "access_token,code")
    custom = PrivacyRules(hash_fields=("uid",), region_fields=(), region_chars=0,
                          url_fields=("u",), strip_params=("Token", "token", "X"))
    assert custom.strip_params == ("token", "x")  # lower-cased once, duplicates dropped
    assert custom.spec() == "v1;hash=uid;region=;region.chars=0;url=u;strip=token,x"
    assert PrivacyRules.from_spec(custom.spec()) == custom
    assert PrivacyRules.from_spec(RULES.spec()) == RULES


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hash_fields": ("email",), "url_fields": ("email",)}, "email is in two"),
    ({"hash_fields": ("user id",)}, r"Privacy\.hash\.fields: 'user id'"),
    ({"region_fields": ("a;b",)}, r"Privacy\.region\.fields"),
    ({"strip_params": ("a=b",)}, r"Privacy\.url\.strip\.params"),
    ({"url_fields": ("u", "u")}, "names a field twice"),
    ({"region_chars": -1}, r"Privacy\.postal\.region\.chars must be >= 0"),
])
def test_malformed_rules_name_the_setting(kwargs: dict, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        PrivacyRules(**kwargs)


def test_unknown_spec_version_is_refused() -> None:
    with pytest.raises(RulesError, match="v2"):
        PrivacyRules.from_spec("v2;hash=a")
