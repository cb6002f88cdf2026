//! Activity types: the record an activity belongs to ([`Target`]), notes with their sanitised
//! body, and tasks with their checked input.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};

use crate::http::FieldErrors;
use crate::profile::{Parsed, text};

/// A note's body is HTML a person wrote: at most this many bytes after sanitising.
pub const NOTE_MAX_BYTES: usize = 100_000;

/// The record an activity is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Target {
    Person(i64),
    Company(i64),
}

impl Target {
    pub fn parse(kind: &str, id: i64) -> Option<Self> {
        match kind {
            "person" => Some(Self::Person(id)),
            "company" => Some(Self::Company(id)),
            _ => None,
        }
    }

    /// The entity name its audit rows and domain events use.
    pub fn entity(self) -> &'static str {
        match self {
            Self::Person(_) => "person",
            Self::Company(_) => "company",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Person(id) | Self::Company(id) => id,
        }
    }

    /// The permission module that governs the record, and so its activities.
    pub fn module(self) -> &'static str {
        match self {
            Self::Person(_) => "people",
            Self::Company(_) => "companies",
        }
    }

    /// The record's page.
    pub fn path(self) -> String {
        match self {
            Self::Person(id) => format!("/people/{id}"),
            Self::Company(id) => format!("/companies/{id}"),
        }
    }
}

/// Rich text as people paste it, reduced to a safe subset: paragraphs, emphasis, lists, quotes,
/// code, headings and links (which open without referrer and cannot run script). Everything
/// else, scripts and event handlers included, is removed.
pub fn sanitise(raw: &str) -> String {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "blockquote",
        "code",
        "pre",
        "h2",
        "h3",
        "h4",
        "a",
    ]
    .into_iter()
    .collect();
    ammonia::Builder::default()
        .tags(tags)
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(raw)
        .to_string()
}

/// A note's body, checked: not blank once sanitised, not too long.
pub fn note_body(raw: &str) -> Result<String, FieldErrors> {
    let body = sanitise(raw);
    let message = if ammonia::Builder::empty().clean(&body).to_string().trim().is_empty() {
        "a note needs some text"
    } else if body.len() > NOTE_MAX_BYTES {
        "is longer than 100 KB"
    } else {
        return Ok(body);
    };
    Err(FieldErrors::from([("body".into(), vec![message.into()])]))
}

/// A note as stored and read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Note {
    pub id: i64,
    pub target: Target,
    /// Sanitised HTML.
    pub body: String,
    pub author_id: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A task as written by a client; on update, absent keys stay and `null` clears.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: Option<String>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Option<String>>,
    /// A user id; the user must be a member of the workspace.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assignee: Option<Option<i64>>,
    /// When to email the assignee a reminder (RFC 3339).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub remind_at: Option<Option<String>>,
    pub done: Option<bool>,
}

/// A key that is present deserialises to `Some`, even when its value is `null`, so that an
/// absent key (`None`, by `default`) and a clearing `null` (`Some(None)`) differ.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A task's fields once checked.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFields {
    pub title: String,
    pub due_at: Option<Timestamp>,
    pub assignee: Option<UserId>,
    pub remind_at: Option<Timestamp>,
    pub done: bool,
}

impl TaskFields {
    /// `input` applied over `base` (a new task has none), every bad field named.
    pub fn parse(input: &TaskInput, base: Option<&Self>) -> Result<Self, FieldErrors> {
        let mut parsed = Parsed::default();
        let instant = |parsed: &mut Parsed, name: &str, raw: &Option<Option<String>>, old: Option<Timestamp>| match raw
        {
            None => old,
            Some(None) => None,
            Some(Some(raw)) => parsed.field(
                name,
                DateTime::parse_from_rfc3339(raw.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| "must be a date-time such as 2026-12-24T09:00:00Z"),
            ),
        };
        let title = match &input.title {
            Some(raw) => text(Some(raw)),
            None => base.map(|b| b.title.clone()),
        };
        if title.is_none() {
            parsed.error("title", "a task needs a title");
        }
        let fields = Self {
            title: title.unwrap_or_default(),
            due_at: instant(&mut parsed, "due_at", &input.due_at, base.and_then(|b| b.due_at)),
            assignee: match input.assignee {
                None => base.and_then(|b| b.assignee),
                Some(value) => value.map(UserId::new),
            },
            remind_at: instant(&mut parsed, "remind_at", &input.remind_at, base.and_then(|b| b.remind_at)),
            done: input.done.or(base.map(|b| b.done)).unwrap_or(false),
        };
        if fields.remind_at.is_some() && fields.assignee.is_none() {
            parsed.error("remind_at", "a reminder needs an assignee to remind");
        }
        parsed.finish(fields)
    }
}

/// A task as stored and read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    /// The record it is about, if any.
    pub target: Option<Target>,
    pub title: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub assignee: Option<UserId>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub remind_at: Option<Timestamp>,
    /// When the reminder went out.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reminded_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<Timestamp>,
    pub created_by: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Task {
    pub fn fields(&self) -> TaskFields {
        TaskFields {
            title: self.title.clone(),
            due_at: self.due_at,
            assignee: self.assignee,
            remind_at: self.remind_at,
            done: self.done_at.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_keeps_formatting_and_links_and_drops_script() {
        let clean = sanitise(
            "<p onclick=\"x()\">Hi <strong>Ada</strong></p><script>alert(1)</script>\
             <a href=\"javascript:alert(1)\">bad</a><a href=\"https://example.com\">good</a><img src=x onerror=y>",
        );
        assert!(clean.contains("<p>Hi <strong>Ada</strong></p>"), "{clean}");
        assert!(!clean.contains("script") && !clean.contains("onclick") && !clean.contains("onerror"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(clean.contains("href=\"https://example.com\""), "{clean}");
        assert!(note_body("<script>only script</script>").is_err());
    }

    #[test]
    fn a_task_patch_keeps_absent_fields_and_clears_null_ones() {
        let base = TaskFields::parse(
            &serde_json::from_value(
                serde_json::json!({"title": "Call", "due_at": "2026-12-24T09:00:00Z", "assignee": 3}),
            )
            .unwrap(),
            None,
        )
        .unwrap();
        let patch: TaskInput = serde_json::from_value(serde_json::json!({"due_at": null, "done": true})).unwrap();
        let patched = TaskFields::parse(&patch, Some(&base)).unwrap();
        assert_eq!((patched.title.as_str(), patched.due_at, patched.done), ("Call", None, true));
        assert_eq!(patched.assignee, Some(UserId::new(3)));
        let bad: TaskInput = serde_json::from_value(serde_json::json!({"title": " ", "due_at": "soon"})).unwrap();
        let errors = TaskFields::parse(&bad, None).unwrap_err();
        assert!(errors.contains_key("title") && errors.contains_key("due_at"));
    }
}
