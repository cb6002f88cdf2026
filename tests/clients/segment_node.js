// Sends every call type through @segment/analytics-node to the host and with the ids given as
// JSON in argv[2] (see tests/segment_clients.rs), flushes, and fails if any call was refused.
"use strict";
const { Analytics } = require("@segment/analytics-node");
const { send } = require("./calls");

const spec = JSON.parse(process.argv[2]);
const analytics = new Analytics({ writeKey: spec.writeKey, host: spec.host, path: "/v1/batch", flushInterval: 100 });
const failures = [];
analytics.on("error", (error) => failures.push(String(error && (error.reason || error.message || error))));
send(analytics, spec);
analytics.closeAndFlush({ timeout: 20000 }).then(() => {
  if (failures.length) {
    console.error("@segment/analytics-node: " + failures.join("; "));
    process.exit(1);
  }
});
