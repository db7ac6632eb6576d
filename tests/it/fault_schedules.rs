//! The fault-schedule suite (docs/reliability.md): for each seed, a [`ChaosProxy`] between the
//! binary and an in-process emulator serves a schedule of faults, the binary is driven through
//! the retry loop docs/bulk.md documents (feed `--failed-file` back, or run again, until exit 0),
//! and the final state, read straight from the emulator or the local store, must equal a model.
//!
//! `FAULT_SEEDS=N` runs N seeds per scenario instead of the few `cargo test` runs;
//! `scripts/soak.sh N` does that and writes the figures each scenario prints into
//! docs/reliability.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use telnyx_edge::emulator::{Config, Storage};

use crate::support::api::{Api, TOKEN};
use crate::support::chaos::{ChaosProxy, FaultKind, Schedule, Tally};
use crate::support::cli::{Kv, scrubbed};
use crate::support::project::AHEAD_MS;

/// Share of key requests that meet a fault, in thousandths.
const FAULT_RATE: u64 = 150;
/// A loop that has not finished after this many runs has failed.
const MAX_ROUNDS: usize = 25;
/// One run that takes longer is killed and counted as a failed round.
const ROUND_LIMIT: Duration = Duration::from_secs(120);
/// Seeds run at once within a scenario.
const PARALLEL: usize = 4;

/// Seeds of one scenario run at once: [`PARALLEL`], or `FAULT_PARALLEL` (the soak raises it,
/// since a schedule mostly waits: stalls, backoffs).
fn parallel() -> usize {
    std::env::var("FAULT_PARALLEL")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(PARALLEL)
}

/// Key → value, as a namespace or local state holds it.
type State = BTreeMap<String, Vec<u8>>;

/// The seeds of a scenario: `FAULT_SEEDS` of them, or `default`.
fn seeds(scenario: &str, default: u64) -> Vec<u64> {
    let count = std::env::var("FAULT_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    // Each scenario draws its own seeds, so two scenarios never share a schedule.
    let base = fnv(scenario.as_bytes()) & 0xffff_ffff;
    (0..count).map(|i| (base << 20) + i).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A small deterministic generator for the data of one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Bytes that are not UTF-8 (they hold 0xff), of a few lengths.
    fn binary(&mut self) -> Vec<u8> {
        let len = 1 + self.below(40);
        let mut bytes: Vec<u8> = (0..len).map(|_| (self.next() & 0xff) as u8).collect();
        bytes.push(0xff);
        bytes.insert(0, 0x00);
        bytes
    }

    fn text(&mut self, tag: &str) -> Vec<u8> {
        format!("{tag}-{:x}-é✓", self.next()).into_bytes()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One input line: binary values as base64, text as text.
fn line(key: &str, value: &[u8]) -> String {
    let item = match std::str::from_utf8(value) {
        Ok(text) => json!({"key": key, "value": text}),
        Err(_) => json!({"key": key, "value": b64(value), "base64": true}),
    };
    item.to_string()
}

/// Reads NDJSON output (`bulk get`, `export`) back into a state.
fn parse_lines(text: &[u8]) -> Result<State, String> {
    let mut state = State::new();
    for (n, line) in String::from_utf8_lossy(text).lines().enumerate() {
        let item: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}: {line}", n + 1))?;
        let key = item["key"]
            .as_str()
            .ok_or_else(|| format!("line {} has no key", n + 1))?;
        let value = item["value"]
            .as_str()
            .ok_or_else(|| format!("line {} has no value", n + 1))?;
        let bytes = if item["base64"] == true {
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| format!("line {}: {e}", n + 1))?
        } else {
            value.as_bytes().to_vec()
        };
        if state.insert(key.to_owned(), bytes).is_some() {
            return Err(format!("key `{key}` is printed twice"));
        }
    }
    Ok(state)
}

/// What differs between a state and its model, or `None` when they are equal.
fn compare(got: &State, want: &State) -> Option<String> {
    let mut problems = Vec::new();
    for (key, value) in want {
        match got.get(key) {
            None => problems.push(format!("`{key}` missing")),
            Some(have) if have != value => {
                problems.push(format!("`{key}` is {}, want {}", shown(have), shown(value)))
            }
            Some(_) => {}
        }
    }
    for key in got.keys().filter(|key| !want.contains_key(*key)) {
        problems.push(format!("`{key}` should not be there"));
    }
    let total = problems.len();
    problems.truncate(4);
    (total > 0).then(|| format!("{total} keys wrong: {}", problems.join("; ")))
}

/// A value as a failure shows it: text quoted, bytes as base64.
fn shown(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) => format!("{text:?}"),
        Err(_) => format!("base64:{}", b64(value)),
    }
}

