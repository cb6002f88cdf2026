//! The Segment tracking format, parsed: a request body (one call, or a batch) becomes a list of
//! [`Message`]s with their timestamps corrected for the client's clock, or a [`Rejection`] that
//! names what is wrong. Nothing here touches the database; limits are enforced before any
//! message is kept, so a request is taken whole or not at all.

use std::io::Read;

use chrono::{DateTime, Datelike, Utc};
use rapport_core::Timestamp;
use serde_json::{Map, Value};

/// The limits Segment documents (32 KB per call, 500 KB per batch request) plus structural
/// ones that keep a hostile payload from costing memory or time.
pub const MAX_REQUEST_BYTES: usize = 500 * 1024;
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
pub const MAX_DEPTH: usize = 32;
pub const MAX_VALUES_PER_MESSAGE: usize = 2_000;
/// Batch-level context is copied into every call, so a small request could otherwise grow
/// into a large one; the calls as stored may hold at most this much together.
pub const MAX_EXPANDED_BYTES: usize = 2 * MAX_REQUEST_BYTES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Track,
    Identify,
    Page,
    Screen,
    Group,
    Alias,
}

impl MessageType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "track" => Some(Self::Track),
            "identify" => Some(Self::Identify),
            "page" => Some(Self::Page),
            "screen" => Some(Self::Screen),
            "group" => Some(Self::Group),
            "alias" => Some(Self::Alias),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Identify => "identify",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
            Self::Alias => "alias",
        }
    }
}

/// One call, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub message_id: String,
    pub kind: MessageType,
    /// The event of a track call, the name of a page or screen.
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    /// When it happened, by the server's clock: the client's timestamp moved by the difference
    /// between the client's clock (`sentAt`) and ours (`receivedAt`).
    pub occurred_at: Timestamp,
    pub original_timestamp: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub received_at: Timestamp,
    pub properties: Value,
    pub traits: Value,
    pub context: Value,
}

/// A parsed request: its messages, and the write key if the body carried one.
#[derive(Debug)]
pub struct Payload {
    pub write_key: Option<String>,
    pub messages: Vec<Message>,
}

/// Why a request is refused; the text says where, so a developer can fix the sender.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Malformed(String),
}

/// Decompresses a gzip body, refusing to inflate past [`MAX_REQUEST_BYTES`].
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut inflated = Vec::new();
    let limit = u64::try_from(MAX_REQUEST_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|e| Rejection::Malformed(format!("the gzip body does not decompress: {e}")))?;
    Ok(inflated)
}

/// Parses a body sent to `/v1/batch` (`kind` is `None`) or to the endpoint of one call type.
pub fn parse(body: &[u8], kind: Option<MessageType>, received_at: Timestamp) -> Result<Payload, Rejection> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(Rejection::TooLarge(format!("a request may carry at most {MAX_REQUEST_BYTES} bytes")));
    }
    let root: Value =
        serde_json::from_slice(body).map_err(|e| Rejection::Malformed(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut root) = root else {
        return Err(Rejection::Malformed("the body must be a JSON object".into()));
    };
    let write_key = root.get("writeKey").and_then(Value::as_str).map(str::to_owned);
    let messages = match kind {
        Some(kind) => vec![message(Value::Object(root), Some(kind), None, &Map::new(), received_at, None)?.0],
        None => {
            let batch_sent_at = timestamp(root.get("sentAt"), "sentAt", None)?;
            let shared_context = match root.remove("context") {
                Some(Value::Object(context)) => context,
                _ => Map::new(),
            };
            let Some(Value::Array(batch)) = root.remove("batch") else {
                return Err(Rejection::Malformed("a batch body needs a `batch` array".into()));
            };
            let mut messages = Vec::with_capacity(batch.len());
            let mut expanded = 0usize;
            for (index, raw) in batch.into_iter().enumerate() {
                let (message, size) = message(raw, None, batch_sent_at, &shared_context, received_at, Some(index))?;
                expanded += size;
                if expanded > MAX_EXPANDED_BYTES {
                    return Err(Rejection::TooLarge(format!(
                        "batch[{index}]: the calls, with the batch's context in each, may carry at most \
                         {MAX_EXPANDED_BYTES} bytes together"
                    )));
                }
                messages.push(message);
            }
            messages
        }
    };
    Ok(Payload { write_key, messages })
}

