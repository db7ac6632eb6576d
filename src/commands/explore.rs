//! `storage kv ui`: the data explorer on a port of its own, against whatever the command line
//! points at (the service, a `--base-url`, or `--local`).

use std::net::SocketAddr;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{GlobalArgs, UiArgs};
use crate::commands::backend::{Access, Backend};
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

/// `storage kv ui`
pub(crate) async fn ui(global: &GlobalArgs, args: UiArgs, printer: &Printer) -> anyhow::Result<()> {
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
    let explorer = Explorer::new(backend.client.clone(), bound.port(), &target);
    let url = explorer.url(bound);
    match printer.format() {
        OutputFormat::Json | OutputFormat::Ndjson => printer.json_line(&Serving {
            url: &url,
            target: &target,
        })?,
        OutputFormat::Table | OutputFormat::Ids => printer.out(&format!("{url}\n"))?,
    }
    printer.status(&format!("Explorer for {target} at {url}"));
    printer.status("Press Ctrl-C to stop");
    if !args.no_open && has_display() {
        // In the background: a browser that takes its time must not hold the server back.
        let opening = url.clone();
        let printer = *printer;
        std::thread::spawn(move || {
            if let Err(err) = opener::open_browser(&opening) {
                printer.warn(&format!(
                    "cannot open a browser ({err}); open the URL above"
                ));
            }
        });
    }
    axum::serve(
        listener,
        explorer
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(crate::signals::interrupted())
    .await
    .context("the explorer stopped with an error")?;
    printer.status("Stopped the explorer");
    Ok(())
}
