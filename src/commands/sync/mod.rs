//! `storage kv pull`, `push` and `diff`: one loop between the service and local state.
//!
//! Local state is the embedded emulator's store, read in-process for its digests (no request
//! per key); the service is listed, and its digests come from what the last pull saw
//! (`local::seen`) or are read. `bulk::sync` compares and copies.
//!
//! The handlers are `diff`, `pull` and `push` (each file lists the endpoints it calls); they
//! share `setup` (the namespaces and options a pull or push starts from), `listings` (each
//! side's keys in key order), `plan` (what a pull or push does to one namespace), `copy`
//! (carrying a plan out) and `report` (what is printed, and the exit code).
//!
//! Endpoints, on the service: `GET /storage/kvs/{id}` (or `GET /storage/kvs`, page after page,
//! for a NAMESPACE given by name), `GET /storage/kvs/{id}/keys` page after page, and
//! `GET /storage/kvs/{id}/keys/{key}` for a value whose digest is not known; `push` also
//! `PUT /storage/kvs/{id}/keys/{key}?ttl_secs=T` and (with `--delete`)
//! `DELETE /storage/kvs/{id}/keys/{key}`. Local state takes the same key requests in-process.

mod copy;
mod diff;
mod left_alone;
mod listings;
mod plan;
mod pull;
mod push;
mod report;
mod setup;
mod transfer;

use serde::Serialize;

use crate::bulk::run::Options;
use crate::cli::SyncArgs;
use crate::commands::backend::Backend;
use crate::commands::settings::GlobalSettings;
use crate::error::{Exit, UserError};
use crate::ui::printer::Printer;

pub(crate) use diff::diff;
pub(crate) use transfer::copy_keys;

/// `storage kv pull [NAMESPACE…]` or `storage kv push [NAMESPACE…]`: refused with `--local`,
/// its options resolved once, and stoppable in every phase.
pub(crate) async fn copy_between(
    direction: Direction,
    global: &GlobalSettings,
    args: &SyncArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let work = async {
        setup::refuse_local(global, direction)?;
        let options = setup::options(&args.bulk, global.verbose);
        let invocation = Invocation {
            global,
            args,
            run: Run::new(direction, args, options.ceiling),
            options: &options,
            printer,
        };
        match direction {
            Direction::Pull => pull::run(invocation).await,
            Direction::Push => push::run(invocation).await,
        }
    };
    stoppable(direction.verb(), work).await
}

/// A pull or push as invoked: its arguments, the run they make and the bulk engine's options.
#[derive(Clone, Copy)]
struct Invocation<'a> {
    global: &'a GlobalSettings,
    args: &'a SyncArgs,
    run: Run<'a>,
    options: &'a Options,
    printer: &'a Printer,
}

impl<'a> Invocation<'a> {
    /// The run between these two sides, once both are open.
    fn between(self, local: &'a Backend, remote: &'a Backend) -> Between<'a> {
        Between {
            run: self.run,
            local,
            remote,
            options: self.options,
            printer: self.printer,
        }
    }
}

/// A pull or push under way: its run, both sides, and the options and printer of its copies.
#[derive(Clone, Copy)]
struct Between<'a> {
    run: Run<'a>,
    local: &'a Backend,
    remote: &'a Backend,
    options: &'a Options,
    printer: &'a Printer,
}

/// Runs a pull, push or copy so that Ctrl-C (or SIGTERM) works in every phase. Inside a copy the
/// copy's rules apply (finish what is in flight, write the summary); outside one (resolving,
/// listing, comparing, asking for confirmation) the work is dropped where it stands and the
/// run ends with exit 130. A prompt blocked on stdin cannot hold that up: it waits on a thread
/// of its own.
async fn stoppable(
    verb: &str,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let _stopping = crate::signals::guard();
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        () = crate::signals::tripped() => {}
    }
    if copy::running() {
        // The copy stops cleanly and says so.
        return work.await;
    }
    Err(UserError::new(Exit::Interrupted, format!("{verb} interrupted"))
        .hint(format!(
            "Namespaces finished before it stay finished; run the same `{verb}` again to do the rest: it copies only what still differs."
        ))
        .into())
}

/// Rows of a plan shown on stderr before `push` asks; the rest are counted.
const SHOWN_PLAN_ROWS: usize = 20;

/// Which way a copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Pull,
    Push,
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
        }
    }

    /// The side written to (A in a plan).
    fn written(self) -> Place {
        match self {
            Self::Pull => Place::Local,
            Self::Push => Place::Remote,
        }
    }

    /// The side read from (B in a plan).
    fn source(self) -> Place {
        match self {
            Self::Pull => Place::Remote,
            Self::Push => Place::Local,
        }
    }
}

/// Where a namespace is: in local state or on the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Place {
    Local,
    Remote,
}

impl Place {
    /// As a side of `diff` is written: `local` or `remote`.
    fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Remote => "remote",
        }
    }

    /// How messages name the place.
    fn described(self) -> &'static str {
        match self {
            Self::Local => "local state",
            Self::Remote => "the service",
        }
    }

    /// The heading of a plan's size column for this side.
    fn size_heading(self) -> &'static str {
        match self {
            Self::Local => "LOCAL_SIZE",
            Self::Remote => "SERVICE_SIZE",
        }
    }
}

/// What a sync run is: its direction and flags.
#[derive(Clone, Copy)]
struct Run<'a> {
    direction: Direction,
    prefix: &'a str,
    delete: bool,
    force: bool,
    dry_run: bool,
    ceiling: usize,
}

impl<'a> Run<'a> {
    fn new(direction: Direction, args: &'a SyncArgs, ceiling: usize) -> Self {
        Self {
            direction,
            prefix: args.prefix.as_deref().unwrap_or_default(),
            delete: args.delete,
            force: args.force,
            dry_run: args.dry_run,
            ceiling,
        }
    }

    /// Whether the plan's differences are shown key by key: a push shows its plan, a dry run
    /// prints it; a pull says only how many.
    fn keeps_differences(self) -> bool {
        self.dry_run || self.direction == Direction::Push
    }
}
