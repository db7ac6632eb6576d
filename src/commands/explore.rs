//! `storage kv ui`: the data explorer on a port of its own, against whatever the command line
//! points at (the service, a `--base-url`, or `--local`).
//!
//! Endpoints: none of its own; the explorer's calls (`explorer` module) list namespaces and
//! keys and read, write and delete keys through the same client as every command.

use std::net::SocketAddr;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::UiArgs;
use crate::commands::backend::{Access, Backend};
use crate::commands::settings::GlobalSettings;
use crate::error::{Exit, UserError};
use crate::explorer::Explorer;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Serving<'a> {
    url: &'a str,
    target: &'a str,
}

/// Whether a browser can be shown: a graphical session on Linux and the BSDs (or `BROWSER`
/// set), always on macOS and Windows.
fn has_display() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if cfg!(any(target_os = "macos", windows)) {
        return true;
    }
    set("DISPLAY") || set("WAYLAND_DISPLAY") || set("BROWSER")
}

/// A page (readable by this user only, removed when `ui` stops) that sends the browser on to
/// `url`.
fn redirect_file(url: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("telnyx-edge-explorer-")
        .suffix(".html")
        .tempfile()?;
    let escaped = url.replace('&', "&amp;").replace('"', "&quot;");
    std::io::Write::write_all(
        &mut file,
        format!(
            "<!doctype html>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0;url={escaped}\">\n<title>KV explorer</title>\n<p><a href=\"{escaped}\">Open the KV explorer</a></p>\n"
        )
        .as_bytes(),
    )?;
    Ok(file)
}

/// `storage kv ui`
/// Local state: expiries from its store, writes on. The service: read-only until the page's
/// switch says otherwise.
fn explorer_for(backend: &Backend, port: u16, target: &str) -> Explorer {
    let explorer = Explorer::new(backend.client.clone(), port, target);
    match backend.store() {
        Some(store) => explorer.with_insight(std::sync::Arc::new(
            crate::emulator::EmulatorInsight::of_store(std::sync::Arc::clone(store)),
        )),
        None => explorer.read_only(),
    }
}

pub(crate) async fn ui(
    global: &GlobalSettings,
    args: UiArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let backend = Backend::open(global, printer, Access::Write, None).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|err| {
        UserError::new(Exit::Failure, format!("cannot listen on {addr}: {err}"))
            .hint("Pick another port with `--port N`, or `--port 0` for a free one.")
    })?;
    let bound = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let target = if global.local {
        "local state (--local)".to_owned()
    } else {
        backend.client.base_url().to_owned()
    };
    let _stopping = crate::signals::guard();
    let stop = crate::signals::tripped();
    let explorer = explorer_for(&backend, bound.port(), &target);
    let url = explorer
        .url(bound)
        .context("the explorer listens on loopback")?;
    match printer.format() {
        OutputFormat::Json | OutputFormat::Ndjson => printer.json_line(&Serving {
            url: &url,
            target: &target,
        })?,
        OutputFormat::Table | OutputFormat::Ids => printer.out(&format!("{url}\n"))?,
    }
    printer.status(&format!("Explorer for {target} at {url}"));
    printer.status("Press Ctrl-C to stop");
    // The browser is given a file that redirects to the URL, not the URL: a command line is
    // visible to every user (`ps`), the file only to this one.
    let _redirect = if !args.no_open && has_display() {
        match redirect_file(&url) {
            Ok(file) => {
                let path = file.path().to_path_buf();
                let printer = *printer;
                // In the background: a browser that takes its time must not hold the server back.
                std::thread::spawn(move || {
                    if let Err(err) = opener::open_browser(&path) {
                        printer.warn(&format!(
                            "cannot open a browser ({err}); open the URL above"
                        ));
                    }
                });
                Some(file)
            }
            Err(err) => {
                printer.warn(&format!(
                    "cannot open a browser ({err}); open the URL above"
                ));
                None
            }
        }
    } else {
        None
    };
    axum::serve(
        listener,
        explorer
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .context("the explorer stopped with an error")?;
    printer.status("Stopped the explorer");
    Ok(())
}
