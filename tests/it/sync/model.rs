//! A model-based test of `pull` and `push` (issue #23): random interleavings of local edits,
//! service edits, pulls, pushes (with `--delete`, `--force`, `--prefix`, `--dry-run`) and a lost
//! sync record, seeded. Every write gets a value never used before, and the model knows, per
//! key, whether each side's value is a write the other side has not seen yet. After every step
//! it checks what must hold:
//!
//! - a pull never writes the service, a push never writes local state, a dry run nothing;
//! - a run copies only the source's value, and never overwrites or deletes a write the source
//!   has not seen, unless `--force`;
//! - a key changed on both sides is left alone and reported as a conflict (exit 1);
//! - a change made on one side only is copied (deletions with `--delete`) unless the record
//!   was lost since, when a conflict is the honest answer.
//!
//! "Has not seen" is judged as a merge judges it: the model keeps, per key, the value both
//! sides held when a sync last left them equal (its base; absent after the record is lost); a
//! side whose value is not the base has a change the other has not seen. A value changed and
//! changed back is no change, as in any three-way merge.
//!
//! `SYNC_MODEL_SEEDS` (default 200) and `SYNC_MODEL_STEPS` (default 8) size the run.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::project::Project;

const KEYS: [&str; 3] = ["k0", "k1", "k2"];

/// What the model knows of one key.
#[derive(Debug, Clone, Default)]
struct Model {
    local: Option<String>,
    service: Option<String>,
    /// What both sides held when a sync last left them equal.
    base: Option<String>,
}

impl Model {
    fn local_changed(&self) -> bool {
        self.local != self.base
    }

    fn service_changed(&self) -> bool {
        self.service != self.base
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Pull,
    Push,
}

#[derive(Debug, Clone)]
enum Step {
    LocalPut(usize),
    LocalDelete(usize),
    ServicePut(usize),
    ServiceDelete(usize),
    Sync {
        way: Way,
        delete: bool,
        force: bool,
        dry_run: bool,
        /// Only this key (`--prefix`).
        only: Option<usize>,
    },
    LoseRecord,
}

fn draw(rng: &mut fastrand::Rng) -> Step {
    let key = rng.usize(..KEYS.len());
    match rng.u32(..100) {
        0..=13 => Step::LocalPut(key),
        14..=19 => Step::LocalDelete(key),
        20..=33 => Step::ServicePut(key),
        34..=39 => Step::ServiceDelete(key),
        40..=42 => Step::LoseRecord,
        _ => Step::Sync {
            way: if rng.bool() { Way::Pull } else { Way::Push },
            delete: rng.u32(..3) == 0,
            force: rng.u32(..8) == 0,
            dry_run: rng.u32(..10) == 0,
            only: (rng.u32(..5) == 0).then(|| rng.usize(..KEYS.len())),
        },
    }
}

struct World {
    project: Project,
    model: Vec<Model>,
    next_value: u64,
    log: Vec<String>,
}

impl World {
    fn value(&mut self) -> String {
        self.next_value += 1;
        format!("v{}", self.next_value)
    }

    fn actual(&self) -> Vec<(Option<String>, Option<String>)> {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8");
        KEYS.iter()
            .map(|key| {
                (
                    self.project.local_get(key).map(text),
                    self.project.service_get(key).map(text),
                )
            })
            .collect()
    }

    fn fail(&self, why: &str) -> ! {
        panic!("{why}\nsteps:\n{}", self.log.join("\n"));
    }

    fn step(&mut self, step: &Step) {
        match *step {
            Step::LocalPut(i) => {
                let value = self.value();
                self.project.local_put(KEYS[i], &value);
                self.model[i].local = Some(value);
            }
            Step::LocalDelete(i) => {
                let (code, _, stderr) = self
                    .project
                    .local(&["storage", "kv", "delete", "MY_CACHE", KEYS[i], "--yes"]);
                if code != Some(0) && code != Some(3) {
                    self.fail(&format!("local delete: {code:?} {stderr}"));
                }
                self.model[i].local = None;
            }
            Step::ServicePut(i) => {
                let value = self.value();
                self.project.service_put(KEYS[i], value.as_bytes());
                self.model[i].service = Some(value);
            }
            Step::ServiceDelete(i) => {
                self.project.service_delete(KEYS[i]);
                self.model[i].service = None;
            }
            Step::LoseRecord => {
                let _ = std::fs::remove_file(self.project.state().join("sync.sqlite3"));
                for model in &mut self.model {
                    model.base = None;
                }
            }
            Step::Sync {
                way,
                delete,
                force,
                dry_run,
                only,
            } => self.sync(way, delete, force, dry_run, only),
        }
    }

