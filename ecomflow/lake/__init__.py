"""The lake as Iceberg tables: read through their catalog (`tables`), kept small and tidy
(`maintenance`)."""