/// One run of the binary, killed after [`ROUND_LIMIT`].
struct Run {
    /// `None` when it was killed.
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn run_bounded(mut command: Command, dir: &Path, round: usize) -> Run {
    let out_path = dir.join(format!(".round-{round}.stdout"));
    let err_path = dir.join(format!(".round-{round}.stderr"));
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + ROUND_LIMIT;
    let code = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: std::fs::read(&out_path).expect("stdout"),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// The schedule of a seed: [`FAULT_RATE`] or `FAULT_RATE_PER_MILLE`, every kind or those
/// `FAULT_KINDS` names (`FAULT_KINDS=500,reset`), to look at one kind at a time.
fn schedule(seed: u64) -> Schedule {
    let rate = std::env::var("FAULT_RATE_PER_MILLE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(FAULT_RATE);
    let schedule = Schedule::new(seed, rate);
    match std::env::var("FAULT_KINDS") {
        Ok(names) => {
            let kinds: Vec<FaultKind> = FaultKind::ALL
                .into_iter()
                .filter(|kind| names.split(',').any(|name| name.trim() == kind.name()))
                .collect();
            schedule.only(&kinds)
        }
        Err(_) => schedule,
    }
}

/// A service (an emulator with one namespace) behind a chaos proxy, and a working directory.
struct World {
    kv: Kv,
    id: String,
    /// `--retries` for this seed: 0 and 1 leave faults to the failed file and the retry loop
    /// (the remainder's rules), 4 (the default) to the client's retries.
    retries: &'static str,
    proxy: ChaosProxy,
    /// In a [`World::whole_runs_settled`]: the emulator the service is seeded through, its clock
    /// [`AHEAD_MS`] behind `kv.api`'s, and the directory of the store both serve.
    earlier: Option<(Api, tempfile::TempDir)>,
}

impl World {
    fn new(seed: u64) -> Self {
        let kv = Kv::start();
        let id = kv.api.create("chaos");
        Self::around(kv, id, seed)
    }

    fn around(kv: Kv, id: String, seed: u64) -> Self {
        let proxy = ChaosProxy::start(&kv.api.base_url(), schedule(seed));
        let retries = ["0", "1", "4"][(seed % 3) as usize];
        Self {
            kv,
            id,
            retries,
            proxy,
            earlier: None,
        }
    }

    /// [`World::whole_runs`] whose seeded keys ([`World::seed_service`]) are dated [`AHEAD_MS`]
    /// before the clock the binary lists by: a pull trusts their `updated_at` at once, as it
    /// does once its settle window of 2 s has passed.
    fn whole_runs_settled(seed: u64) -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let earlier = Api::on_disk(store.path(), 0);
        // Created on the earlier clock, so that both clocks see it ready.
        let id = earlier.create("chaos");
        let kv = Kv::with(Config {
            storage: Storage::Dir(store.path().to_path_buf()),
            clock_offset_ms: AHEAD_MS,
            ..Config::in_memory()
        });
        let mut world = Self::around(kv, id, seed);
        world.earlier = Some((earlier, store));
        if world.retries == "0" {
            world.retries = "1";
        }
        world
    }

    /// For a command whose loop runs it again whole (a read, `pull`, `push`: each run lists
    /// and compares everything again): `--retries 1` in place of 0, since without any retry a
    /// run over 50 keys under 15% faults rarely gets through, and the loop would only measure
    /// that.
    fn whole_runs(seed: u64) -> Self {
        let mut world = Self::new(seed);
        if world.retries == "0" {
            world.retries = "1";
        }
        world
    }

    fn dir(&self) -> &Path {
        self.kv.home.path()
    }

    /// The binary, talking to the service through the proxy.
    fn through_proxy(&self, args: &[&str]) -> Command {
        let mut command = scrubbed(self.dir());
        command
            .env("TELNYX_BASE_URL", &self.proxy.base_url)
            .env("TELNYX_API_KEY", TOKEN)
            .args(["--retries", self.retries])
            .args(args);
        command
    }

    /// Runs the binary through the proxy with its faults paused, for a test's setup (local
    /// state notes which base URL it pulled from, so setup uses the same one); it must exit 0.
    fn setup(&self, args: &[&str]) {
        self.proxy.pause(true);
        let run = run_bounded(self.through_proxy(args), self.dir(), 100);
        self.proxy.pause(false);
        assert_eq!(run.code, Some(0), "setup {args:?}: {}", run.stderr);
    }

    fn key_path(&self, key: &str) -> String {
        format!("/storage/kvs/{}/keys/{}", self.id, key.replace('/', "%2F"))
    }

    /// Writes a state to the service, bypassing the proxy.
    fn seed_service(&self, state: &State) {
        let api = self.earlier.as_ref().map_or(&self.kv.api, |(api, _)| api);
        for (key, value) in state {
            let response = api.put(&self.key_path(key), value.clone());
            assert!(response.status().is_success(), "seeding `{key}`");
        }
    }

    fn service_delete(&self, key: &str) {
        let response = self.kv.api.delete(&self.key_path(key));
        assert!(response.status().is_success(), "deleting `{key}`");
    }

    /// Every key and value of the namespace, read straight from the emulator.
    fn service_state(&self) -> State {
        let mut state = State::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/storage/kvs/{}/keys?limit=1000", self.id);
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page: Value = self.kv.api.get(&path).json().expect("a key list");
            for item in page["data"].as_array().expect("`data` is an array") {
                let key = item["key"].as_str().expect("a key").to_owned();
                let response = self.kv.api.get(&self.key_path(&key));
                assert!(response.status().is_success(), "reading `{key}`");
                state.insert(key, response.bytes().expect("a value").to_vec());
            }
            match page["meta"]["cursor"].as_str() {
                Some(next) if page["meta"]["has_more"] == true => cursor = Some(next.to_owned()),
                _ => return state,
            }
        }
    }

    /// Every key of the namespace's local mirror, read straight from the local store.
    fn local_state(&self) -> State {
        let db = self.dir().join(".telnyx-edge/state/kv.sqlite3");
        let db = rusqlite::Connection::open(db).expect("the local store opens");
        let mut statement = db
            .prepare("SELECT key, value FROM kv WHERE ns = ?1 ORDER BY key")
            .expect("query");
        statement
            .query_map([&self.id], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir().join(name), text).expect("writes an input file");
    }
}

/// How one seed of a scenario went.
struct Outcome {
    seed: u64,
    rounds: usize,
    /// The last run exited 0.
    finished: bool,
    /// What was wrong with the final state.
    wrong: Option<String>,
    /// A run exited 0 while the state was wrong.
    false_success: bool,
    last_code: Option<i32>,
    last_stderr: String,
    tally: Tally,
}

impl Outcome {
    fn failed(&self) -> bool {
        !self.finished || self.wrong.is_some() || self.false_success
    }
}

/// Runs `round(n)` until it exits 0, or `next(n)` says there is nothing left to feed back, or
/// [`MAX_ROUNDS`]; returns the rounds run and the last run.
fn retry_loop(
    world: &World,
    mut round: impl FnMut(usize) -> Command,
    mut more: impl FnMut(usize) -> bool,
) -> (usize, Run) {
    let mut n = 0;
    loop {
        let run = run_bounded(round(n), world.dir(), n);
        n += 1;
        if run.code == Some(0) || n >= MAX_ROUNDS || !more(n - 1) {
            return (n, run);
        }
    }
}

fn outcome(seed: u64, world: &World, rounds: usize, run: &Run, wrong: Option<String>) -> Outcome {
    let finished = run.code == Some(0);
    Outcome {
        seed,
        rounds,
        finished,
        false_success: finished && wrong.is_some(),
        wrong,
        last_code: run.code,
        last_stderr: run.stderr.clone(),
        tally: world.proxy.tally(),
    }
}

/// Runs every seed of a scenario, prints its figures (one `fault-schedules` line that
/// scripts/soak.sh reads, then one line per failed seed), and fails if any seed did.
fn scenario(name: &str, default_seeds: u64, one: impl Fn(u64) -> Outcome + Sync) {
    let started = Instant::now();
    let seeds = seeds(name, default_seeds);
    let mut outcomes = Vec::new();
    for batch in seeds.chunks(parallel()) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|seed| scope.spawn(|| one(*seed)))
                .collect();
            for handle in handles {
                outcomes.push(handle.join().expect("a seed's thread does not panic"));
            }
        });
    }
    let mut tally = Tally::default();
    for outcome in &outcomes {
        tally.add(&outcome.tally);
    }
    let unfinished = outcomes.iter().filter(|o| !o.finished).count();
    let wrong = outcomes.iter().filter(|o| o.wrong.is_some()).count();
    let false_successes = outcomes.iter().filter(|o| o.false_success).count();
    let max_rounds = outcomes.iter().map(|o| o.rounds).max().unwrap_or(0);
    let total_rounds: usize = outcomes.iter().map(|o| o.rounds).sum();
    println!(
        "fault-schedules scenario={name} schedules={} requests={} faults={} {} rounds={total_rounds} max_rounds={max_rounds} unfinished={unfinished} wrong={wrong} false_successes={false_successes} seconds={:.1}",
        outcomes.len(),
        tally.requests,
        tally.total_faults(),
        tally.by_kind(),
        started.elapsed().as_secs_f64(),
    );
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| o.failed())
        .map(|o| {
            let last = o.last_stderr.lines().rev().take(3).collect::<Vec<_>>();
            format!(
                "fault-schedules failure scenario={name} seed={} rounds={} exit={:?} false_success={} wrong={}\n    last stderr: {}",
                o.seed,
                o.rounds,
                o.last_code,
                o.false_success,
                o.wrong.as_deref().unwrap_or("no"),
                last.into_iter().rev().collect::<Vec<_>>().join(" | "),
            )
        })
        .collect();
    for failure in &failures {
        println!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} schedules of `{name}` failed:\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n")
    );
}

