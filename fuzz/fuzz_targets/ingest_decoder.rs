//! Any bytes as the body of a tracking request, sent to `/v1/batch` or to one call type's
//! endpoint, as they came, as a gzip stream, or compressed first: the decoder must not panic,
//! and whatever it accepts must keep the limits it promises, so that no payload it lets through
//! costs more than a well-behaved one: the request within `MAX_REQUEST_BYTES`, each call's
//! stored JSON within `MAX_MESSAGE_BYTES`, `MAX_DEPTH` and `MAX_VALUES_PER_MESSAGE` and all of
//! them within `MAX_EXPANDED_BYTES`, with the ids its type needs and a time both engines store.
#![no_main]

// The decoder's own source, compiled without the rest of the application (it needs only the
// core crate's types), so the target builds quickly.
#[allow(dead_code)]
#[path = "../../src/tracking/model.rs"]
mod model;

use std::io::Write;

use chrono::Datelike;
use libfuzzer_sys::fuzz_target;
use model::{
    MAX_DEPTH, MAX_EXPANDED_BYTES, MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, MAX_VALUES_PER_MESSAGE, Message, MessageType,
};
use serde_json::Value;

const KINDS: [Option<MessageType>; 7] = [
    None,
    Some(MessageType::Track),
    Some(MessageType::Identify),
    Some(MessageType::Page),
    Some(MessageType::Screen),
    Some(MessageType::Group),
    Some(MessageType::Alias),
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, content)) = data.split_first() else { return };
    let kind = KINDS[usize::from(choice & 7) % KINDS.len()];
    let body = match (choice >> 3) % 3 {
        0 => content.to_vec(),
        1 => match model::gunzip(content) {
            Ok(inflated) => inflated,
            Err(_) => return,
        },
        _ => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(content).expect("compressing into memory");
            let Ok(inflated) = model::gunzip(&encoder.finish().expect("compressing into memory")) else {
                panic!("a stream gzip wrote itself must inflate");
            };
            assert_eq!(inflated.len(), content.len().min(MAX_REQUEST_BYTES + 1), "inflating stops at the limit");
            inflated
        }
    };
    assert!(body.len() <= MAX_REQUEST_BYTES + 1, "inflating stops at the limit");
    let received_at = chrono::DateTime::from_timestamp(1_704_164_645, 0).expect("a date");
    let Ok(payload) = model::parse(&body, kind, received_at) else { return };
    assert!(body.len() <= MAX_REQUEST_BYTES, "an accepted request is within the limit");
    if kind.is_some() {
        assert_eq!(payload.messages.len(), 1, "a call type's endpoint takes one call");
    }
    let total: usize = payload.messages.iter().map(check).sum();
    assert!(total <= MAX_EXPANDED_BYTES, "a request stores {total} bytes of JSON");
});

/// Checks one accepted call and returns how many bytes of JSON it stores.
fn check(message: &Message) -> usize {
    let stored = [&message.properties, &message.traits, &message.context];
    let bytes: usize = stored.iter().map(|v| serde_json::to_vec(v).expect("a value serialises").len()).sum();
    assert!(bytes <= MAX_MESSAGE_BYTES, "a call stores {bytes} bytes of JSON");
    assert!((1..=9999).contains(&message.occurred_at.year()), "a call happened in a year both engines store");
    for value in stored {
        assert!(value.is_object(), "properties, traits and context are objects");
        let (depth, values) = shape(value);
        assert!(depth <= MAX_DEPTH, "a call stores JSON {depth} levels deep");
        assert!(values <= MAX_VALUES_PER_MESSAGE, "a call stores {values} values");
    }
    assert!(message.user_id.is_some() || message.anonymous_id.is_some(), "a call names someone");
    assert!(!message.message_id.is_empty(), "a call has a message id");
    match message.kind {
        MessageType::Track => assert!(message.name.is_some(), "a track call has an event"),
        MessageType::Group => assert!(message.group_id.is_some(), "a group call has a group"),
        MessageType::Alias => {
            assert!(message.previous_id.is_some() && message.user_id.is_some(), "an alias call has both ids");
        }
        _ => {}
    }
    bytes
}

/// The deepest level and the number of values of `root`, counted without recursion.
fn shape(root: &Value) -> (usize, usize) {
    let mut stack = vec![(root, 0usize)];
    let (mut deepest, mut values) = (0, 0);
    while let Some((value, depth)) = stack.pop() {
        values += 1;
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    (deepest, values)
}
