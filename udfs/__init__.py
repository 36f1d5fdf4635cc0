"""Python UDFs (none yet: the job's functions are Java, in src/main/java, for speed)."""