/// An NDJSON input that writes some keys twice (an early and a later value) and some keys as
/// binary, and the state it leaves: the last line of each key.
fn writes(seed: u64) -> (String, State) {
    let mut rng = Rng(seed);
    let mut lines = Vec::new();
    let mut model = State::new();
    let keys: Vec<String> = (0..30).map(|i| format!("w/{i:02}")).collect();
    for key in &keys {
        let value = if rng.below(4) == 0 {
            rng.binary()
        } else {
            rng.text("v1")
        };
        lines.push(line(key, &value));
        model.insert(key.clone(), value);
    }
    for key in &keys {
        if rng.below(3) != 0 {
            continue;
        }
        let value = if rng.below(3) == 0 {
            rng.binary()
        } else {
            rng.text("v2")
        };
        lines.push(line(key, &value));
        model.insert(key.clone(), value);
    }
    (lines.join("\n") + "\n", model)
}

/// A namespace's worth of keys: text and binary values, under two prefixes.
fn contents(seed: u64, prefix: &str, count: usize) -> State {
    let mut rng = Rng(seed ^ fnv(prefix.as_bytes()));
    (0..count)
        .map(|i| {
            let value = if rng.below(4) == 0 {
                rng.binary()
            } else {
                rng.text("c")
            };
            (format!("{prefix}{i:02}"), value)
        })
        .collect()
}

