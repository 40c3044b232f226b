"""gunicorn settings for production: `gunicorn -c python:crm.gunicorn_conf 'crm.wsgi:app'`.

Threaded workers (`gthread`): a worker serves `threads` requests at once, and a client that
sends its request slowly is handed back to the worker's poller after a few seconds
without data instead of holding a thread, so a handful of slow or hostile clients cannot
block every worker as they do with gunicorn's default synchronous workers. A request that
runs past `timeout` gets its worker restarted. Command-line options win over these
(`--threads 8`, `-w 4`); `WEB_CONCURRENCY` sets the number of workers.

For a network where many slow clients are expected, put a buffering proxy in front as
well (README, "Production").
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 16
timeout = 60  # seconds a request may run before its worker is restarted
graceful_timeout = 30
keepalive = 5
# Workers are recycled now and then, with jitter so they don't all restart at once.
max_requests = 5000
max_requests_jitter = 500
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
