"""Python UDFs (none yet: the job's only function, parse_event_time, is Java)."""
