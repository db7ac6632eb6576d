//! The page's files, embedded in the binary: the HTML page, its style sheet and icon, and its
//! script as ES modules under `/js/`, each served with its own content type (a module script
//! must be `text/javascript`, or the browser refuses to run it).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("index.html");
const STYLE: &str = include_str!("explorer.css");
const ICON: &str = include_str!("explorer.svg");

/// The script's modules, by file name: `main.js` imports the others.
const MODULES: &[(&str, &str)] = &[
    ("main.js", include_str!("js/main.js")),
    ("api.js", include_str!("js/api.js")),
    ("dom.js", include_str!("js/dom.js")),
    ("keys.js", include_str!("js/keys.js")),
    ("search.js", include_str!("js/search.js")),
    ("bulk.js", include_str!("js/bulk.js")),
    ("value.js", include_str!("js/value.js")),
    ("views.js", include_str!("js/views.js")),
    ("editor.js", include_str!("js/editor.js")),
    ("nav.js", include_str!("js/nav.js")),
    ("log.js", include_str!("js/log.js")),
];

pub(super) async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

pub(super) async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

pub(super) async fn icon() -> Response {
    asset(ICON, "image/svg+xml")
}

/// `/js/{name}`: one of [`MODULES`], else 404.
pub(super) async fn module(Path(name): Path<String>) -> Response {
    match MODULES.iter().find(|(file, _)| *file == name) {
        Some((_, body)) => asset(body, "text/javascript; charset=utf-8"),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such module\n",
        )
            .into_response(),
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module another imports is served: a missing one would break the page silently.
    #[test]
    fn every_imported_module_is_served() {
        for (file, body) in MODULES {
            for line in body.lines().filter(|line| line.starts_with("import ")) {
                let Some(from) = line.split("from \"./").nth(1) else {
                    panic!("{file}: an import not of the form `from \"./x.js\"`: {line}");
                };
                let name = from.split('"').next().unwrap_or_default();
                assert!(
                    MODULES.iter().any(|(served, _)| *served == name),
                    "{file} imports {name}, which is not served"
                );
            }
        }
    }
}
