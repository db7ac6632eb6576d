//! What a request's `Host` (or `:authority`) names, for the servers on this machine that answer
//! only loopback names (the emulator and the explorer), to defeat DNS rebinding: a web page that
//! points a name of its own at 127.0.0.1 sends that name, and is refused. One check, used by both.

/// The name a `Host` gives, without its port and brackets: `host`, `host:port`, `[v6]` or
/// `[v6]:port`; `None` when it is malformed (a bracket not closed, a port that is not digits,
/// something after the bracket).
pub(crate) fn host_name(host: &str) -> Option<&str> {
    let host = host.trim();
    let digits = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let (inside, tail) = rest.split_once(']')?;
        return match tail.strip_prefix(':') {
            None if tail.is_empty() => Some(inside),
            Some(port) if digits(port) => Some(inside),
            _ => None,
        };
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has colons of its own.
        Some((name, port)) if !name.contains(':') => digits(port).then_some(name),
        _ => Some(host),
    }
}

/// Whether `host` names this machine's loopback: `localhost`, 127.0.0.0/8 or `[::1]` (also as
/// an IPv4-mapped address), with any port.
pub(crate) fn is_loopback(host: &str) -> bool {
    host_name(host).is_some_and(|name| {
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_pass() {
        for host in [
            "localhost",
            "localhost:8787",
            "LOCALHOST:1",
            "127.0.0.1",
            "127.0.0.1:9",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8787",
            "[::ffff:127.0.0.1]:80",
            " localhost ",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8787",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:80",
            "[::2]:80",
            "[::1]x",
            "[::1",
            "localhost:80x",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn names_lose_their_port_and_brackets() {
        assert_eq!(host_name("example.com:8080"), Some("example.com"));
        assert_eq!(host_name("[::1]:80"), Some("::1"));
        assert_eq!(host_name("::1"), Some("::1"));
        assert_eq!(host_name("name"), Some("name"));
        assert_eq!(host_name("[::1]junk"), None);
    }
}
