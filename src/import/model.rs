//! An import's types: what it writes into ([`Object`]), how ([`Mode`], [`MatchOn`]), how each
//! column maps onto a field ([`Column`]), what it does with possible duplicates
//! ([`Duplicates`]), the settings a run follows ([`Settings`]), the
//! stored import ([`Import`]) and its life ([`Status`]), and turning one row into a record's
//! input ([`row_input`]).

use std::collections::BTreeMap;

use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::Format;
use super::read::dates::{self, DateFormat};
use crate::http::FieldErrors;
use crate::person::PersonInput;
use crate::profile::{FieldKind, LabelledInput};

pub use crate::export::Object;

/// What a row does to the records already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every row is a new record; a row matching an existing one is refused.
    #[default]
    Create,
    /// Every row changes the record it matches; a row matching none is refused.
    Update,
    /// A row changes the record it matches, or creates one.
    Upsert,
}

impl Mode {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "upsert" => Some(Self::Upsert),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Upsert => "upsert",
        }
    }
}

/// How a row finds the record it is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchOn {
    /// The primary email, compared canonically.
    #[default]
    Email,
    ExternalId,
}

impl MatchOn {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "email" => Some(Self::Email),
            "external_id" => Some(Self::ExternalId),
            _ => None,
        }
    }

    pub fn field(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::ExternalId => "external_id",
        }
    }
}

/// One column of the file and the field it fills: a field of the vocabulary or a custom field
/// by key, a custom text field created for it when the run starts (`create`), or nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Column {
    pub column: String,
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create: bool,
}

/// What a run does with a row that would create someone who is probably there already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Rows are not checked.
    #[default]
    Off,
    /// The row is created, with a warning naming the person it probably duplicates.
    Flag,
    /// The row is refused into the error report, naming that person.
    Skip,
    /// The row is merged into the person it probably duplicates: it fills their empty fields
    /// and adds its emails, phones and tags, as merging two people does. A row that duplicates
    /// an earlier row of the file (no one stored yet) is created and flagged.
    Merge,
}

impl DuplicatePolicy {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "off" => Some(Self::Off),
            "flag" => Some(Self::Flag),
            "skip" => Some(Self::Skip),
            "merge" => Some(Self::Merge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Flag => "flag",
            Self::Skip => "skip",
            Self::Merge => "merge",
        }
    }
}

/// How a run checks the rows that would create people for possible duplicates: of the people
/// already there and of the rows before them. Stored by name beside its threshold, so a policy
/// added later (with options of its own, defaulted) leaves the settings of earlier imports
/// readable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Duplicates {
    pub policy: DuplicatePolicy,
    /// The probability (0–1) from which a person counts as a possible duplicate.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn default_threshold() -> f64 {
    crate::dedup::DEFAULT_THRESHOLD
}

impl Default for Duplicates {
    fn default() -> Self {
        Self { policy: DuplicatePolicy::Off, threshold: default_threshold() }
    }
}

impl Duplicates {
    /// A policy with a threshold that is a probability.
    pub fn new(policy: DuplicatePolicy, threshold: Option<f64>) -> Result<Self, FieldErrors> {
        let threshold = threshold.unwrap_or_else(default_threshold);
        if !(0.0..=1.0).contains(&threshold) {
            let message = "must be a probability between 0 and 1".to_owned();
            return Err(FieldErrors::from([("duplicates.threshold".to_owned(), vec![message])]));
        }
        Ok(Self { policy, threshold })
    }
}

/// Who a row probably duplicates: a person (already there, or created by an earlier row), or
/// in a dry run, which creates no one, an earlier row of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateOf {
    Person(i64),
    Row(i64),
}

/// A row found to be a possible duplicate, of whom, how likely and why.
#[derive(Clone, Debug, PartialEq)]
pub struct DuplicateWarning {
    pub row: i64,
    pub of: DuplicateOf,
    pub name: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

impl DuplicateWarning {
    /// The line the page and the error report show.
    pub fn message(&self) -> String {
        let who = match self.of {
            DuplicateOf::Person(id) => format!("#{id}"),
            DuplicateOf::Row(row) => format!("row {row}"),
        };
        let name = if self.name.is_empty() { String::new() } else { format!(" {}", self.name) };
        format!("possible duplicate of {who}{name} (score {}): {}", self.score, self.reasons.join("; "))
    }
}

/// Everything a run follows, fixed when it starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub mapping: Vec<Column>,
    pub mode: Mode,
    pub match_on: MatchOn,
    /// The format of date columns, when the file's dates alone do not tell.
    pub date_format: Option<String>,
    pub delimiter: Option<u8>,
    pub encoding: Option<String>,
    /// Absent from imports stored before duplicates were checked: off.
    #[serde(default)]
    pub duplicates: Duplicates,
}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Uploaded, waiting for its mapping and a start.
    Draft,
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
    /// Its records are being removed or restored.
    Undoing,
    Undone,
}

