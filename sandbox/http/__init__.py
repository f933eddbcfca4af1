"""The Lambda REST API over HTTP, for boto3 and the AWS CLI."""