/// `bulk put` or `import` of [`writes`], feeding each run's failed file to the next.
fn put_scenario(seed: u64, command: &str, extra: &[&str]) -> Outcome {
    let world = World::new(seed);
    let (input, model) = writes(seed);
    world.write("failed-0.ndjson", &input);
    let (rounds, run) = retry_loop(
        &world,
        |n| {
            let input = format!("failed-{n}.ndjson");
            let failed = format!("failed-{}.ndjson", n + 1);
            let mut args = vec!["storage", "kv"];
            args.extend(command.split(' '));
            args.extend([world.id.as_str(), &input, "--failed-file", &failed]);
            args.extend(extra);
            world.through_proxy(&args)
        },
        |n| has_lines(&world.dir().join(format!("failed-{}.ndjson", n + 1))),
    );
    let wrong = compare(&world.service_state(), &model);
    outcome(seed, &world, rounds, &run, wrong)
}

fn has_lines(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| !text.trim().is_empty())
}

#[test]
fn bulk_put_through_faults_leaves_the_last_value_of_each_key() {
    // Half the seeds stop at the first failed item (the default `--max-errors 1`), half go on.
    scenario("bulk_put", 8, |seed| {
        let extra: &[&str] = if seed % 2 == 0 {
            &[]
        } else {
            &["--continue-on-error"]
        };
        put_scenario(seed, "bulk put", extra)
    });
}

