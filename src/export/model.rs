//! An export's types: what is exported ([`Object`]), to which [`Format`], with which list
//! filter ([`ListFilter`], the list module's own query fields), the checked request
//! ([`NewExport`]), the stored export ([`Export`]) and its life ([`Status`]).

use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::FieldErrors;
use crate::profile::FieldDef;

/// The list an export reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    People,
    Companies,
}

impl Object {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "people" => Some(Self::People),
            "companies" => Some(Self::Companies),
            _ => None,
        }
    }

    /// Also the module name permissions are granted on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::People => "people",
            Self::Companies => "companies",
        }
    }

    /// The object name field rules use.
    pub fn field_object(self) -> &'static str {
        match self {
            Self::People => "person",
            Self::Companies => "company",
        }
    }

    pub fn vocabulary(self) -> &'static [FieldDef] {
        match self {
            Self::People => crate::person::fields(),
            Self::Companies => crate::company::fields(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::People => "People",
            Self::Companies => "Companies",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Xlsx,
    /// vCard 4.0 (RFC 6350), people only.
    Vcard,
}

impl Format {
    pub const ALL: [Self; 4] = [Self::Csv, Self::Jsonl, Self::Xlsx, Self::Vcard];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.as_str() == raw.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Xlsx => "xlsx",
            Self::Vcard => "vcard",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Vcard => "vcf",
            other => other.as_str(),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/jsonl; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Vcard => "text/vcard; charset=utf-8",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Jsonl => "JSON Lines",
            Self::Xlsx => "Excel (XLSX)",
            Self::Vcard => "vCard",
        }
    }
}

/// Where an export is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
    /// The link expired and the file was removed.
    Expired,
}

impl Status {
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed, Self::Expired].into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Expired)
    }
}

/// The filter of the people list, as its page and API take it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleFilter {
    /// `true` exports the trash instead.
    #[serde(default)]
    pub trash: bool,
    pub lifecycle_stage: Option<String>,
    /// A user id.
    pub owner: Option<i64>,
    pub tag: Option<String>,
    /// A filter tree of the list language (`docs/list-views.md`).
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// The list's sort: `last_name`, `-updated_at` …
    pub sort: Option<String>,
}

/// The filter of the companies list, as its page and API take it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompaniesFilter {
    #[serde(default)]
    pub trash: bool,
    pub domain: Option<String>,
    /// A user id.
    pub owner: Option<i64>,
    pub tag: Option<String>,
    /// A filter tree of the list language (`docs/list-views.md`).
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// The list's sort: `name`, `-updated_at` …
    pub sort: Option<String>,
}

/// Which rows of the list an export takes. This is the one place that knows the list modules'
/// query types: each filter becomes the list's own query, a page at a time.
#[derive(Clone, Debug, PartialEq)]
pub enum ListFilter {
    People(PeopleFilter),
    Companies(CompaniesFilter),
}

impl ListFilter {
    /// The filter of `object` from its JSON form; unknown keys are refused, not ignored, so
    /// that a filter the list does not know never silently exports everything.
    pub fn parse(object: Object, raw: &Value) -> Result<Self, serde_json::Error> {
        let raw = if raw.is_null() { Value::Object(serde_json::Map::new()) } else { raw.clone() };
        Ok(match object {
            Object::People => Self::People(serde_json::from_value(raw)?),
            Object::Companies => Self::Companies(serde_json::from_value(raw)?),
        })
    }

    pub fn object(&self) -> Object {
        match self {
            Self::People(_) => Object::People,
            Self::Companies(_) => Object::Companies,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::People(filter) => serde_json::to_value(filter),
            Self::Companies(filter) => serde_json::to_value(filter),
        }
        .unwrap_or(Value::Null)
    }

