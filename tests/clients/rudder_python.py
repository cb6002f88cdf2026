"""Sends every call type through rudder-sdk-python to the data plane and with the ids given as
JSON in argv[1] (see tests/segment_clients.rs), flushes, and fails if any batch was refused."""

import json
import sys

import rudderstack.analytics as rudder_analytics

from calls import send

spec = json.loads(sys.argv[1])
failures = []
rudder_analytics.write_key = spec["writeKey"]
rudder_analytics.dataPlaneUrl = spec["host"]
rudder_analytics.on_error = lambda error, batch: failures.append(repr(error))
send(rudder_analytics, spec)
rudder_analytics.flush()
rudder_analytics.shutdown()
if failures:
    sys.exit("rudder-sdk-python: " + "; ".join(failures))