#[test]
fn import_through_faults_leaves_the_last_value_of_each_key() {
    scenario("import", 5, |seed| {
        put_scenario(seed, "import", &["--continue-on-error"])
    });
}

#[test]
fn bulk_delete_through_faults_removes_exactly_the_listed_keys() {
    scenario("bulk_delete", 6, |seed| {
        let world = World::new(seed);
        let before = contents(seed, "d/", 40);
        world.seed_service(&before);
        let mut rng = Rng(seed);
        let doomed: Vec<&String> = before.keys().filter(|_| rng.below(2) == 0).collect();
        let mut model = before.clone();
        for key in &doomed {
            model.remove(*key);
        }
        let mut list: Vec<String> = doomed.iter().map(|k| (*k).clone()).collect();
        // Deleting a key that is not there succeeds too.
        list.push("d/absent".into());
        world.write("keys-0.txt", &(list.join("\n") + "\n"));
        let (rounds, run) = retry_loop(
            &world,
            |n| {
                let input = if n == 0 {
                    "keys-0.txt".to_owned()
                } else {
                    format!("failed-{n}.ndjson")
                };
                let failed = format!("failed-{}.ndjson", n + 1);
                world.through_proxy(&[
                    "storage",
                    "kv",
                    "bulk",
                    "delete",
                    &world.id,
                    "--from-file",
                    &input,
                    "--yes",
                    "--failed-file",
                    &failed,
                ])
            },
            |n| has_lines(&world.dir().join(format!("failed-{}.ndjson", n + 1))),
        );
        let wrong = compare(&world.service_state(), &model);
        outcome(seed, &world, rounds, &run, wrong)
    });
}

/// Runs a read (`bulk get`, `export`) again until it exits 0, and compares what the last run
/// wrote with the model.
fn read_scenario(
    seed: u64,
    command: &[&str],
    flags: &[&str],
    output_file: Option<&str>,
    prefix: &str,
) -> Outcome {
    let world = World::whole_runs(seed);
    let mut model = contents(seed, prefix, 40);
    let other = contents(seed, "other/", 10);
    world.seed_service(&model);
    world.seed_service(&other);
    if prefix.is_empty() {
        model.extend(other);
    }
    let mut all = vec!["storage", "kv"];
    all.extend(command);
    all.push(&world.id);
    all.extend(flags);
    let (rounds, run) = retry_loop(&world, |_| world.through_proxy(&all), |_| true);
    let written = match output_file {
        Some(file) => std::fs::read(world.dir().join(file)).unwrap_or_default(),
        None => run.stdout.clone(),
    };
    let wrong = match parse_lines(&written) {
        Ok(got) => compare(&got, &model),
        Err(problem) => Some(problem),
    };
    // The namespace itself must be untouched by a read.
    let mut everything = contents(seed, prefix, 40);
    everything.extend(contents(seed, "other/", 10));
    let wrong = wrong.or_else(|| {
        compare(&world.service_state(), &everything).map(|p| format!("the namespace: {p}"))
    });
    outcome(seed, &world, rounds, &run, wrong)
}

#[test]
fn bulk_get_of_a_prefix_through_faults_prints_exactly_its_keys_and_values() {
    scenario("bulk_get", 5, |seed| {
        read_scenario(seed, &["bulk", "get"], &["--prefix", "g/"], None, "g/")
    });
}

