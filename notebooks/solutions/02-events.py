"""Solutions of lab 2 (events), with plausible wrong answers."""

_ORDERS_S3 = """def lambda_handler(event, context):
    import json
    from urllib.parse import unquote_plus

    records = event.get("Records") or [{}]
    if records[0].get("eventSource") == "aws:sqs":
        orders = [json.loads(record["body"]) for record in records]
        return {"batchItemFailures": [], "processed": [o["order"] for o in orders]}
    if records[0].get("eventSource") == "aws:s3":
        return {"uploaded": [unquote_plus(r["s3"]["object"]["key"]) for r in records]}
    if "httpMethod" in event:
        order = json.loads(event["body"] or "{}")
        return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"accepted": order.get("order")})}
    raise ValueError(f"unexpected event with keys {sorted(event)}")

sb.update_function_code("orders", lambda_handler)
"""

SOLUTIONS = {
    "2.1": {
        "solution": (
            'upload = sb.generate_event("s3-put", bucket="uploads", key="raw/cat photo.jpg")\n'
            'print(sb.invoke("thumbnail", upload).payload)\n'
        ),
        "wrong": [
            # the bucket of the lab's example
            'upload = sb.generate_event("s3-put", bucket="photos", key="raw/cat photo.jpg")\n'
            'sb.invoke("thumbnail", upload)\n',
            # by hand: S3 sends much more, and encodes the key
            'upload = {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "uploads"},'
            ' "object": {"key": "raw/cat photo.jpg"}}}]}\n'
            'sb.invoke("thumbnail", upload)\n',
            # a deletion is not an upload
            'gone = sb.generate_event("s3-delete", bucket="uploads", key="raw/cat photo.jpg")\n'
            'sb.invoke("thumbnail", gone)\n',
        ],
        "secrets": ['generate_event("s3-put", bucket="uploads"'],
    },
    "2.2": {
        "solution": _ORDERS_S3,
        "wrong": [
            # the key as S3 sent it, still encoded
            _ORDERS_S3.replace(
                'unquote_plus(r["s3"]["object"]["key"])', 'r["s3"]["object"]["key"]'
            ),
            # every Records event taken for SQS
            _ORDERS_S3.replace('records[0].get("eventSource") == "aws:sqs"', '"Records" in event'),
            # S3 handled, the API forgotten
            _ORDERS_S3.replace('"httpMethod" in event', "False"),
        ],
        "secrets": ["unquote_plus"],
    },
    "2.3": {
        "solution": (
            'batch = sb.generate_event("sqs", body={"order": 1}, count=5)\n'
            'sb.save_test_event("orders", "five-orders", batch)\n'
        ),
        "wrong": [
            # three is not five
            'sb.save_test_event("orders", "five-orders",'
            ' sb.generate_event("sqs", body={"order": 1}, count=3))\n',
            # bodies that are not orders
            'sb.save_test_event("orders", "five-orders",'
            ' sb.generate_event("sqs", body="order please", count=5))\n',
            # another name
            'sb.save_test_event("orders", "five_orders",'
            ' sb.generate_event("sqs", body={"order": 1}, count=5))\n',
        ],
        "secrets": ["count=5"],
    },
}
