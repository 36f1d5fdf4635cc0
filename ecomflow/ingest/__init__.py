"""Getting events onto the stream: the producer SDK, the design's ingester, file replay and
the HTTP collector."""