#[test]
fn export_through_faults_writes_exactly_every_key_and_value() {
    scenario("export", 5, |seed| {
        read_scenario(
            seed,
            &["export"],
            &["--output-file", "out.ndjson"],
            Some("out.ndjson"),
            "",
        )
    });
}

/// Binds the namespace as `CHAOS` in func.toml and copies the service into local state with a
/// pull that meets no fault.
fn bind_and_pull(world: &World) {
    world.write(
        "func.toml",
        &format!(
            "[edge_compute]\nfunc_name = \"f\"\n\n[storage.kv.CHAOS]\nid = \"{}\"\n",
            world.id
        ),
    );
    world.setup(&["storage", "kv", "pull"]);
}

/// Changes a third of the keys, adds some and deletes some, with `apply(key, value)` writing
/// (`Some`) or deleting (`None`); returns the state after.
fn drift(seed: u64, before: &State, mut apply: impl FnMut(&str, Option<&[u8]>)) -> State {
    let mut rng = Rng(seed ^ 0x5eed);
    let mut after = before.clone();
    for key in before.keys() {
        match rng.below(6) {
            0 | 1 => {
                let value = if rng.below(3) == 0 {
                    rng.binary()
                } else {
                    rng.text("v2")
                };
                apply(key, Some(&value));
                after.insert(key.clone(), value);
            }
            2 => {
                apply(key, None);
                after.remove(key);
            }
            _ => {}
        }
    }
    for i in 0..8 {
        let key = format!("new/{i:02}");
        let value = rng.text("new");
        apply(&key, Some(&value));
        after.insert(key, value);
    }
    after
}

#[test]
fn pull_through_faults_leaves_local_state_equal_to_the_service() {
    scenario("pull", 4, |seed| {
        let world = World::whole_runs(seed);
        let before = contents(seed, "p/", 30);
        world.seed_service(&before);
        bind_and_pull(&world);
        let model = drift(seed, &before, |key, value| match value {
            Some(value) => world.seed_service(&State::from([(key.to_owned(), value.to_vec())])),
            None => world.service_delete(key),
        });
        let (rounds, run) = retry_loop(
            &world,
            |_| world.through_proxy(&["storage", "kv", "pull", "--delete"]),
            |_| true,
        );
        let wrong = compare(&world.local_state(), &model).or_else(|| {
            compare(&world.service_state(), &model).map(|p| format!("the service: {p}"))
        });
        outcome(seed, &world, rounds, &run, wrong)
    });
}

#[test]
fn push_through_faults_leaves_the_service_equal_to_local_state() {
    scenario("push", 4, |seed| {
        // Seeded long enough before the pull lists it for the pull to note every key as seen,
        // so that push knows every service key was pulled (docs/local-development.md).
        let world = World::whole_runs_settled(seed);
        let before = contents(seed, "p/", 30);
        world.seed_service(&before);
        bind_and_pull(&world);
        let mut writes = Vec::new();
        let mut deletes = Vec::new();
        let model = drift(seed, &before, |key, value| match value {
            Some(value) => writes.push(line(key, value)),
            None => deletes.push(key.to_owned()),
        });
        world.write("local.ndjson", &(writes.join("\n") + "\n"));
        world.write("gone.txt", &(deletes.join("\n") + "\n"));
        for args in [
            &[
                "--local",
                "storage",
                "kv",
                "bulk",
                "put",
                "CHAOS",
                "local.ndjson",
            ][..],
            &[
                "--local",
                "storage",
                "kv",
                "bulk",
                "delete",
                "CHAOS",
                "--from-file",
                "gone.txt",
                "--yes",
            ],
        ] {
            world.setup(args);
        }
        assert_eq!(
            compare(&world.local_state(), &model),
            None,
            "local state before the push"
        );
        let (rounds, run) = retry_loop(
            &world,
            |_| world.through_proxy(&["storage", "kv", "push", "--delete", "--yes"]),
            |_| true,
        );
        let wrong = compare(&world.service_state(), &model);
        outcome(seed, &world, rounds, &run, wrong)
    });
}
