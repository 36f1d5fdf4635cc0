"""The original design's example records (original-design.md), copied literally."""

# --- original-design.md, "Estructura de Datos", copied literally -----------------------------

DESIGN_PURCHASE = """
{
  "event_type": "purchase",
  "timestamp": "2025-07-16T10:30:00Z",
  "transaction_id": "txn_12345",
  "customer_id": "cust_67890",
  "items": [
    {
      "product_id": "prod_111",
      "quantity": 2,
      "unit_price": 29.99,
      "category": "electronics"
    }
  ],
  "total_amount": 59.98,
  "currency": "USD",
  "payment_method": "credit_card",
  "shipping_address": {
    "country": "ES",
    "city": "Madrid",
    "postal_code": "28001"
  }
}
"""

DESIGN_PAGE_VIEW = """
{
  "event_type": "page_view",
  "timestamp": "2025-07-16T10:30:00Z",
  "user_id": "user_12345",
  "session_id": "sess_67890",
  "page_url": "/product/electronics/smartphone",
  "referrer": "https://google.com",
  "user_agent": "Mozilla/5.0...",
  "device_type": "mobile"
}
"""

DESIGN_PRODUCT = """
{
  "product_id": "prod_111",
  "name": "Smartphone Pro Max",
  "category": "electronics",
  "brand": "TechBrand",
  "price": 899.99,
  "currency": "USD",
  "stock_quantity": 150,
  "attributes": {
    "color": "black",
    "storage": "256GB",
    "screen_size": "6.7"
  },
  "created_at": "2025-07-16T10:30:00Z",
  "updated_at": "2025-07-16T10:30:00Z"
}
"""

# --- original-design.md, "API de Ingesta": the example transaction, copied literally ---------
DESIGN_INGESTER_TRANSACTION = {
    "customer_id": "cust_12345",
    "amount": 129.99,
    "currency": "USD",
    "items": [{"product_id": "prod_567", "quantity": 1, "price": 129.99}],
}
