"""Migration 11: function URLs (CreateFunctionUrlConfig and friends).

One row per URL: a function has at most one for itself and one per alias. The row goes
with its function (ON DELETE CASCADE) but not with its alias: on AWS a URL outlives the
alias it was made for (it answers again when an alias of that name comes back), so
there is no foreign key to ``aliases``. The url-id is the row's key because the local
endpoint looks URLs up by it on every request.
"""

SQL = """
CREATE TABLE function_urls (
    url_id TEXT PRIMARY KEY,           -- the <url-id> of https://<url-id>.lambda-url...
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    alias TEXT NOT NULL DEFAULT '',    -- the Qualifier (an alias name), or '' for none
    auth_type TEXT NOT NULL,           -- NONE or AWS_IAM
    cors TEXT,                         -- JSON: the Cors settings given (AWS shape), or NULL
    invoke_mode TEXT NOT NULL,         -- BUFFERED or RESPONSE_STREAM
    created REAL NOT NULL,             -- platform time
    last_modified REAL NOT NULL,
    UNIQUE (account, region, name, alias),
    FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
)
"""