    /// The list spec this filter reads a page of, after the cursor `after`: the shorthands join
    /// the filter tree as conditions that must also hold.
    pub fn spec(&self, after: Option<String>, limit: i64) -> Result<crate::view::ListSpec, crate::view::FilterError> {
        let (trash, tree, sort, mut shorthands) = match self {
            Self::People(f) => (
                f.trash,
                &f.filter,
                &f.sort,
                vec![("lifecycle_stage", "is", f.lifecycle_stage.clone().map(Value::from))],
            ),
            Self::Companies(f) => {
                (f.trash, &f.filter, &f.sort, vec![("domain", "is", f.domain.clone().map(Value::from))])
            }
        };
        let (owner, tag) = match self {
            Self::People(f) => (f.owner, f.tag.clone()),
            Self::Companies(f) => (f.owner, f.tag.clone()),
        };
        shorthands.push(("owner", "is", owner.map(Value::from)));
        shorthands.push(("tags", "has_any", tag.map(|t| Value::from(vec![t]))));
        let shorthands = shorthands.into_iter().filter_map(|(field, op, value)| Some((field, op, value?))).collect();
        let tree = tree.as_ref().map(Value::to_string);
        Ok(crate::view::ListSpec {
            trash,
            filter: crate::view::query_filter(tree.as_deref(), shorthands)?,
            sort: sort.clone(),
            cursor: after,
            limit,
        })
    }
}

/// An export as a client asks for it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `people` or `companies`.
    pub object: String,
    /// `csv`, `jsonl`, `xlsx` or `vcard` (people only).
    pub format: String,
    /// The list's filter: for people `lifecycle_stage`, `owner`, `tag`, `trash`; for
    /// companies `domain`, `owner`, `tag`, `trash`. Absent exports the whole list.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub filter: Value,
}

/// A checked export request.
#[derive(Clone, Debug)]
pub struct NewExport {
    pub filter: ListFilter,
    pub format: Format,
}

impl NewExport {
    pub fn parse(request: &ExportRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut error = |field: &str, message: String| errors.entry(field.to_owned()).or_default().push(message);
        let object = Object::parse(&request.object);
        if object.is_none() {
            error("object", "must be people or companies".into());
        }
        let format = Format::parse(&request.format);
        if format.is_none() {
            error("format", "must be csv, jsonl, xlsx or vcard".into());
        }
        if object == Some(Object::Companies) && format == Some(Format::Vcard) {
            error("format", "vCards hold people; export companies as csv, jsonl or xlsx".into());
        }
        let filter = object.and_then(|object| {
            ListFilter::parse(object, &request.filter).map_err(|e| error("filter", e.to_string())).ok()
        });
        match (filter, format) {
            (Some(filter), Some(format)) if errors.is_empty() => Ok(Self { filter, format }),
            _ => Err(errors),
        }
    }
}

/// An export as stored.
#[derive(Clone, Debug)]
pub struct Export {
    pub id: i64,
    pub user_id: UserId,
    pub filter: ListFilter,
    pub format: Format,
    pub status: Status,
    pub rows_done: i64,
    /// Known once the first page was read, when the list holds no more than the count cap.
    pub rows_total: Option<i64>,
    pub bytes: Option<i64>,
    /// Why a failed export failed, in words for its requester.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

impl Export {
    /// The name the download is saved under: `people-2026-12-02-17.csv`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.filter.object().as_str(),
            self.created_at.format("%Y-%m-%d"),
            self.id,
            self.format.extension()
        )
    }

    /// Whether the link still works at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.status == Status::Expired || self.expires_at.is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(object: &str, format: &str, filter: Value) -> ExportRequest {
        ExportRequest { object: object.into(), format: format.into(), filter }
    }

    #[test]
    fn a_request_names_every_bad_field_and_refuses_unknown_filter_keys() {
        let errors = NewExport::parse(&request("deals", "pdf", Value::Null)).unwrap_err();
        assert!(errors.contains_key("object") && errors.contains_key("format"), "{errors:?}");
        let errors = NewExport::parse(&request("people", "csv", json!({"domain": "x.example"}))).unwrap_err();
        assert!(errors.contains_key("filter"), "{errors:?}");
        let errors = NewExport::parse(&request("companies", "vcard", Value::Null)).unwrap_err();
        assert!(errors.contains_key("format"), "{errors:?}");
    }

    #[test]
    fn a_filter_reads_back_as_the_lists_own_query() {
        let new = NewExport::parse(&request("people", "jsonl", json!({"tag": "vip", "owner": 3}))).unwrap();
        let spec = new.filter.spec(Some("9".into()), 200).unwrap();
        let conditions = spec.filter.unwrap().to_string();
        assert!(conditions.contains("\"vip\"") && conditions.contains("\"owner\""), "{conditions}");
        assert_eq!(spec.cursor.as_deref(), Some("9"));
        assert_eq!(ListFilter::parse(Object::People, &new.filter.to_json()).unwrap(), new.filter);
    }
}
