-- parse_user_agent(user_agent STRING) -> ROW<device_class STRING, browser STRING, os STRING>
-- The maintained ua-parser library, cached per distinct agent. Python (udfs/user_agent.py).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS parse_user_agent
AS 'udfs.user_agent.parse_user_agent' LANGUAGE PYTHON
