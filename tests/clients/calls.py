"""The calls both Python clients send: their modules share Segment's interface."""


def send(client, spec):
    user, ids = spec["userId"], spec["messageIds"]
    client.identify(
        user,
        {"email": spec["email"], "firstName": spec["firstName"], "lastName": spec["lastName"]},
        message_id=ids["identify"],
    )
    client.track(user, "Product Viewed", {"sku": spec["sku"]}, message_id=ids["viewed"])
    client.track(user, "Order Completed", spec["order"], message_id=ids["order"])
    client.page(user, "Docs", "Pricing", {"url": "https://shop.example/pricing"}, message_id=ids["page"])
    client.screen(user, "App", "Home", {"tab": "start"}, message_id=ids["screen"])
    client.group(user, spec["groupId"], {"name": spec["groupName"]}, message_id=ids["group"])
    client.alias(spec["previousId"], user, message_id=ids["alias"])
