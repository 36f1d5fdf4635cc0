"""Everything that prepares for or talks to AWS: the MSF package, deploy (CloudFormation,
the Data API migrations, the MSF application), state maps, the stack names shared with infra/."""
