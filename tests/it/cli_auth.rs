//! Credentials: `auth api-key set|clear`, `auth status`, precedence, file modes, redaction.

use serde_json::json;
use telnyx_edge::emulator::Config;

use crate::support::api::TOKEN;
use crate::support::cli::{Kv, bare, outcome};
use crate::support::output::shown;

/// An emulator that accepts only `TOKEN`.
fn guarded() -> Kv {
    Kv::with(Config {
        api_key: Some(TOKEN.into()),
        ..Config::in_memory()
    })
}

fn config_path(kv: &Kv) -> std::path::PathBuf {
    kv.path().join(".telnyx-edge/config.toml")
}

#[test]
fn set_writes_a_private_config_file_and_keeps_what_was_there() {
    let kv = guarded();
    let path = config_path(&kv);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let before = "# mine\napi_endpoint = \"http://example.invalid\"  # keep\n\n[tokens]\naccess_token = \"oauth\"\n";
    std::fs::write(&path, before).expect("write");
    let output = bare(kv.home.path())
        .args(["auth", "api-key", "set"])
        .write_stdin(format!("{TOKEN}\n"))
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    assert_eq!(
        stderr,
        format!("Saved the API key KEYt…oken to `{}`\n", path.display())
    );
    assert!(!stderr.contains(TOKEN));
    let after = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        after,
        format!(
            "# mine\napi_endpoint = \"http://example.invalid\"  # keep\napi_key = \"{TOKEN}\"\n\n[tokens]\naccess_token = \"oauth\"\n"
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The saved key (not the OAuth token) is what requests carry now.
    let listed = bare(kv.home.path())
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .args(["--json", "storage", "kv", "list"])
        .output()
        .expect("runs");
    assert_eq!(
        listed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );

    let cleared = bare(kv.home.path())
        .args(["auth", "api-key", "clear"])
        .output()
        .expect("runs");
    assert_eq!(cleared.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
}

#[test]
fn a_new_config_file_and_its_directory_are_private() {
    let kv = Kv::start();
    let output = bare(kv.home.path())
        .args([
            "--profile",
            "ci",
            "auth",
            "api-key",
            "set",
            "KEYprofile-secret-1234",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let path = config_path(&kv);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "[profiles.ci]\napi_key = \"KEYprofile-secret-1234\"\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let dir_mode = std::fs::metadata(path.parent().expect("dir"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn bad_keys_are_refused_and_nothing_is_written() {
    let kv = Kv::start();
    for input in ["", "   \n", "KEY with space"] {
        let output = bare(kv.home.path())
            .args(["auth", "api-key", "set"])
            .write_stdin(input)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{input:?}");
    }
    assert!(!config_path(&kv).exists());
}

#[test]
fn status_names_the_source_masks_the_key_and_checks_it() {
    let kv = guarded();
    let status = kv.json(&["auth", "status"]);
    assert_eq!(
        status,
        json!({"local": false, "base_url": kv.api.base_url(), "source": "the TELNYX_API_KEY environment variable",
               "key": "KEYt…oken", "valid": true})
    );
    let output = kv
        .cmd()
        .env("TELNYX_API_KEY", "KEYwrong-but-long-enough")
        .args(["auth", "status"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(4));
    assert_eq!(
        stdout,
        format!(
            "api       {}\nkey       KEYw…ough\nsource    the TELNYX_API_KEY environment variable\naccepted  no\n",
            kv.api.base_url()
        )
    );
    assert!(!stderr.contains("KEYwrong"), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: the API key from the TELNYX_API_KEY environment variable was not accepted by http://127.0.0.1:[PORT]/v2
      Caused by: The API key is missing or invalid; send `Authorization: Bearer <API key>` (HTTP 401)
      Request id: [id] (quote it to Telnyx support)
    hint: Check the key with `telnyx-edge auth status`; set one with `telnyx-edge auth api-key set` or TELNYX_API_KEY.
    ");
}

#[test]
fn precedence_is_env_then_profile_then_file() {
    let kv = guarded();
    let path = config_path(&kv);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &path,
        format!("api_key = \"KEYfile-key-0000000\"\n[profiles.good]\napi_key = \"{TOKEN}\"\n"),
    )
    .expect("write");
    let run = |env_key: Option<&str>, args: &[&str]| {
        let mut command = bare(kv.home.path());
        command.env("TELNYX_BASE_URL", kv.api.base_url());
        if let Some(key) = env_key {
            command.env("TELNYX_API_KEY", key);
        }
        command
            .args(args)
            .args(["-o", "ids", "storage", "kv", "list"])
            .output()
            .expect("runs")
    };
    // The file's top-level key is wrong for this emulator; the profile's is right.
    assert_eq!(run(None, &[]).status.code(), Some(4));
    assert_eq!(run(None, &["--profile", "good"]).status.code(), Some(0));
    // The environment beats the profile.
    assert_eq!(
        run(Some("KEYenv-wrong-00000"), &["--profile", "good"])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(run(Some(TOKEN), &[]).status.code(), Some(0));
    // TELNYX_PROFILE is the same as --profile.
    let by_env = bare(kv.home.path())
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .env("TELNYX_PROFILE", "good")
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    assert_eq!(by_env.status.code(), Some(0));
    let unknown = run(None, &["--profile", "nope"]);
    let (code, _, stderr) = outcome(&unknown);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(shown(&stderr), @"
    warning: `[TEMP]/.telnyx-edge/config.toml` holds an API key and can be read by other users; run `chmod 600 [TEMP]/.telnyx-edge/config.toml`
    error: no profile `nope` in `[TEMP]/.telnyx-edge/config.toml`: its profiles are good
    hint: Add a `[profiles.NAME]` table, or save a key there with `telnyx-edge --profile NAME auth api-key set`.
    ");
}

#[test]
fn the_config_endpoint_and_oauth_token_are_used_without_flags() {
    let kv = guarded();
    let path = config_path(&kv);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let endpoint = kv.api.base_url().trim_end_matches("/v2").to_owned();
    std::fs::write(
        &path,
        format!("api_endpoint = \"{endpoint}\"\n[tokens]\naccess_token = \"{TOKEN}\"\n"),
    )
    .expect("write");
    let output = bare(kv.home.path())
        .args(["--json", "auth", "status"])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(status["base_url"], kv.api.base_url());
    assert_eq!(
        status["source"],
        format!(
            "the OAuth token (tokens.access_token) in `{}`",
            path.display()
        )
    );
}

#[test]
fn missing_credentials_exit_4_with_a_hint() {
    let kv = Kv::start();
    let output = bare(kv.home.path())
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(4), ""));
    assert_eq!(
        stderr,
        "error: no Telnyx API key\nhint: Set TELNYX_API_KEY, save one with `telnyx-edge auth api-key set`, or use `--local` for the local emulator.\n"
    );
}

#[test]
fn verbose_traces_requests_with_the_key_redacted() {
    let kv = Kv::start();
    let output = kv.run(&["-v", "storage", "kv", "list"]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0));
    assert!(!stderr.contains(TOKEN), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "> GET {}/storage/kvs?page[number]=1&page[size]=250",
            kv.api.base_url()
        )
    );
    assert_eq!(lines[1], "> authorization: Bearer [redacted]");
    assert!(lines[2].starts_with("< HTTP/1.1 200 OK in "), "{stderr}");
    assert!(lines[2].contains("(request id "), "{stderr}");
}
