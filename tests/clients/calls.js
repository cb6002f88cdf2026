// The calls both Node clients send: they share Segment's interface.
"use strict";

exports.send = function send(client, spec) {
  const userId = spec.userId;
  const ids = spec.messageIds;
  client.identify({
    userId,
    traits: { email: spec.email, firstName: spec.firstName, lastName: spec.lastName },
    messageId: ids.identify,
  });
  client.track({ userId, event: "Product Viewed", properties: { sku: spec.sku }, messageId: ids.viewed });
  client.track({ userId, event: "Order Completed", properties: spec.order, messageId: ids.order });
  client.page({
    userId,
    category: "Docs",
    name: "Pricing",
    properties: { url: "https://shop.example/pricing" },
    messageId: ids.page,
  });
  client.screen({ userId, category: "App", name: "Home", properties: { tab: "start" }, messageId: ids.screen });
  client.group({ userId, groupId: spec.groupId, traits: { name: spec.groupName }, messageId: ids.group });
  client.alias({ userId, previousId: spec.previousId, messageId: ids.alias });
};
