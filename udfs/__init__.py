"""Python UDFs of the job, each registered by a file in sql/05_functions.

Python runs only where a maintained library does the work and SQL cannot: the event contract's
validation (JSON Schema, one source of truth shared with the producers) and user-agent parsing.
Everything else is SQL or a Java function in the uber-jar.
"""
