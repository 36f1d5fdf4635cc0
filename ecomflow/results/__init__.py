"""What a run left behind: the demo summary and the report's charts."""
