//! The router for everything outside `/api`: pages, assets and probes. It remembers the paths it
//! was given, so the application can list every route it serves (the tenant-isolation test
//! visits each one) without a hand-kept list that drifts from the code.

use axum::Router;
use axum::routing::MethodRouter;

use crate::app::AppState;

#[derive(Default)]
pub struct Pages {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Pages {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }

    pub fn merge(mut self, other: Pages) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    pub fn paths(&self) -> &[&'static str] {
        &self.paths
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
