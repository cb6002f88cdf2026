//! Importing records from files: the readers that turn a CSV, XLSX or vCard file into rows.
pub mod read;
