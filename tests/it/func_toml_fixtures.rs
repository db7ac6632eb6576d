//! `func.toml` edits compared byte for byte with `tests/fixtures/func_toml/<case>/out` (or the
//! expected error in `error`). Each case's `cmd` is `bind BINDING ID [--force]` or
//! `unbind BINDING`. `UPDATE_FIXTURES=1 cargo test` rewrites the expectations; review the diff.

use std::path::Path;

use telnyx_edge::FuncToml;

fn apply(file: &Path, cmd: &str) -> Result<String, String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut toml = FuncToml::load(file).map_err(|err| err.to_string())?;
    match words.as_slice() {
        ["bind", binding, id, rest @ ..] => {
            let force = rest.contains(&"--force");
            toml.bind(binding, id, force)
                .map_err(|err| err.to_string())?;
        }
        ["unbind", binding] => {
            toml.unbind(binding);
        }
        _ => panic!("unknown fixture command {cmd:?}"),
    }
    toml.save().map_err(|err| err.to_string())?;
    std::fs::read_to_string(file).map_err(|err| err.to_string())
}

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/func_toml");
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "fixtures are missing");
    let mut failures = Vec::new();
    for case in cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let input = std::fs::read(case.join("in")).expect("in");
        let cmd = std::fs::read_to_string(case.join("cmd")).expect("cmd");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("func.toml");
        std::fs::write(&file, &input).expect("write");
        let result = apply(&file, cmd.trim());
        let prefix = format!("{}/", dir.path().display());
        let (expected_file, actual) = match &result {
            Ok(text) => ("out", text.clone()),
            Err(err) => ("error", format!("{}\n", err.replace(&prefix, ""))),
        };
        if result.is_err() {
            assert_eq!(
                std::fs::read(&file).expect("read"),
                input,
                "{name}: an error left the file untouched"
            );
        }
        let other = if expected_file == "out" {
            "error"
        } else {
            "out"
        };
        if update {
            std::fs::write(case.join(expected_file), &actual).expect("update");
            let _ = std::fs::remove_file(case.join(other));
            continue;
        }
        match std::fs::read(case.join(expected_file)) {
            Ok(expected) if expected == actual.as_bytes() => {}
            Ok(expected) => failures.push(format!(
                "{name}: {expected_file} differs\n--- expected\n{}\n--- actual\n{actual}",
                String::from_utf8_lossy(&expected)
            )),
            Err(_) => failures.push(format!(
                "{name}: expected `{other}`, got {expected_file}:\n{actual}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
