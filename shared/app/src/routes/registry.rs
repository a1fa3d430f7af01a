//! The route table (infra/routes.tsv, embedded): for every HTTP route its function, method,
//! path, access rule and summary. Functions take their access rule from here, the OpenAPI
//! document is built from it, and a test holds template.yaml and the local router to it, so
//! a route is declared once.

use std::sync::OnceLock;

use rylie_domain::Action;

use crate::http::Access;

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub function: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

const TABLE: &str = include_str!("../../../../infra/routes.tsv");

/// Every route, in the table's order.
pub fn routes() -> &'static [RouteSpec] {
    static ROUTES: OnceLock<Vec<RouteSpec>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        TABLE
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| parse(line).unwrap_or_else(|problem| panic!("infra/routes.tsv: {problem}: {line:?}")))
            .collect()
    })
}

fn parse(line: &'static str) -> Result<RouteSpec, String> {
    let columns: Vec<&'static str> = line.split('\t').collect();
    let [function, method, path, access, summary] = columns[..] else {
        return Err(format!("expected 5 tab-separated columns, found {}", columns.len()));
    };
    let access = match access {
        "probe" => Access::Probe,
        "public" => Access::Public,
        rule => {
            let (resource, action) = rule
                .split_once(':')
                .ok_or("access is probe, public or resource:action")?;
            let action = match action {
                "read" => Action::Read,
                "write" => Action::Write,
                "delete" => Action::Delete,
                "admin" => Action::Admin,
                other => return Err(format!("unknown action {other:?}")),
            };
            Access::Caller { resource, action }
        }
    };
    Ok(RouteSpec {
        function,
        method,
        path,
        access,
        summary,
    })
}

/// The access rule of a function (all its routes share one). Panics, at cold start, for a
/// function the table does not know: a deployment mistake that must not serve traffic.
pub fn access_of(function: &str) -> Access {
    routes()
        .iter()
        .find(|route| route.function == function)
        .map(|route| route.access)
        .unwrap_or_else(|| panic!("function {function} is not in infra/routes.tsv"))
}
