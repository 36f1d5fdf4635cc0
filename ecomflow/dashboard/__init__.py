"""`ecomflow dashboard`: the warehouse's figures on a web page that refreshes itself."""