/// One call, and its size with the batch's context merged in.
fn message(
    mut raw: Value,
    endpoint_kind: Option<MessageType>,
    batch_sent_at: Option<Timestamp>,
    shared_context: &Map<String, Value>,
    received_at: Timestamp,
    index: Option<usize>,
) -> Result<(Message, usize), Rejection> {
    let at = |what: &str| match index {
        Some(i) => format!("batch[{i}]: {what}"),
        None => what.to_owned(),
    };
    // Merged before the call is measured, so that the batch's context counts towards each
    // call's limits: it is stored with each of them.
    if !shared_context.is_empty()
        && let Value::Object(fields) = &mut raw
    {
        let context = fields.entry("context").or_insert_with(|| Value::Object(Map::new()));
        if !context.is_object() {
            *context = Value::Object(Map::new());
        }
        if let Value::Object(context) = context {
            for (key, value) in shared_context {
                context.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    let size = serde_json::to_vec(&raw).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_MESSAGE_BYTES {
        return Err(Rejection::TooLarge(at(&format!("a call may carry at most {MAX_MESSAGE_BYTES} bytes"))));
    }
    check_shape(&raw).map_err(|problem| Rejection::Malformed(at(&problem)))?;
    let Value::Object(mut fields) = raw else {
        return Err(Rejection::Malformed(at("a call must be a JSON object")));
    };
    let kind = match fields.get("type").and_then(Value::as_str) {
        Some(raw) => {
            MessageType::parse(raw).ok_or_else(|| Rejection::Malformed(at(&format!("unknown type {raw:?}"))))?
        }
        None => endpoint_kind.ok_or_else(|| Rejection::Malformed(at("`type` is missing")))?,
    };
    let id = |fields: &Map<String, Value>, key: &str| identifier(fields.get(key));
    let user_id = id(&fields, "userId");
    let anonymous_id = id(&fields, "anonymousId");
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(Rejection::Malformed(at("`userId` or `anonymousId` is required")));
    }
    let name = match kind {
        MessageType::Track => {
            Some(id(&fields, "event").ok_or_else(|| Rejection::Malformed(at("a track call needs `event`")))?)
        }
        MessageType::Page | MessageType::Screen => id(&fields, "name"),
        _ => None,
    };
    let group_id = id(&fields, "groupId");
    if kind == MessageType::Group && group_id.is_none() {
        return Err(Rejection::Malformed(at("a group call needs `groupId`")));
    }
    let previous_id = id(&fields, "previousId");
    if kind == MessageType::Alias && (previous_id.is_none() || user_id.is_none()) {
        return Err(Rejection::Malformed(at("an alias call needs `previousId` and `userId`")));
    }
    let original_timestamp = timestamp(fields.get("timestamp"), "timestamp", index)?;
    let sent_at = timestamp(fields.get("sentAt"), "sentAt", index)?.or(batch_sent_at);
    let occurred_at = match (original_timestamp, sent_at) {
        (Some(timestamp), Some(sent)) => received_at.checked_sub_signed(sent - timestamp),
        (Some(timestamp), None) => Some(timestamp),
        (None, _) => Some(received_at),
    };
    // Both engines store years 1 to 9999; a clock thousands of years off is a bad timestamp.
    let occurred_at = occurred_at
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| Rejection::Malformed(at("`timestamp` and `sentAt` put the call outside years 1 to 9999")))?;
    let mut properties = object(fields.remove("properties"));
    if let Some(category) = fields.get("category").filter(|c| c.is_string()) {
        properties.entry("category").or_insert_with(|| category.clone());
    }
    let mut context = object(fields.remove("context"));
    let mut traits = object(fields.remove("traits"));
    // RudderStack's Python library sends an identify call's traits only in `context.traits`;
    // moved rather than copied, so the call stores no more than it carried.
    if kind == MessageType::Identify
        && traits.is_empty()
        && context.get("traits").is_some_and(Value::is_object)
        && let Some(Value::Object(in_context)) = context.remove("traits")
    {
        traits = in_context;
    }
    let message_id = id(&fields, "messageId").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let message = Message {
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        group_id,
        previous_id,
        occurred_at,
        original_timestamp,
        sent_at,
        received_at,
        properties: Value::Object(properties),
        traits: Value::Object(traits),
        context: Value::Object(context),
    };
    Ok((message, size))
}

/// Ids arrive as strings or numbers (`"userId": 42`); both mean the same id. Empty is absent.
fn identifier(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn object(value: Option<Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn timestamp(value: Option<&Value>, field: &str, index: Option<usize>) -> Result<Option<Timestamp>, Rejection> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => {
            DateTime::parse_from_rfc3339(raw).map(|t| Some(t.with_timezone(&Utc))).map_err(|_| {
                let place = index.map(|i| format!("batch[{i}]: ")).unwrap_or_default();
                Rejection::Malformed(format!("{place}`{field}` is not an ISO 8601 date-time: {raw:?}"))
            })
        }
        Some(_) => Err(Rejection::Malformed(format!("`{field}` must be an ISO 8601 string"))),
    }
}

/// Refuses structures deeper than [`MAX_DEPTH`] or with more than [`MAX_VALUES_PER_MESSAGE`]
/// values, without recursion so that the check itself cannot overflow the stack.
fn check_shape(root: &Value) -> Result<(), String> {
    let mut stack = vec![(root, 0usize)];
    let mut values = 0usize;
    while let Some((value, depth)) = stack.pop() {
        values += 1;
        if values > MAX_VALUES_PER_MESSAGE {
            return Err(format!("a call may hold at most {MAX_VALUES_PER_MESSAGE} values"));
        }
        if depth > MAX_DEPTH {
            return Err(format!("a call may nest at most {MAX_DEPTH} levels"));
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// A property's or trait's text: strings trimmed (empty is none), numbers written out (ids,
/// phones and postal codes often arrive as numbers), anything else none.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        DateTime::parse_from_rfc3339("2024-01-02T03:04:10Z").expect("a date").with_timezone(&Utc)
    }

    fn batch(calls: Value) -> Vec<u8> {
        json!({ "batch": calls, "sentAt": "2024-01-02T03:05:05Z" }).to_string().into_bytes()
    }

    #[test]
    fn a_client_clock_one_minute_fast_is_corrected_by_sent_at() {
        let body =
            batch(json!([{"type": "track", "event": "Signed Up", "userId": 7, "timestamp": "2024-01-02T03:05:00Z"}]));
        let payload = parse(&body, None, now()).expect("valid");
        let message = &payload.messages[0];
        assert_eq!(message.user_id.as_deref(), Some("7"));
        assert_eq!(message.occurred_at.to_rfc3339(), "2024-01-02T03:04:05+00:00");
        assert_eq!(message.original_timestamp.map(|t| t.to_rfc3339()), Some("2024-01-02T03:05:00+00:00".into()));
    }

    #[test]
    fn calls_missing_what_their_type_needs_are_refused_with_their_index() {
        let cases = [
            (json!([{"type": "track", "userId": "u"}]), "batch[0]: a track call needs `event`"),
            (json!([{"type": "track", "event": "E"}]), "batch[0]: `userId` or `anonymousId` is required"),
            (json!([{"type": "identify", "userId": "u"}, {"type": "group", "userId": "u"}]), "batch[1]: a group call"),
            (json!([{"type": "jump", "userId": "u"}]), "batch[0]: unknown type"),
        ];
        for (calls, expected) in cases {
            let Err(Rejection::Malformed(reason)) = parse(&batch(calls), None, now()) else { panic!("refused") };
            assert!(reason.starts_with(expected), "{reason}");
        }
    }

    #[test]
    fn oversized_deep_and_non_json_bodies_are_refused() {
        let big = json!({"type": "track", "event": "E", "userId": "u", "properties": {"s": "x".repeat(40_000)}});
        assert!(matches!(parse(big.to_string().as_bytes(), None, now()), Err(Rejection::Malformed(_))));
        assert!(matches!(parse(&batch(json!([big])), None, now()), Err(Rejection::TooLarge(_))));
        let mut deep = json!("leaf");
        for _ in 0..40 {
            deep = json!({ "n": deep });
        }
        let nested = json!([{"type": "track", "event": "E", "userId": "u", "properties": deep}]);
        assert!(matches!(parse(&batch(nested), None, now()), Err(Rejection::Malformed(r)) if r.contains("nest")));
        assert!(matches!(parse(&[0xff, 0xfe, b'{'], None, now()), Err(Rejection::Malformed(_))));
        assert!(matches!(parse(&vec![b' '; MAX_REQUEST_BYTES + 1], None, now()), Err(Rejection::TooLarge(_))));
    }

    #[test]
    fn a_single_call_takes_its_type_from_the_endpoint_and_batch_context_is_shared() {
        let body = json!({"userId": "u", "name": "Pricing", "category": "Docs", "writeKey": "k"}).to_string();
        let payload = parse(body.as_bytes(), Some(MessageType::Page), now()).expect("valid");
        assert_eq!(payload.write_key.as_deref(), Some("k"));
        assert_eq!(payload.messages[0].kind, MessageType::Page);
        assert_eq!(payload.messages[0].properties["category"], "Docs");
        let shared = json!({"batch": [{"type": "identify", "anonymousId": "a", "context": {"ip": "1"}}],
                            "context": {"ip": "2", "library": {"name": "x"}}});
        let payload = parse(shared.to_string().as_bytes(), None, now()).expect("valid");
        assert_eq!(payload.messages[0].context, json!({"ip": "1", "library": {"name": "x"}}));
        assert_eq!(payload.messages[0].occurred_at, now());
    }

    #[test]
    fn gzip_bombs_stop_at_the_request_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 4 * MAX_REQUEST_BYTES]).expect("compresses");
        let inflated = gunzip(&encoder.finish().expect("compresses")).expect("inflates");
        assert_eq!(inflated.len(), MAX_REQUEST_BYTES + 1);
        assert!(matches!(parse(&inflated, None, now()), Err(Rejection::TooLarge(_))));
    }

    #[test]
    fn the_batch_context_counts_towards_each_call_and_towards_the_whole() {
        let shared = |size: usize, calls: usize| {
            let call = json!({"type": "identify", "userId": "u"});
            json!({"batch": vec![call; calls], "context": {"page": "x".repeat(size)}}).to_string().into_bytes()
        };
        assert!(
            matches!(parse(&shared(40_000, 1), None, now()), Err(Rejection::TooLarge(r)) if r.starts_with("batch[0]"))
        );
        let Err(Rejection::TooLarge(reason)) = parse(&shared(30_000, 40), None, now()) else { panic!("refused") };
        assert!(reason.contains("together"), "{reason}");
        assert_eq!(parse(&shared(30_000, 4), None, now()).expect("valid").messages.len(), 4);
    }

    #[test]
    fn identify_traits_sent_only_in_the_context_are_the_traits() {
        let call = json!({"userId": "u", "context": {"traits": {"email": "a@example.com"}, "ip": "1"}});
        let payload = parse(call.to_string().as_bytes(), Some(MessageType::Identify), now()).expect("valid");
        assert_eq!(payload.messages[0].traits, json!({"email": "a@example.com"}));
        assert_eq!(payload.messages[0].context, json!({"ip": "1"}));
    }

    #[test]
    fn a_clock_thousands_of_years_off_is_a_bad_timestamp() {
        let call =
            json!({"userId": "u", "event": "E", "timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-01-01T00:00:00Z"});
        let refused = parse(call.to_string().as_bytes(), Some(MessageType::Track), now());
        assert!(matches!(refused, Err(Rejection::Malformed(r)) if r.contains("years")));
    }
}
