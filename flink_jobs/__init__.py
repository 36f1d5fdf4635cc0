"""PyFlink job entry points and their plumbing. Shipped in the MSF zip."""
