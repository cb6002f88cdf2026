// Sends every call type through @rudderstack/rudder-sdk-node to the data plane and with the ids
// given as JSON in argv[2] (see tests/segment_clients.rs), flushes, and fails if any batch was
// refused.
"use strict";
const Analytics = require("@rudderstack/rudder-sdk-node");
const { send } = require("./calls");

const spec = JSON.parse(process.argv[2]);
const failures = [];
const client = new Analytics(spec.writeKey, {
  dataPlaneUrl: spec.host,
  flushAt: 100,
  flushInterval: 100,
  retryCount: 2,
  logLevel: "error",
  errorHandler: (error) => failures.push(String(error && (error.message || error))),
});
send(client, spec);
client
  .flush()
  .catch((error) => failures.push(String(error && (error.message || error))))
  .then(() => {
    if (failures.length) {
      console.error("@rudderstack/rudder-sdk-node: " + failures.join("; "));
      process.exit(1);
    }
  });