impl Status {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "draft" => Self::Draft,
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "undoing" => Self::Undoing,
            "undone" => Self::Undone,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Undoing => "undoing",
            Self::Undone => "undone",
        }
    }

    /// A run is under way or waiting to be.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Undoing)
    }
}

/// A stored import.
#[derive(Clone, Debug)]
pub struct Import {
    pub id: i64,
    pub workspace_id: rapport_core::WorkspaceId,
    pub user_id: UserId,
    pub object: Object,
    pub file_name: String,
    pub file_size: i64,
    pub format: Format,
    pub headers: Vec<String>,
    pub estimated_rows: i64,
    pub settings: Settings,
    pub status: Status,
    pub dry_run: bool,
    /// The first data row not yet committed.
    pub next_row: i64,
    pub counts: Counts,
    /// Rows found to be possible duplicates: created with a warning, or refused.
    pub possible_duplicates: i64,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl Import {
    /// Rows read so far: committed, refused or left unchanged.
    pub fn rows_done(&self) -> i64 {
        self.next_row - 1
    }

    /// A finished real run whose records can be taken back.
    pub fn undoable(&self) -> bool {
        !self.dry_run && matches!(self.status, Status::Done | Status::Cancelled | Status::Failed)
    }
}

/// What the rows of a run came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
    }
}

/// One line of the error report: a refused row and why, by column when one is to blame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub row: i64,
    /// The file's column; empty when the row as a whole was refused.
    pub column: String,
    pub reason: String,
}

/// A mapping made ready for reading rows: each column's place in the row and where its value
/// goes, and the date format of date columns.
#[derive(Clone, Debug)]
pub struct Plan {
    targets: Vec<(usize, String, Target)>,
    dates: Option<DateFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Builtin(FieldKind),
    Custom,
}

/// Values of a list cell (tags, several emails) are separated by `;` (or `,` for tags when no
/// `;` appears), as exports write them.
fn items(cell: &str, commas: bool) -> Vec<&str> {
    let separator = if commas && !cell.contains(';') { ',' } else { ';' };
    cell.split(separator).map(str::trim).filter(|item| !item.is_empty()).collect()
}

impl Plan {
    /// Checks a mapping against the file's headers and the object's fields: every mapped column
    /// must exist, every field must be a field of the object (custom fields by `custom_keys`),
    /// and no field may be filled by two columns.
    pub fn new(
        headers: &[String],
        mapping: &[Column],
        vocabulary: &[crate::profile::FieldDef],
        custom_keys: &[String],
        dates: Option<DateFormat>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut targets = Vec::new();
        let mut filled: BTreeMap<&str, &str> = BTreeMap::new();
        for column in mapping {
            let Some(field) = column.field.as_deref().filter(|f| !f.is_empty()) else { continue };
            let Some(place) = headers.iter().position(|h| *h == column.column) else {
                errors.entry("mapping".into()).or_default().push(format!("the file has no column {:?}", column.column));
                continue;
            };
            let target = match vocabulary.iter().find(|def| def.key == field) {
                Some(def) => Target::Builtin(def.kind),
                None if column.create || custom_keys.iter().any(|k| k == field) => Target::Custom,
                None => {
                    errors
                        .entry("mapping".into())
                        .or_default()
                        .push(format!("column {:?}: {field} is not a field; create it or map another", column.column));
                    continue;
                }
            };
            if let Some(earlier) = filled.insert(field, &column.column) {
                errors
                    .entry("mapping".into())
                    .or_default()
                    .push(format!("columns {earlier:?} and {:?} both fill {field}", column.column));
            }
            targets.push((place, field.to_owned(), target));
        }
        if targets.is_empty() && errors.is_empty() {
            errors.entry("mapping".into()).or_default().push("map at least one column onto a field".into());
        }
        if errors.is_empty() { Ok(Self { targets, dates }) } else { Err(errors) }
    }

