//! The examples of every command: shown by `--help` (not `-h`), in the man pages' EXAMPLES
//! section and in the generated reference. A test runs the parser over every `telnyx-edge …`
//! line here, so an example cannot name a flag that does not exist.
//!
//! Each text is lines of `# what it does` followed by the command, indented by two spaces.

/// (command path below `telnyx-edge`, examples).
pub(crate) const EXAMPLES: &[(&str, &str)] = &[
    (
        "",
        "  # Create a namespace, wait until it is ready and bind it in func.toml
  telnyx-edge storage kv create --name my-cache --bind
  # Write and read a key
  telnyx-edge storage kv put MY_CACHE greeting hello
  telnyx-edge storage kv get MY_CACHE greeting
  # The same against a local emulator: no account, no network
  telnyx-edge --local storage kv put MY_CACHE greeting hello",
    ),
    (
        "auth",
        "  # Save the key (asked at a hidden prompt), then check that the service accepts it
  telnyx-edge auth api-key set
  telnyx-edge auth status",
    ),
    (
        "auth api-key",
        "  # Save the key, or forget it
  telnyx-edge auth api-key set
  telnyx-edge auth api-key clear",
    ),
    (
        "storage",
        "  # The namespaces, then one's keys
  telnyx-edge storage kv list
  telnyx-edge storage kv key list MY_CACHE",
    ),
    (
        "storage kv",
        "  # Create a namespace and bind it in func.toml as MY_CACHE
  telnyx-edge storage kv create --name my-cache --bind MY_CACHE
  # Write, read and delete a key
  telnyx-edge storage kv put MY_CACHE greeting hello
  telnyx-edge storage kv get MY_CACHE greeting
  telnyx-edge storage kv delete MY_CACHE greeting
  # Many keys from NDJSON, and back up a namespace
  telnyx-edge storage kv bulk put MY_CACHE data.ndjson
  telnyx-edge storage kv export MY_CACHE --output-file backup.ndjson",
    ),
    (
        "storage kv key",
        "  # Keys under a prefix, then one value, its TTL set on write
  telnyx-edge storage kv key list MY_CACHE --prefix user/ -o ids
  telnyx-edge storage kv key put MY_CACHE session/1 token --ttl 30
  telnyx-edge storage kv key get MY_CACHE user/123
  telnyx-edge storage kv key delete MY_CACHE user/123
  # Change a value in an editor, or one field of a JSON value
  telnyx-edge storage kv key edit MY_CACHE config
  telnyx-edge storage kv key patch MY_CACHE user/123 --merge '{\"plan\": \"pro\"}'",
    ),
    (
        "storage kv bulk",
        "  # Write NDJSON lines, keeping what fails to retry
  telnyx-edge storage kv bulk put MY_CACHE data.ndjson --failed-file failed.ndjson
  # Read every key under a prefix, then delete them
  telnyx-edge storage kv bulk get MY_CACHE --prefix user/ --output-file users.ndjson
  telnyx-edge storage kv bulk delete MY_CACHE --prefix user/ --yes",
    ),
    (
        "auth api-key set",
        "  # Type the key at a hidden prompt (it stays out of shell history)
  telnyx-edge auth api-key set
  # From a secret store, on stdin
  pass show telnyx | telnyx-edge auth api-key set
  # Into a named profile
  telnyx-edge --profile staging auth api-key set",
    ),
    (
        "auth api-key clear",
        "  # Forget the saved key
  telnyx-edge auth api-key clear",
    ),
    (
        "auth status",
        "  # Which key is used, from where, and whether the service accepts it
  telnyx-edge auth status
  # As JSON, for a CI check
  telnyx-edge auth status --json",
    ),
    (
        "completions",
        "  # List the shells and the line that installs completion for yours
  telnyx-edge completions
  # Install for bash (into ~/.local/share/bash-completion/completions, or $BASH_COMPLETION_USER_DIR/completions)
  telnyx-edge completions bash --install
  # Print the script, for a package or a dotfile manager
  telnyx-edge completions zsh",
    ),
    (
        "man",
        "  # Read a command's page
  telnyx-edge man storage kv put | man -l -
  # Install every page where man finds them
  telnyx-edge man --dir ~/.local/share/man/man1",
    ),
    (
        "storage kv create",
        "  # Create a namespace and bind it in func.toml as MY_CACHE
  telnyx-edge storage kv create --name my-cache --bind
  # In a script that may run twice: reuse the namespace, print only its id
  telnyx-edge storage kv create --name my-cache --if-not-exists -o ids",
    ),
    (
        "storage kv list",
        "  # Every namespace, as a table
  telnyx-edge storage kv list
  # Only the ids, one per line
  telnyx-edge storage kv list -o ids
  # The names of the namespaces still provisioning
  telnyx-edge storage kv list --jq '.[] | select(.status != \"provision_ok\") | .name'",
    ),
    (
        "storage kv get",
        "  # A namespace's status
  telnyx-edge storage kv get my-cache
  # A key's value, byte for byte, into a file
  telnyx-edge storage kv get MY_CACHE logo.png --output-file logo.png",
    ),
    (
        "storage kv put",
        "  # A text value
  telnyx-edge storage kv put MY_CACHE greeting hello
  # A file, with its content type, expiring in an hour
  telnyx-edge storage kv put MY_CACHE logo.png --path logo.png --content-type image/png --ttl 1h
  # From a pipe
  date | telnyx-edge storage kv put MY_CACHE last-deploy",
    ),
    (
        "storage kv delete",
        "  # A key
  telnyx-edge storage kv delete MY_CACHE greeting
  # A namespace and its keys, in a script, waiting until it is gone
  telnyx-edge --yes storage kv delete my-cache --force --wait --unbind
  # Empty a local mirror: func.toml still binds it, so it comes back empty
  telnyx-edge --local --yes storage kv delete MY_CACHE --force --keep-binding",
    ),
    (
        "storage kv wait",
        "  # After `create --no-wait`: wait until it is ready, at most two minutes
  telnyx-edge storage kv wait my-cache --wait-timeout 2m",
    ),
    (
        "storage kv bind",
        "  # Bind an existing namespace as MY_CACHE
  telnyx-edge storage kv bind my-cache MY_CACHE
  # See the change to func.toml first
  telnyx-edge storage kv bind my-cache MY_CACHE --dry-run",
    ),
    (
        "storage kv unbind",
        "  # Remove the binding (the namespace stays)
  telnyx-edge storage kv unbind MY_CACHE",
    ),
    (
        "storage kv key list",
        "  # Every key under a prefix, one per line
  telnyx-edge storage kv key list MY_CACHE --prefix user/ -o ids
  # One page of 100, then the next from the cursor printed on stderr
  telnyx-edge storage kv key list MY_CACHE --limit 100
  telnyx-edge storage kv key list MY_CACHE --limit 100 --cursor CURSOR
  # The largest keys first, with sizes for people
  telnyx-edge storage kv key list MY_CACHE --long --sort size
  # How the keys group by `/`, with counts and bytes per level
  telnyx-edge storage kv key list MY_CACHE --tree
  # The keys' total size, over every page (a jq expression; no jq install needed)
  telnyx-edge storage kv key list MY_CACHE --jq 'map(.size_bytes) | add'",
    ),
    (
        "storage kv du",
        "  # Keys and bytes per top-level prefix, and the 10 largest keys
  telnyx-edge storage kv du MY_CACHE
  # Two levels under user/, and the 20 largest keys there
  telnyx-edge storage kv du MY_CACHE --prefix user/ --depth 2 --top 20
  # As one JSON document, for a script
  telnyx-edge storage kv du MY_CACHE --json",
    ),
    (
        "storage kv key get",
        "  # Print a value
  telnyx-edge storage kv key get MY_CACHE user/123
  # Into a file (binary values are refused on a terminal)
  telnyx-edge storage kv key get MY_CACHE logo.png --output-file logo.png
  # One field of a JSON value: a dotted path, or a jq expression starting with `.`
  telnyx-edge storage kv key get MY_CACHE config --field db.hosts.0
  telnyx-edge storage kv key get MY_CACHE config --field '.db.hosts | length'",
    ),
    (
        "storage kv key put",
        "  # A value that expires in 30 seconds
  telnyx-edge storage kv key put MY_CACHE session/abc token-value --ttl 30s
  # A JSON file
  telnyx-edge storage kv key put MY_CACHE config --path config.json --content-type application/json",
    ),
    (
        "storage kv key delete",
        "  # A key (deleting one that does not exist succeeds)
  telnyx-edge storage kv key delete MY_CACHE user/123",
    ),
    (
        "storage kv key edit",
        "  # Change a value in $VISUAL or $EDITOR; saved only if it changed and nobody else did
  telnyx-edge storage kv key edit MY_CACHE config
  # With another editor, and a binary value as hex
  VISUAL='code --wait' telnyx-edge storage kv key edit MY_CACHE config
  telnyx-edge storage kv key edit MY_CACHE avatar.png --hex",
    ),
    (
        "storage kv key patch",
        "  # Set one field and remove another (null) in a JSON value
  telnyx-edge storage kv key patch MY_CACHE user/123 --merge '{\"plan\": \"pro\", \"trial\": null}'
  # The patch from a file, against local state
  telnyx-edge --local storage kv key patch MY_CACHE user/123 --merge @patch.json",
    ),
    (
        "storage kv bulk put",
        "  # NDJSON lines of {\"key\", \"value\"}, keeping what fails to retry
  telnyx-edge storage kv bulk put MY_CACHE data.ndjson --failed-file failed.ndjson
  # Retry exactly what was not written
  telnyx-edge storage kv bulk put MY_CACHE failed.ndjson --failed-file failed.ndjson
  # Every file of a directory, keyed by its path
  telnyx-edge storage kv bulk put MY_CACHE --dir ./public",
    ),
    (
        "storage kv bulk get",
        "  # Keys given, as NDJSON on stdout
  telnyx-edge storage kv bulk get MY_CACHE user/1 user/2
  # Every key under a prefix, into a file
  telnyx-edge storage kv bulk get MY_CACHE --prefix user/ --output-file users.ndjson",
    ),
    (
        "storage kv bulk delete",
        "  # See what would go, then delete it
  telnyx-edge storage kv bulk delete MY_CACHE --prefix tmp/ --dry-run
  telnyx-edge storage kv bulk delete MY_CACHE --prefix tmp/ --yes
  # The keys listed in a file
  telnyx-edge storage kv bulk delete MY_CACHE --from-file keys.txt --yes",
    ),
    (
        "storage kv export",
        "  # Back up a namespace
  telnyx-edge storage kv export my-cache --output-file my-cache.ndjson
  # Copy the local emulator's data to the service
  telnyx-edge --local storage kv export MY_CACHE | telnyx-edge storage kv import MY_CACHE",
    ),
    (
        "storage kv import",
        "  # Restore a backup
  telnyx-edge storage kv import my-cache my-cache.ndjson
  # Copy one namespace into another
  telnyx-edge storage kv export old-cache | telnyx-edge storage kv import new-cache",
    ),
    (
        "storage kv pull",
        "  # Copy every namespace func.toml binds into local state
  telnyx-edge storage kv pull
  # One binding, only keys under a prefix, removing local keys the service lacks
  telnyx-edge storage kv pull MY_CACHE --prefix config/ --delete
  # See what a pull would change
  telnyx-edge storage kv pull MY_CACHE --dry-run",
    ),
    (
        "storage kv push",
        "  # See the plan, then confirm it
  telnyx-edge storage kv push MY_CACHE
  # In CI: no terminal to ask on
  telnyx-edge storage kv push MY_CACHE --yes",
    ),
    (
        "storage kv diff",
        "  # Local state against the service
  telnyx-edge storage kv diff remote:MY_CACHE local:MY_CACHE
  # Two namespaces on the service, as JSON
  telnyx-edge --json storage kv diff my-cache my-cache-staging
  # Only the keys, one per line; exit 0 when equal, 1 when they differ
  telnyx-edge -o ids storage kv diff local:MY_CACHE remote:MY_CACHE",
    ),
    (
        "storage kv copy",
        "  # The service's namespace into a local one (a TTL goes with its key when SRC knows it)
  telnyx-edge storage kv copy remote:my-cache local:my-cache-copy
  # Mirror one local namespace into another, deleting DST's extra keys, without asking
  telnyx-edge --local storage kv copy MY_CACHE my-cache-test --delete --yes
  # See what a copy to staging would add, change and delete
  telnyx-edge storage kv copy local:MY_CACHE remote:my-cache-staging --prefix config/ --dry-run",
    ),
    (
        "storage kv ui",
        "  # Browse the service's namespaces (opens the browser)
  telnyx-edge storage kv ui
  # Local state, on a fixed port, without opening a browser
  telnyx-edge --local storage kv ui --port 8788 --no-open",
    ),
    (
        "storage kv serve",
        "  # Serve the emulator for function code on http://127.0.0.1:8787/v2
  telnyx-edge storage kv serve
  # For tests: a free port, nothing on disk, instant provisioning, the address as JSON
  telnyx-edge --json storage kv serve --port 0 --in-memory --provision-delay 0
  # Play a distant, rate-limited service
  telnyx-edge storage kv serve --latency 100ms±20ms --rate-limit 500
  # The explorer is at the URL it prints: Explorer: http://127.0.0.1:8787/?token=…
  telnyx-edge storage kv serve --port 8787
  # In the background: returns once it listens, with the exports in .env (`source .env`)
  telnyx-edge storage kv serve --detach --port 0 --env-file .env
  # Where the background server listens, and stopping it
  telnyx-edge storage kv serve --status
  telnyx-edge storage kv serve --stop",
    ),
];

