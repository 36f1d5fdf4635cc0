"""Payloads that exercise every pseudonymisation rule and edge, shared by the Python unit tests
(tests/ecomflow/test_privacy.py) and the Java-versus-Python comparison
(tests/flink_jobs/test_pseudonymise_java.py)."""

from __future__ import annotations

KEY = "test-key-0123456789abcdef"
HASH_HEX = r"[0-9a-f]{64}"

PAYLOADS: list[str] = [
    # the design's examples
    '{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","user_id":"user_12345",'
    '"session_id":"sess_67890","page_url":"/product/electronics/smartphone",'
    '"referrer":"https://google.com","user_agent":"Mozilla/5.0...","device_type":"mobile"}',
    '{"event_type":"purchase","timestamp":"2025-07-16T10:30:00Z","transaction_id":"txn_12345",'
    '"customer_id":"cust_67890","items":[{"product_id":"prod_111","quantity":2,'
    '"unit_price":29.99,"category":"electronics"}],"total_amount":59.98,"currency":"USD",'
    '"payment_method":"credit_card","shipping_address":{"country":"ES","city":"Madrid",'
    '"postal_code":"28001"}}',
    # ids of every kind, numbers as written
    '{"user_id":42}',
    '{"user_id":-7,"customer_id":4.2e1}',
    '{"user_id":1.50,"ip":"10.0.0.1","ip_address":"2001:db8::1"}',
    '{"customer_id":12345678901234567890123}',
    '{"email":"Ana.Lopez@example.com","user_id":"user_1"}',
    '{"user_id":null,"customer_id":true,"email":false}',
    '{"user_id":""}',
    # nested objects and arrays, at any depth
    '{"a":{"b":{"c":[{"user_id":"deep"},{"email":"x@y.z"}]}}}',
    '{"email":["a@b.c","d@e.f",7,null,true]}',
    '{"user_id":{"raw":"u1","other":[1,"two"]}}',
    '{"items":[[{"customer_id":"c1"}],[]]}',
    # postal codes to their region
    '{"shipping_address":{"postal_code":"28001"}}',
    '{"postal_code":28001}',
    '{"postal_code":"S"}',
    '{"postal_code":""}',
    '{"postal_code":"ñá123"}',
    '{"postal_code":"\U0001F600\U0001F601x"}',
    '{"postal_code":["SW1A 1AA","75008"]}',
    # URLs: query parameters stripped, the rest kept in order, fragments kept
    '{"page_url":"/checkout?email=a%40b.c&step=2"}',
    '{"page_url":"/p?step=2&TOKEN=abc&x=1#top"}',
    '{"referrer":"https://shop.example/?token=1"}',
    '{"url":"/reset?password=p&Password=q&PASSWORD=r"}',
    '{"page_url":"/p?a=1&&b=2&sid=9"}',
    '{"page_url":"/p?%65mail=x&e%6Dail=y&keep=1"}',
    '{"page_url":"/p#frag?token=not-a-query"}',
    '{"page_url":"/p?token#x"}',
    '{"page_url":"/p?"}',
    '{"page_url":"/p?a=1"}',
    '{"page_url":"/no-query"}',
    '{"page_url":"/p?api_key=k&access_token=t&code=c&auth=a&session=s&key=z&keys=kept"}',
    '{"page_url":"/p?\u212Aey=kelvin-sign-is-not-k"}',
    '{"page_url":42,"referrer":null}',
    '{"page_url":["/a?token=1","/b"]}',
    # the control event keeps its hashed user_id; other rules still apply
    '{"event_type":"erasure_request","timestamp":"2025-07-16T10:30:00Z","user_id":"'
    + "ab" * 32 + '","request_id":"r1","email":"x@y.z"}',
    '{"user_id":"' + "cd" * 32 + '","event_type":"erasure_request"}',
    '{"event_type":"page_view","nested":{"event_type":"erasure_request"},"user_id":"u9"}',
    # strings and keys needing escapes, unicode, duplicate keys, empty containers
    '{"user_id":"\\u00e9l\\u00e8ve","note":"tab\\there \\"quoted\\" \\\\ \\u0001",'
    '"\\u00fcber":"ok"}',
    '{"user_id":"a","user_id":"b"}',
    '{}',
    '{"x":[],"y":{}}',
    '{"big":1e400,"small":-0.0,"exp":1E+5}',
    # not one JSON object: NULL
    "[1, 2]",
    '"a string"',
    "42",
    "null",
    "not json",
    '{"truncated": ',
    '{"a":1} trailing',
    '{"a":NaN}',
    "",
]
