//! Rapport: one self-hosted system that remembers every customer and acts on it.
//!
//! This crate is the application: configuration, the command line, the HTTP server and web UI,
//! and the business modules, each a folder named after its noun (`workspace/`, `identity/`, …)
//! holding `model`, `store`, `service`, `api` and `web` files. Infrastructure lives in the small
//! crates under `crates/`. `docs/architecture.md` is the map.

pub mod access;
pub mod activity;
pub mod app;
pub mod attachment;
pub mod audit;
pub mod bench;
pub mod bulk;
pub mod cart;
pub mod cli;
pub mod company;
pub mod config;
pub mod dedup;
pub mod demo;
pub mod export;
pub mod field;
pub mod r#gen;
pub mod http;
pub mod identity;
pub mod import;
pub mod inventory;
pub mod jobs;
pub mod mail;
pub mod merge;
pub mod order;
pub mod person;
pub mod product;
pub mod profile;
pub mod search;
pub mod tracking;
pub mod view;
pub mod web;
pub mod workspace;
