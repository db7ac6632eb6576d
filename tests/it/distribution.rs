//! The ways the tool is installed agree with each other: the release workflow builds exactly the
//! targets `scripts/release.sh` lists, the npm wrapper and its optional dependencies cover the
//! same platforms, and every package carries Cargo.toml's version. Building and installing each
//! package is `scripts/dist-test.sh`, which `scripts/test.sh` runs after these tests.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What one of the packaging scripts prints on stdout, which must succeed.
fn script_output(script: &str, args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(root().join(script))
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn release_targets() -> Vec<String> {
    script_output("scripts/release.sh", &["--list-targets"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A target triple in npm's words (`process.platform-process.arch`), as the npm packages are
/// named by `scripts/npm-pack.sh`.
fn npm_platform(target: &str) -> String {
    script_output("scripts/npm-pack.sh", &["--npm-platform", target])
        .trim()
        .to_owned()
}

#[test]
fn npm_names_each_release_target_by_its_platform_and_cpu() {
    let names: Vec<String> = release_targets().iter().map(|t| npm_platform(t)).collect();
    assert_eq!(
        names,
        [
            "linux-x64",
            "linux-arm64",
            "darwin-x64",
            "darwin-arm64",
            "win32-x64"
        ]
    );
}

fn cargo_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[test]
fn the_release_targets_are_the_five_platforms_users_ask_for() {
    assert_eq!(
        release_targets(),
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc",
        ]
    );
}

#[test]
fn the_release_workflow_builds_exactly_the_scripts_targets() {
    let workflow = read(".github/workflows/release.yml");
    let in_matrix: Vec<String> = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- target: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(in_matrix, release_targets());
}

#[test]
fn the_npm_package_depends_on_one_platform_package_per_target_at_the_same_version() {
    let manifest: serde_json::Value =
        serde_json::from_str(&read("npm/telnyx-edge/package.json")).expect("package.json parses");
    assert_eq!(manifest["version"], cargo_version().as_str());
    assert_eq!(manifest["name"], "@telnyx-edge-cli/telnyx-edge");
    assert_eq!(manifest["bin"]["telnyx-edge"], "bin/telnyx-edge.js");
    let optional = manifest["optionalDependencies"]
        .as_object()
        .expect("optionalDependencies");
    let expected: BTreeSet<String> = release_targets()
        .iter()
        .map(|t| format!("@telnyx-edge-cli/telnyx-edge-{}", npm_platform(t)))
        .collect();
    assert_eq!(optional.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (name, version) in optional {
        assert_eq!(version, cargo_version().as_str(), "{name}");
    }
}

#[test]
fn the_npm_wrapper_knows_the_package_of_every_target() {
    let script = read("npm/telnyx-edge/bin/telnyx-edge.js");
    let re = regex::Regex::new(
        r#"(?m)^\s*"([a-z0-9]+-[a-z0-9]+)": `\$\{SCOPE\}/telnyx-edge-([a-z0-9]+-[a-z0-9]+)`,$"#,
    )
    .expect("regex");
    let mut platforms = BTreeSet::new();
    for caps in re.captures_iter(&script) {
        assert_eq!(&caps[1], &caps[2], "a platform maps to its own package");
        platforms.insert(caps[1].to_owned());
    }
    let expected: BTreeSet<String> = release_targets().iter().map(|t| npm_platform(t)).collect();
    assert_eq!(platforms, expected);
}

#[test]
fn the_wheel_carries_the_binary_alone_under_the_crates_name_and_version() {
    let pyproject = read("pyproject.toml");
    let doc: toml_edit::DocumentMut = pyproject.parse().expect("pyproject.toml parses");
    assert_eq!(doc["project"]["name"].as_str(), Some("telnyx-edge"));
    assert_eq!(doc["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    // The version is Cargo.toml's: maturin fills it in.
    let dynamic = doc["project"]["dynamic"].as_array().expect("dynamic");
    assert_eq!(
        dynamic
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>(),
        ["version"]
    );
}

#[test]
fn the_crate_has_the_metadata_a_registry_shows() {
    let doc: toml_edit::DocumentMut = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let package = &doc["package"];
    for field in [
        "description",
        "license",
        "readme",
        "repository",
        "rust-version",
    ] {
        assert!(
            package[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    for field in ["keywords", "categories"] {
        let n = package[field].as_array().map_or(0, |a| a.len());
        assert!(
            (1..=5).contains(&n),
            "{field}: 1 to 5 entries, crates.io's limit"
        );
    }
    assert!(root().join("LICENSE").is_file());
}
