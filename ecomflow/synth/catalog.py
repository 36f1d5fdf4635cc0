"""The shop the generator simulates: its products, devices, places, currencies, payment methods,
referrers and search terms."""


from __future__ import annotations

from typing import Any

CATEGORIES = ("electronics", "books", "home", "fashion", "sports")

SHOP_ORIGIN = "https://shop.ecomflow.example"

# (name, brand, USD price, attributes); product_id = prod_<101 + index>.
_CATALOG: dict[str, tuple[tuple[str, str, float, dict[str, str]], ...]] = {
    "electronics": (
        ("Smartphone Pro Max", "TechBrand", 899.99, {"color": "black", "storage": "256GB"}),
        ("Wireless Earbuds", "SoundCo", 129.99, {"color": "white", "battery": "24h"}),
        ("4K Smart TV 55in", "VisionPlus", 549.00, {"screen_size": "55", "hdr": "yes"}),
        ("Laptop Ultra 14", "TechBrand", 1249.50, {"ram": "16GB", "storage": "512GB"}),
        ("Smartwatch Series 5", "Pulse", 249.99, {"color": "silver", "gps": "yes"}),
        ("Bluetooth Speaker", "SoundCo", 59.90, {"color": "blue", "waterproof": "IPX7"}),
        ("USB-C Charger 65W", "VoltEdge", 34.99, {"ports": "2"}),
        ("Mechanical Keyboard", "KeyForge", 89.00, {"switch": "brown", "layout": "US"}),
    ),
    "books": (
        ("Designing Data-Intensive Apps", "O'Reilly", 42.50, {"format": "paperback"}),
        ("Streaming Systems", "O'Reilly", 39.99, {"format": "paperback"}),
        ("The Pragmatic Programmer", "Addison-Wesley", 34.95, {"format": "hardcover"}),
        ("Cien anos de soledad", "Catedra", 14.95, {"format": "paperback", "lang": "es"}),
        ("Atomic Habits", "Avery", 16.99, {"format": "hardcover"}),
        ("Dune", "Ace", 10.99, {"format": "paperback"}),
        ("The Art of Cooking", "Phaidon", 29.00, {"format": "hardcover"}),
        ("Kids Atlas of the World", "Lonely Planet", 19.99, {"format": "hardcover"}),
    ),
    "home": (
        ("Espresso Machine", "Brewista", 329.00, {"color": "steel", "pressure": "15bar"}),
        ("Robot Vacuum", "CleanBot", 279.99, {"runtime": "120min"}),
        ("Chef Knife 8in", "Edgecraft", 64.90, {"material": "steel"}),
        ("Linen Bed Sheets", "Nordhem", 79.00, {"size": "queen", "color": "sand"}),
        ("Air Purifier", "PureAir", 149.99, {"room_size": "40m2"}),
        ("Cast Iron Skillet", "Forgeware", 39.95, {"diameter": "26cm"}),
        ("LED Desk Lamp", "Lumina", 45.50, {"color": "white"}),
        ("Scented Candle Set", "Nordhem", 24.99, {"pieces": "3"}),
    ),
    "fashion": (
        ("Running Jacket", "Strider", 89.95, {"size": "M", "color": "red"}),
        ("Leather Sneakers", "Urbano", 119.00, {"size": "42", "color": "white"}),
        ("Denim Jeans Slim", "Blue Mill", 59.99, {"size": "32/32", "color": "indigo"}),
        ("Wool Scarf", "Highland", 29.90, {"color": "grey"}),
        ("Linen Shirt", "Costa", 45.00, {"size": "L", "color": "beige"}),
        ("Aviator Sunglasses", "Solare", 139.00, {"lens": "polarized"}),
        ("Canvas Backpack", "Urbano", 74.50, {"volume": "22L"}),
        ("Summer Dress", "Costa", 54.99, {"size": "S", "color": "green"}),
    ),
    "sports": (
        ("Yoga Mat", "Zenfit", 29.99, {"thickness": "6mm", "color": "purple"}),
        ("Adjustable Dumbbells", "IronCore", 199.00, {"max_weight": "24kg"}),
        ("Road Bike Helmet", "Velox", 89.99, {"size": "M"}),
        ("Tennis Racket", "Acepoint", 149.50, {"weight": "300g"}),
        ("Football Size 5", "Strider", 24.95, {"size": "5"}),
        ("Running Shoes", "Strider", 129.95, {"size": "43", "drop": "8mm"}),
        ("Fitness Tracker Band", "Pulse", 49.99, {"color": "black"}),
        ("Camping Tent 2P", "Trailhead", 179.00, {"capacity": "2", "weight": "2.1kg"}),
    ),
}

_USER_AGENTS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/125.0.6422.165 Mobile Safari/537.36",
    ),
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.122 Safari/537.36",
    ),
}
_DEVICE_WEIGHTS = (("mobile", 55), ("desktop", 35), ("tablet", 10))

# (country, currency, weight, ((city, postal code prefix), ...)).
_LOCATIONS = (
    ("US", "USD", 40, (("New York", "100"), ("Austin", "787"), ("Seattle", "981"))),
    ("ES", "EUR", 20, (("Madrid", "280"), ("Barcelona", "080"), ("Valencia", "460"))),
    ("DE", "EUR", 12, (("Berlin", "101"), ("Munich", "803"))),
    ("FR", "EUR", 10, (("Paris", "750"), ("Lyon", "690"))),
    ("GB", "GBP", 18, (("London", "SW1"), ("Manchester", "M1"))),
)
# Catalog prices are USD; transactions are charged in the shopper's currency at fixed rates.
FX_FROM_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}
_PAYMENT_METHODS = (("credit_card", 50), ("debit_card", 20), ("paypal", 20), ("apple_pay", 10))
_EXTERNAL_REFERRERS = (
    ("https://www.google.com/", 45),
    ("", 20),  # direct traffic: no referrer, kept as "" so the field is always a string
    ("https://www.facebook.com/", 10),
    ("https://www.instagram.com/", 10),
    ("https://www.bing.com/", 5),
    ("https://newsletter.ecomflow.example/", 10),
)
_SEARCH_TERMS = ("headphones", "gift", "running", "coffee", "jacket", "book", "lamp", "sale")


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _catalog_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for category in CATEGORIES:
        for name, brand, price, attributes in _CATALOG[category]:
            rows.append(
                {
                    "product_id": f"prod_{101 + len(rows)}",
                    "name": name,
                    "category": category,
                    "brand": brand,
                    "price": price,
                    "attributes": attributes,
                    "url": f"/product/{category}/{_slug(name)}",
                }
            )
    return rows


PRODUCTS = _catalog_rows()


PRODUCTS_BY_CATEGORY = {c: tuple(p for p in PRODUCTS if p["category"] == c) for c in CATEGORIES}
