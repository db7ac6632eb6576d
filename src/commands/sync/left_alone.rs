//! A key a pull or push leaves alone, and why: changed only on the side this direction does
//! not copy from, changed on both sides, or changed on the side written to during the run. The
//! reasons are what the plan shows and what the JSON outcome lists. It calls no endpoint.

use serde::Serialize;

use super::Direction;
use crate::bulk::merge::{Merge, Sides};

/// Which of the record, local state and the service hold a key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Present {
    base: bool,
    local: bool,
    service: bool,
}

impl Present {
    pub(crate) fn of(sides: &Sides) -> Self {
        Self {
            base: sides.base.is_some(),
            local: sides.local.is_some(),
            service: sides.remote.is_some(),
        }
    }
}

/// A key a run leaves alone, and why.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LeftAlone {
    pub key: String,
    /// `conflict` (changed on both sides), `local` or `service` (changed on that side only,
    /// which this direction does not copy).
    changed: &'static str,
    pub why: &'static str,
}

impl LeftAlone {
    pub(crate) fn new(key: String, merge: Merge, expiry: bool, present: Present) -> Self {
        if expiry {
            return Self {
                key,
                changed: "local",
                why: "expiry changed in local state since the last sync; `push` sends it",
            };
        }
        let how = |now: bool| match (present.base, now) {
            (_, false) => "deleted",
            (false, true) => "new",
            (true, true) => "changed",
        };
        let (changed, why) = match merge {
            Merge::Local => (
                "local",
                match how(present.local) {
                    "deleted" => {
                        "deleted in local state since the last sync; `push --delete` sends that"
                    }
                    "new" => "new in local state since the last sync; `push` sends it",
                    _ => "changed in local state since the last sync; `push` sends it",
                },
            ),
            Merge::Service => (
                "service",
                match how(present.service) {
                    "deleted" => {
                        "deleted on the service since the last sync; `pull --delete` takes that"
                    }
                    "new" => "new on the service since the last sync; `pull` takes it",
                    _ => "changed on the service since the last sync; `pull` takes it",
                },
            ),
            Merge::Conflict | Merge::Equal => (
                "conflict",
                if present.base {
                    "changed both in local state and on the service since the last sync"
                } else {
                    "different in local state and on the service, and no sync left them equal"
                },
            ),
        };
        Self { key, changed, why }
    }

    /// A key the side written to changed between the plan and its write.
    pub(crate) fn moved(key: String, direction: Direction) -> Self {
        let why = match direction {
            Direction::Pull => "changed in local state during the pull",
            Direction::Push => "changed on the service during the push",
        };
        Self {
            key,
            changed: "conflict",
            why,
        }
    }

    pub(crate) fn is_conflict(&self) -> bool {
        self.changed == "conflict"
    }
}
