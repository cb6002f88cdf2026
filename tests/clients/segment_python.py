"""Sends every call type through segment-analytics-python to the host and with the ids given as
JSON in argv[1] (see tests/segment_clients.rs), flushes, and fails if any batch was refused."""

import json
import sys

import segment.analytics as analytics

from calls import send

spec = json.loads(sys.argv[1])
failures = []
analytics.write_key = spec["writeKey"]
analytics.host = spec["host"]
analytics.on_error = lambda error, batch: failures.append(repr(error))
send(analytics, spec)
analytics.flush()
analytics.shutdown()
if failures:
    sys.exit("segment-analytics-python: " + "; ".join(failures))