    /// The fields the mapping writes, for the caller's field rules.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|(_, field, _)| field.as_str())
    }

    /// The columns whose values are dates, in the file's order: their samples decide the date
    /// format when none was given.
    pub fn date_columns(&self) -> Vec<usize> {
        self.targets
            .iter()
            .filter(|(_, _, target)| *target == Target::Builtin(FieldKind::Date))
            .map(|(place, _, _)| *place)
            .collect()
    }

    /// The column a field was read from, for naming it in the error report.
    pub fn column_of<'a>(&self, headers: &'a [String], field: &str) -> Option<&'a str> {
        let listed = field.split('[').next().unwrap_or(field);
        let primary = match listed {
            "emails" => "email",
            "phones" => "phone",
            other => other,
        };
        [field, listed, primary]
            .iter()
            .find_map(|wanted| self.targets.iter().find(|(_, key, _)| key == wanted))
            .and_then(|(place, _, _)| headers.get(*place))
            .map(String::as_str)
    }

    /// A row's values as a person's input. An empty cell leaves its field out, so an update
    /// never clears what the file says nothing about. A date the format cannot read is an
    /// error under its field.
    pub fn person(&self, cells: &[String]) -> Result<PersonInput, FieldErrors> {
        let mut input = PersonInput::default();
        let mut errors = FieldErrors::new();
        for (place, field, target) in &self.targets {
            let Some(cell) = cells.get(*place).map(|c| c.trim()).filter(|c| !c.is_empty()) else { continue };
            let text = || Some(cell.to_owned());
            match (field.as_str(), target) {
                (key, Target::Custom) => {
                    input.custom.insert(key.to_owned(), Value::String(cell.to_owned()));
                }
                ("first_name", _) => input.first_name = text(),
                ("last_name", _) => input.last_name = text(),
                ("email", _) => input.email = text(),
                ("phone", _) => input.phone = text(),
                ("emails", _) => input.emails = labelled(cell),
                ("phones", _) => input.phones = labelled(cell),
                ("birthday", _) => match self.date(cell) {
                    Some(date) => input.birthday = Some(date),
                    None => errors.entry("birthday".into()).or_default().push(self.date_problem()),
                },
                ("address.street", _) => input.address.street = text(),
                ("address.street2", _) => input.address.street2 = text(),
                ("address.city", _) => input.address.city = text(),
                ("address.region", _) => input.address.region = text(),
                ("address.postal_code", _) => input.address.postal_code = text(),
                ("address.country", _) => {
                    let code = rapport_core::CountryCode::parse_loose(cell).map(|c| c.as_str().to_owned());
                    input.address.country = Some(code.unwrap_or_else(|_| cell.to_owned()));
                }
                ("language", _) => input.language = text(),
                ("time_zone", _) => input.time_zone = text(),
                ("currency", _) => input.currency = text(),
                ("lifecycle_stage", _) => input.lifecycle_stage = Some(cell.to_lowercase()),
                ("owner", _) => match cell.parse() {
                    Ok(id) => input.owner = Some(id),
                    Err(_) => {
                        errors.entry("owner".into()).or_default().push("must be a member's user id".into());
                    }
                },
                ("source", _) => input.source = text(),
                ("tags", _) => input.tags = items(cell, true).into_iter().map(str::to_owned).collect(),
                ("social", _) => {
                    input.social = items(cell, false)
                        .into_iter()
                        .filter_map(|pair| {
                            pair.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        })
                        .collect();
                }
                ("external_id", _) => input.external_id = text(),
                (other, _) => {
                    errors.entry(other.to_owned()).or_default().push("cannot be imported".into());
                }
            }
        }
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }

    fn date(&self, cell: &str) -> Option<String> {
        let format = self.dates.or_else(|| dates::detect(std::iter::once(cell)))?;
        dates::parse(cell, format).map(|date| date.format("%Y-%m-%d").to_string())
    }

    fn date_problem(&self) -> String {
        match self.dates {
            Some(_) => "is not a date in the import's date format".into(),
            None => "is not a date this import can read; name the format (--date-format)".into(),
        }
    }
}

/// A cell of several emails or phones: `label:value` items (or bare values) separated by `;`.
fn labelled(cell: &str) -> Vec<LabelledInput> {
    items(cell, false)
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let (label, value) = match item.split_once(':') {
                Some((label, value)) if !label.contains('@') && !label.trim().starts_with('+') => {
                    (Some(label.trim().to_owned()), value.trim())
                }
                _ => (None, item),
            };
            LabelledInput { value: value.to_owned(), label, primary: i == 0 }
        })
        .collect()
}

/// Why a whole row was refused, with the columns to blame: field errors named by the file's
/// columns where a column filled the field.
pub fn rejections(row: i64, headers: &[String], plan: &Plan, errors: &FieldErrors) -> Vec<Rejection> {
    errors
        .iter()
        .flat_map(|(field, reasons)| {
            let column = plan.column_of(headers, field).unwrap_or_default().to_owned();
            reasons.iter().map(move |reason| Rejection {
                row,
                column: column.clone(),
                reason: if column.is_empty() { format!("{field}: {reason}") } else { reason.clone() },
            })
        })
        .collect()
}

/// The mapping suggested for a file's headers: each header onto the field of `vocabulary` or
/// the custom field it most likely means, or nothing; a field already taken by an earlier
/// column is not suggested again.
pub fn suggested(headers: &[String], vocabulary: &[crate::profile::FieldDef], custom_keys: &[String]) -> Vec<Column> {
    let keys: Vec<&str> = custom_keys.iter().map(String::as_str).collect();
    let exists = |field: &str| vocabulary.iter().any(|def| def.key == field) || keys.contains(&field);
    let mut taken = std::collections::BTreeSet::new();
    headers
        .iter()
        .map(|header| {
            let field = super::read::suggest::field_for(header, &keys)
                .filter(|field| exists(field))
                .filter(|field| taken.insert(field.clone()));
            Column { column: header.clone(), field, create: false }
        })
        .collect()
}

/// The stored settings' JSON, and back.
impl Settings {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn from_json(raw: Value) -> Option<Self> {
        serde_json::from_value(raw).ok()
    }
}