    fn sync(&mut self, way: Way, delete: bool, force: bool, dry_run: bool, only: Option<usize>) {
        let mut args = vec!["--json", "storage", "kv"];
        args.push(if way == Way::Pull { "pull" } else { "push" });
        if way == Way::Push {
            args.push("--yes");
        }
        for (on, flag) in [
            (delete, "--delete"),
            (force, "--force"),
            (dry_run, "--dry-run"),
        ] {
            if on {
                args.push(flag);
            }
        }
        if let Some(i) = only {
            args.extend(["--prefix", KEYS[i]]);
        }
        let (code, stdout, stderr) = self.project.run(&args);
        self.log.push(format!("  → exit {code:?}\n{stderr}"));
        let conflicts: BTreeMap<String, String> = if dry_run || code.is_none() {
            BTreeMap::new()
        } else {
            let summary: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|err| self.fail(&format!("{err}: {stdout}")));
            summary[0]["left_alone"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|left| {
                    (
                        left["key"].as_str().unwrap_or_default().to_owned(),
                        left["changed"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        let any_conflict = conflicts.values().any(|changed| changed == "conflict");
        let expected_code = if any_conflict && !dry_run { 1 } else { 0 };
        if code != Some(expected_code) {
            self.fail(&format!("exit {code:?}, expected {expected_code}"));
        }
        let actual = self.actual();
        for (i, (local, service)) in actual.into_iter().enumerate() {
            let key = KEYS[i];
            let before = self.model[i].clone();
            let in_scope = only.is_none_or(|o| o == i);
            let conflict = conflicts.get(key).is_some_and(|c| c == "conflict");
            let (source, target, target_after, other_after, source_unseen, target_unseen) =
                match way {
                    Way::Pull => (
                        &before.service,
                        &before.local,
                        &local,
                        &service,
                        before.service_changed(),
                        before.local_changed(),
                    ),
                    Way::Push => (
                        &before.local,
                        &before.service,
                        &service,
                        &local,
                        before.local_changed(),
                        before.service_changed(),
                    ),
                };
            let source_after_expected = source;
            if other_after != source_after_expected {
                self.fail(&format!(
                    "`{key}`: the source side changed: {other_after:?}"
                ));
            }
            if dry_run || !in_scope {
                if target_after != target {
                    self.fail(&format!("`{key}`: changed by a dry run or out of scope"));
                }
                continue;
            }
            if target_after != target && target_after != source {
                self.fail(&format!(
                    "`{key}`: the written side holds {target_after:?}, neither its own nor the source's"
                ));
            }
            // No write the source has not seen is overwritten or deleted, unless forced.
            if target_after != target && target_unseen && !force {
                self.fail(&format!(
                    "`{key}`: {target:?}, a write the source had not seen, was replaced by {target_after:?}"
                ));
            }
            let both_changed = source_unseen && target_unseen && source != target;
            if both_changed && !force && !conflict {
                self.fail(&format!(
                    "`{key}`: changed on both sides but not reported as a conflict"
                ));
            }
            // A change made on one side only arrives (a deletion with `--delete`).
            let wanted = source_unseen && !target_unseen && (source.is_some() || delete);
            if wanted && target_after != source {
                self.fail(&format!(
                    "`{key}`: the source's change {source:?} did not arrive (still {target_after:?})"
                ));
            }
            // A change of the written side's own is left alone and listed.
            if target_unseen && !source_unseen && !force && !conflicts.contains_key(key) {
                self.fail(&format!(
                    "`{key}`: the written side's own change is not listed"
                ));
            }
            // A forced run makes the written side like the source.
            if force && source != target && (source.is_some() || delete) && target_after != source {
                self.fail(&format!("`{key}`: --force left {target_after:?}"));
            }
        }
        if dry_run {
            return;
        }
        // What the run did, into the model.
        let actual = self.actual();
        for (i, (local, service)) in actual.into_iter().enumerate() {
            let model = &mut self.model[i];
            model.local = local;
            model.service = service;
            if model.local == model.service && only.is_none_or(|o| o == i) {
                model.base.clone_from(&model.local);
            }
        }
    }
}

fn run_seed(seed: u64, steps: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut world = World {
        project: Project::new(),
        model: vec![Model::default(); KEYS.len()],
        next_value: 0,
        log: vec![format!("seed {seed}")],
    };
    // Local state exists (empty), as after a first pull of an empty namespace.
    let (code, _, stderr) = world.project.run(&["storage", "kv", "pull"]);
    assert_eq!(code, Some(0), "{stderr}");
    for _ in 0..steps {
        let step = draw(&mut rng);
        world.log.push(format!("{step:?}"));
        world.step(&step);
        // Edits are checked too: the model and the two sides agree after every step.
        let actual = world.actual();
        for (i, (local, service)) in actual.into_iter().enumerate() {
            let model = &world.model[i];
            if (&local, &service) != (&model.local, &model.service) {
                world.fail(&format!(
                    "`{}`: sides are {local:?} / {service:?}, the model says {:?} / {:?}",
                    KEYS[i], model.local, model.service
                ));
            }
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

#[test]
fn no_write_is_lost_without_a_conflict_in_random_interleavings() {
    let seeds = env_number("SYNC_MODEL_SEEDS", 200);
    let steps = usize::try_from(env_number("SYNC_MODEL_STEPS", 8)).unwrap_or(8);
    let next = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if seed >= seeds {
                        return;
                    }
                    run_seed(seed, steps);
                }
            });
        }
    });
}
