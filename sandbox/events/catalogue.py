"""The catalogue of service event templates: which kinds exist, what each one is, and the
AWS page its shape follows (spec §9).

Each kind is one JSON file under ``templates/``, exactly the event a handler receives
(no metadata inside, so a template can be pasted into a console test event as is). The
description, the invocation style (spec §8.1) and the AWS source live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

__all__ = ["CATALOGUE", "Template", "template_text"]


@dataclass(frozen=True, slots=True)
class Template:
    """One service event template.

    Attributes:
        kind: the name ``generate`` takes, e.g. ``"s3-put"``.
        file: the JSON file under ``sandbox/events/templates``.
        service: the AWS service that sends the event.
        description: what the event is, in a sentence.
        invocation: how the service invokes the function (spec §8.1): ``"Event"``
            (asynchronous push), ``"RequestResponse"`` (synchronous push) or
            ``"event source mapping"`` (Lambda polls and invokes with a batch).
        source: the AWS documentation page the shape follows.
    """

    kind: str
    file: str
    service: str
    description: str
    invocation: str
    source: str


_DOCS = "https://docs.aws.amazon.com"
_ASYNC, _SYNC, _ESM = "Event", "RequestResponse", "event source mapping"

CATALOGUE: dict[str, Template] = {
    t.kind: t
    for t in (
        Template(
            "sqs",
            "sqs.json",
            "Amazon SQS",
            "A batch of messages received from a queue",
            _ESM,
            f"{_DOCS}/lambda/latest/dg/with-sqs.html",
        ),
        Template(
            "sns",
            "sns.json",
            "Amazon SNS",
            "A notification published to a topic",
            _ASYNC,
            f"{_DOCS}/lambda/latest/dg/with-sns.html",
        ),
        Template(
            "s3-put",
            "s3-put.json",
            "Amazon S3",
            "An object was created (ObjectCreated:Put)",
            _ASYNC,
            f"{_DOCS}/AmazonS3/latest/userguide/notification-content-structure.html",
        ),
        Template(
            "s3-delete",
            "s3-delete.json",
            "Amazon S3",
            "An object was deleted (ObjectRemoved:Delete)",
            _ASYNC,
            f"{_DOCS}/AmazonS3/latest/userguide/notification-content-structure.html",
        ),
        Template(
            "eventbridge",
            "eventbridge.json",
            "Amazon EventBridge",
            "A custom event put on an event bus and matched by a rule",
            _ASYNC,
            f"{_DOCS}/eventbridge/latest/userguide/eb-events-structure.html",
        ),
        Template(
            "scheduled",
            "scheduled.json",
            "Amazon EventBridge",
            "A schedule rule fired (detail-type Scheduled Event)",
            _ASYNC,
            f"{_DOCS}/eventbridge/latest/userguide/eb-run-lambda-schedule.html",
        ),
        Template(
            "apigateway-rest",
            "apigateway-rest.json",
            "Amazon API Gateway",
            "An HTTP request to a REST API with Lambda proxy integration (payload 1.0)",
            _SYNC,
            f"{_DOCS}/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html",
        ),
        Template(
            "apigateway-http",
            "apigateway-http.json",
            "Amazon API Gateway",
            "An HTTP request to an HTTP API (payload format 2.0)",
            _SYNC,
            f"{_DOCS}/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html",
        ),
        Template(
            "function-url",
            "function-url.json",
            "AWS Lambda",
            "An HTTP request to a function URL (AuthType NONE)",
            _SYNC,
            f"{_DOCS}/lambda/latest/dg/urls-invocation.html",
        ),
        Template(
            "alb",
            "alb.json",
            "Elastic Load Balancing",
            "An HTTP request routed by an Application Load Balancer to a target group",
            _SYNC,
            f"{_DOCS}/elasticloadbalancing/latest/application/lambda-functions.html",
        ),
        Template(
            "kinesis",
            "kinesis.json",
            "Amazon Kinesis Data Streams",
            "A batch of records read from a stream shard",
            _ESM,
            f"{_DOCS}/lambda/latest/dg/with-kinesis.html",
        ),
        Template(
            "dynamodb-insert",
            "dynamodb-insert.json",
            "Amazon DynamoDB Streams",
            "A stream record for a new item (INSERT)",
            _ESM,
            f"{_DOCS}/lambda/latest/dg/with-ddb.html",
        ),
        Template(
            "dynamodb-modify",
            "dynamodb-modify.json",
            "Amazon DynamoDB Streams",
            "A stream record for an updated item (MODIFY, new and old images)",
            _ESM,
            f"{_DOCS}/lambda/latest/dg/with-ddb.html",
        ),
        Template(
            "dynamodb-remove",
            "dynamodb-remove.json",
            "Amazon DynamoDB Streams",
            "A stream record for a deleted item (REMOVE)",
            _ESM,
            f"{_DOCS}/lambda/latest/dg/with-ddb.html",
        ),
        Template(
            "cloudwatch-logs",
            "cloudwatch-logs.json",
            "Amazon CloudWatch Logs",
            "Log events delivered by a subscription filter (base64 of gzipped JSON)",
            _ASYNC,
            f"{_DOCS}/AmazonCloudWatch/latest/logs/SubscriptionFilters.html",
        ),
        Template(
            "ses",
            "ses.json",
            "Amazon SES",
            "An email received by a receipt rule",
            _ASYNC,
            f"{_DOCS}/ses/latest/dg/receiving-email-action-lambda-event.html",
        ),
        Template(
            "cognito-pre-signup",
            "cognito-pre-signup.json",
            "Amazon Cognito",
            "A user signs up to a user pool (pre sign-up trigger)",
            _SYNC,
            f"{_DOCS}/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html",
        ),
        Template(
            "cloudformation-create",
            "cloudformation-create.json",
            "AWS CloudFormation",
            "A custom resource request (RequestType Create)",
            _ASYNC,
            f"{_DOCS}/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html",
        ),
    )
}


def template_text(kind: str) -> str:
    """The JSON text of a template file, read from the installed package."""
    return resources.files("sandbox.events").joinpath("templates", CATALOGUE[kind].file).read_text()