/// The examples of the command at `path` (`storage kv put`; empty for the top level).
pub(crate) fn of(path: &str) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .find(|(command, _)| *command == path)
        .map(|(_, text)| *text)
}

#[cfg(test)]
/// The command lines of an examples text: each `telnyx-edge …` line, or the `telnyx-edge …`
/// part of a pipeline (`date | telnyx-edge …`), split as a shell would.
pub(crate) fn command_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.split(" | "))
        .map(str::trim)
        .filter(|part| part.starts_with("telnyx-edge "))
        .filter_map(shlex::split)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every leaf command below `cmd`, as its path of names.
    fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        let subs: Vec<&clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push(path.to_owned());
        }
        for sub in subs {
            let sub_path = format!("{path} {}", sub.get_name()).trim().to_owned();
            leaves(sub, &sub_path, out);
        }
    }

    #[test]
    fn every_leaf_command_has_examples_in_its_long_help_only() {
        let mut cmd = crate::cli::command();
        cmd.build();
        let mut paths = Vec::new();
        leaves(&cmd, "", &mut paths);
        assert!(paths.len() > 20, "{paths:?}");
        for path in paths {
            let mut leaf = &cmd;
            for name in path.split(' ') {
                leaf = leaf.find_subcommand(name).expect("subcommand");
            }
            let long = leaf.clone().render_long_help().to_string();
            assert!(
                long.contains("\nExamples:\n  # "),
                "`{path} --help` has no examples"
            );
            let short = leaf.clone().render_help().to_string();
            assert!(!short.contains("Examples:\n"), "`{path} -h` stays short");
            assert!(
                !long.contains("\n      --base-url") && !long.contains("see --help"),
                "`{path} --help` leaves the global options out, and is not sent to itself"
            );
            assert!(
                !short.contains("--base-url"),
                "`{path} -h` leaves the global options out"
            );
            assert!(short.contains("see --help"), "`{path} -h` points to --help");
        }
    }

    #[test]
    fn every_example_parses() {
        let mut count = 0;
        for (path, text) in EXAMPLES {
            let lines = command_lines(text);
            let mut shows_it = path.is_empty();
            for words in lines {
                count += 1;
                if let Err(err) = crate::cli::command().try_get_matches_from(&words) {
                    panic!(
                        "the example `{}` of `{path}` does not parse: {err}",
                        words.join(" ")
                    );
                }
                let named: Vec<&str> = words[1..]
                    .iter()
                    .map(String::as_str)
                    .filter(|w| !w.starts_with('-'))
                    .collect();
                shows_it |= named.join(" ").starts_with(path);
            }
            assert!(shows_it, "no example of `{path}` runs it");
        }
        assert!(count > 40, "{count}");
    }
}
