"""Privacy tooling: the keyed hash and reference pseudonymisation, `ecomflow forget` and the
lake rewrite it uses."""
