//! What a plugin may reach on the network, decided once when the plugin set is
//! assembled, and the checks of every outbound request against it: the host
//! name and port where the request leaves the plugin (`GrantHooks`), and every
//! address that name resolves to where the connection is made
//! (`outbound::GrantedConnector`, which connects to exactly the addresses it
//! checked, so a name cannot resolve to another address in between).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::outbound::Outbound;

/// The hosts a plugin may reach, immutable once built:
/// - the hosts its manifest declares (shown to the user at install and enable),
///   on ports 443 and 80 unless an entry names its port (`host:8443`),
/// - plus the URLs the user configured for it: the base URLs of the providers
///   it serves and URLs in its own `plugins.entries.<id>.config`, each on its
///   own port,
/// - narrowed by `plugins.entries.<id>.network` when that is set.
///
/// A name reaches only public addresses: loopback, link-local (169.254.169.254
/// included), private, shared (CGNAT) and unspecified addresses only when the
/// user configured that URL, or the address itself is granted.
///
/// A plugin being loaded (describe must not use the network) gets `none()`.
#[derive(Debug, Default)]
pub struct NetworkGrant {
    declared: Vec<Entry>,
    configured: Vec<(String, u16)>,
    narrowed: Option<Vec<Entry>>,
}

/// A host pattern (`api.example.com`, `*.example.com`, `10.0.0.5`, `[::1]`),
/// with a port when one was given.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    host: String,
    port: Option<u16>,
}

impl Entry {
    fn parse(text: &str) -> Entry {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, rest)) => (host.to_string(), rest.strip_prefix(':')),
                None => (v6.to_string(), None),
            },
            None => match text.split_once(':') {
                Some((host, port)) if !port.contains(':') => (host.to_string(), Some(port)),
                _ => (text.clone(), None),
            },
        };
        let port = port.and_then(|p| p.parse().ok());
        Entry { host, port }
    }

    fn matches_host(&self, host: &str) -> bool {
        match self.host.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == self.host,
        }
    }

    /// A declared entry: its own port, else the web's ports.
    fn allows_declared(&self, host: &str, port: u16) -> bool {
        self.matches_host(host) && self.port.map_or(port == 443 || port == 80, |p| p == port)
    }

    /// A narrowing entry: its port when it names one, else any granted port.
    fn allows_narrowed(&self, host: &str, port: u16) -> bool {
        self.matches_host(host) && self.port.is_none_or(|p| p == port)
    }
}

/// Why an address is not public, or `None` when it is.
pub fn special_address(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if first & 0xff00 == 0xff00 {
                Some("multicast")
            } else if v6.segments()[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated): judge the IPv4 inside.
                let [.., a, b] = v6.segments();
                special_v4(Ipv4Addr::from(((a as u32) << 16) | b as u32)).or(Some("reserved"))
            } else {
                None
            }
        }
    }
}

fn special_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = v4.octets();
    if v4.is_loopback() {
        Some("loopback")
    } else if a == 0 {
        Some("unspecified")
    } else if v4.is_link_local() {
        Some("link-local")
    } else if v4.is_private() {
        Some("private")
    } else if a == 100 && b & 0xc0 == 64 {
        Some("shared (CGNAT)")
    } else if v4.is_multicast() || v4.is_broadcast() {
        Some("multicast/broadcast")
    } else {
        None
    }
}

impl NetworkGrant {
    /// No host at all.
    pub fn none() -> NetworkGrant {
        NetworkGrant::default()
    }

    /// `declared`: the manifest's hosts; `configured_urls`: URLs the user wrote
    /// for this plugin (their hosts are granted, on their ports); `narrowed`:
    /// the user's list.
    pub fn new<'a>(
        declared: Vec<String>,
        configured_urls: impl IntoIterator<Item = &'a str>,
        narrowed: Option<Vec<String>>,
    ) -> NetworkGrant {
        let mut configured: Vec<(String, u16)> = Vec::new();
        for url in configured_urls {
            let Some((host, port)) = host_port_of(url) else {
                continue;
            };
            let key = (host.to_ascii_lowercase(), port);
            if !configured.contains(&key) {
                configured.push(key);
            }
        }
        NetworkGrant {
            declared: declared.iter().map(|d| Entry::parse(d)).collect(),
            configured,
            narrowed: narrowed.map(|n| n.iter().map(|e| Entry::parse(e)).collect()),
        }
    }

    /// May the plugin reach `host` at all (on some port)?
    pub fn allows(&self, host: &str) -> bool {
        let host = bare(host);
        let declared = self.declared.iter().any(|e| e.matches_host(&host));
        let configured = self.configured.iter().any(|(h, _)| *h == host);
        (declared || configured)
            && self
                .narrowed
                .as_deref()
                .is_none_or(|n| n.iter().any(|e| e.matches_host(&host)))
    }

    /// May the plugin send a request to `host` on `port`? The addresses the
    /// name resolves to are checked when connecting (`check_address`).
    pub fn check(&self, host: &str, port: u16) -> Result<(), String> {
        let host = bare(host);
        let declared = self.declared.iter().any(|e| e.allows_declared(&host, port));
        let configured = self
            .configured
            .iter()
            .any(|(h, p)| *h == host && *p == port);
        if !declared && !configured {
            let why = if self.allows(&host) {
                "that port is not granted (a declared host means ports 443 and 80; a configured URL grants its own port)"
            } else {
                "the host is not in its network grant (network.hosts in its manifest, or a URL you configured for it)"
            };
            return Err(format!("{} on port {port}: {why}", display_host(&host)));
        }
        if let Some(narrowed) = &self.narrowed
            && !narrowed.iter().any(|e| e.allows_narrowed(&host, port))
        {
            return Err(format!(
                "{} on port {port}: not in plugins.entries.<id>.network, which narrows its grant",
                display_host(&host)
            ));
        }
        Ok(())
    }

    /// May a request for `host:port` (already `check`ed) connect to `addr`, one
    /// of the addresses the name resolved to? Public addresses: yes. Others
    /// only when the user configured a URL with that host and port, or the
    /// address itself is granted (declared or configured).
    pub fn check_address(&self, host: &str, port: u16, addr: IpAddr) -> Result<(), String> {
        let Some(class) = special_address(addr) else {
            return Ok(());
        };
        let host = bare(host);
        let configured = self
            .configured
            .iter()
            .any(|(h, p)| *h == host && *p == port);
        let literal = |h: &str| h.parse::<IpAddr>().is_ok_and(|a| a == addr);
        let address_granted = self
            .declared
            .iter()
            .any(|e| literal(&e.host) && e.allows_declared(&e.host, port))
            || self
                .configured
                .iter()
                .any(|(h, p)| literal(h) && *p == port);
        if configured || address_granted {
            return Ok(());
        }
        Err(format!(
            "{} on port {port} resolves to {}, a {class} address; a plugin reaches such an address only when it is granted explicitly (a provider baseUrl you configure, or the address itself)",
            display_host(&host),
            std::net::SocketAddr::new(addr, port)
        ))
    }
}

fn bare(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

fn display_host(host: &str) -> String {
    match host.parse::<Ipv6Addr>() {
        Ok(_) => format!("[{host}]"),
        Err(_) => host.to_string(),
    }
}

/// The host of an `http(s)://` URL, without port or brackets.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next(),
        None => host.split(':').next(),
    }
    .filter(|h| !h.is_empty())
}

/// The host and port of an `http(s)://` URL (the scheme's port when none is given).
fn host_port_of(url: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let host = host_of(url)?;
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, r)| r),
        None => authority.split_once(':').map_or("", |(_, p)| p),
    };
    let port = match after_host.trim_start_matches(':') {
        "" => default_port(scheme)?,
        p => p.parse().ok()?,
    };
    Some((host, port))
}

pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// What a store's requests were refused, for the call's error (a plugin sees
/// only "denied"; the user is told which host, address and port).
#[derive(Clone, Default)]
pub(crate) struct Denials(Arc<Mutex<Option<String>>>);

impl Denials {
    pub(crate) fn note(&self, detail: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(detail);
    }

    pub(crate) fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub(crate) struct GrantHooks {
    pub(crate) plugin: Arc<str>,
    pub(crate) grant: Arc<NetworkGrant>,
    pub(crate) outbound: Outbound,
    pub(crate) denials: Denials,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

/// The check every outbound request of a plugin passes where it leaves the
/// host (components through `wasi:http`, native plugins through the host
/// table): its host and port against the grant. A refusal is logged and noted
/// in `denials`. (The connector checks every resolved address as well.)
pub(crate) fn admit(
    plugin: &str,
    grant: &NetworkGrant,
    denials: &Denials,
    uri: &http::Uri,
) -> bool {
    let host = uri.host().unwrap_or_default();
    let port = uri
        .port_u16()
        .or_else(|| default_port(uri.scheme_str().unwrap_or("https")));
    let checked = match port {
        Some(port) => grant.check(host, port),
        None => Err(format!("{host}: no port for this scheme")),
    };
    match checked {
        Ok(()) => true,
        Err(why) => {
            tracing::warn!(plugin, host, "outbound request denied: {why}");
            denials.note(format!("claw refused {why}"));
            false
        }
    }
}

impl WasiHttpHooks for GrantHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let request = request.map(crate::drain::swallow_on_drop);
        if !admit(&self.plugin, &self.grant, &self.denials, request.uri()) {
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let host = request.uri().host().unwrap_or_default().to_string();
        tracing::debug!(plugin = &*self.plugin, host, uri = %request.uri().path(), "outbound request");
        let outbound = self.outbound.clone();
        let denials = self.denials.clone();
        Box::new(async move {
            let response = outbound.send(request, options, &denials).await?;
            // The pooled client drives its connections itself.
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn grant(declared: &[&str], narrowed: Option<&[&str]>) -> NetworkGrant {
        NetworkGrant::new(v(declared), [], narrowed.map(v))
    }

    #[test]
    fn exact_and_wildcard_hosts() {
        let g = grant(&["api.example.com", "*.minimax.io", "[::1]"], None);
        assert!(g.allows("api.example.com"));
        assert!(g.allows("API.example.com"));
        assert!(g.allows("api.minimax.io"));
        assert!(g.allows("a.b.minimax.io"));
        assert!(!g.allows("minimax.io"));
        assert!(!g.allows("evilminimax.io"));
        assert!(!g.allows("example.com"));
        assert!(g.allows("[::1]"));
        assert!(!grant(&[], None).allows("api.example.com"));
    }

    #[test]
    fn configured_base_url_hosts_are_granted_unless_narrowed_away() {
        let declared = v(&["api.minimax.io"]);
        assert!(!grant(&["api.minimax.io"], None).allows("127.0.0.1"));
        let url = ["http://127.0.0.1:8080/anthropic"];
        assert!(NetworkGrant::new(declared.clone(), url, None).allows("127.0.0.1"));
        let narrowed = Some(v(&["api.minimax.io"]));
        assert!(!NetworkGrant::new(declared, url, narrowed).allows("127.0.0.1"));
    }

    #[test]
    fn hosts_come_out_of_base_urls() {
        assert_eq!(
            host_of("http://127.0.0.1:8080/anthropic"),
            Some("127.0.0.1")
        );
        assert_eq!(
            host_of("https://api.minimax.io/anthropic"),
            Some("api.minimax.io")
        );
        assert_eq!(host_of("http://[::1]:9/v1"), Some("::1"));
        assert_eq!(host_of(""), None);
    }

    #[test]
    fn config_only_narrows() {
        let g = grant(&["*.minimax.io"], Some(&["api.minimax.io", "evil.com"]));
        assert!(g.allows("api.minimax.io"));
        assert!(!g.allows("cn.minimax.io"));
        assert!(!g.allows("evil.com"));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn address_classes() {
        for (addr, class) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("::1", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("fc00::1", "private (unique local)"),
            ("fd12:3456::1", "private (unique local)"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.254", "shared (CGNAT)"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("255.255.255.255", "multicast/broadcast"),
        ] {
            assert_eq!(special_address(ip(addr)), Some(class), "{addr}");
        }
        for addr in [
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "100.63.255.255",
            "169.255.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(special_address(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn declared_hosts_mean_ports_443_and_80_unless_they_name_one() {
        let g = grant(
            &["api.example.com", "*.minimax.io", "alt.example.com:8443"],
            None,
        );
        assert!(g.check("api.example.com", 443).is_ok());
        assert!(g.check("api.example.com", 80).is_ok());
        let e = g.check("api.example.com", 8080).unwrap_err();
        assert!(
            e.contains("api.example.com on port 8080: that port is not granted"),
            "{e}"
        );
        assert!(g.check("cn.minimax.io", 443).is_ok());
        assert!(g.check("alt.example.com", 8443).is_ok());
        assert!(g.check("alt.example.com", 443).is_err());
        let e = g.check("evil.com", 443).unwrap_err();
        assert!(
            e.contains("evil.com on port 443: the host is not in its network grant"),
            "{e}"
        );
    }

    #[test]
    fn configured_urls_grant_their_own_port() {
        let g = NetworkGrant::new(
            v(&["api.minimax.io"]),
            [
                "http://127.0.0.1:8080/anthropic",
                "https://llm.internal",
                "http://[::1]:9/v1",
            ],
            None,
        );
        assert!(g.check("127.0.0.1", 8080).is_ok());
        assert!(g.check("127.0.0.1", 8081).is_err());
        assert!(g.check("127.0.0.1", 80).is_err());
        assert!(g.check("llm.internal", 443).is_ok());
        assert!(g.check("llm.internal", 80).is_err());
        assert!(g.check("[::1]", 9).is_ok());
        assert!(g.check("::1", 9).is_ok());
        // Narrowing without a port keeps the granted ports; with one, only it.
        let narrowed = NetworkGrant::new(
            v(&["api.minimax.io"]),
            ["http://127.0.0.1:8080/v1"],
            Some(v(&["127.0.0.1:8080"])),
        );
        assert!(narrowed.check("127.0.0.1", 8080).is_ok());
        assert!(narrowed.check("api.minimax.io", 443).is_err());
    }

    #[test]
    fn names_reach_special_addresses_only_when_the_user_configured_them() {
        let declared = grant(
            &["localhost", "metadata.example.com", "api.example.com"],
            None,
        );
        for (host, addr) in [
            ("localhost", "127.0.0.1"),
            ("localhost", "::1"),
            ("metadata.example.com", "169.254.169.254"),
            ("api.example.com", "10.0.0.7"),
            ("api.example.com", "100.100.1.1"),
            ("api.example.com", "0.0.0.0"),
            ("api.example.com", "fd00::7"),
        ] {
            let e = declared.check_address(host, 443, ip(addr)).unwrap_err();
            assert!(
                e.contains(host) && e.contains(":443") && e.contains("address"),
                "{e}"
            );
        }
        assert!(
            declared
                .check_address("api.example.com", 443, ip("93.184.215.14"))
                .is_ok()
        );
        let e = declared
            .check_address("localhost", 443, ip("127.0.0.1"))
            .unwrap_err();
        assert_eq!(
            e,
            "localhost on port 443 resolves to 127.0.0.1:443, a loopback address; a plugin \
             reaches such an address only when it is granted explicitly (a provider baseUrl \
             you configure, or the address itself)"
        );

        // A base URL the user configured reaches whatever its name resolves
        // to, on its own port only.
        let configured = NetworkGrant::new(vec![], ["http://localhost:1234/v1"], None);
        assert!(
            configured
                .check_address("localhost", 1234, ip("127.0.0.1"))
                .is_ok()
        );
        assert!(
            configured
                .check_address("localhost", 1234, ip("::1"))
                .is_ok()
        );
        assert!(
            configured
                .check_address("localhost", 80, ip("127.0.0.1"))
                .is_err()
        );

        // An address granted as itself.
        let literal = grant(&["127.0.0.1", "[::1]:8080"], None);
        assert!(
            literal
                .check_address("127.0.0.1", 443, ip("127.0.0.1"))
                .is_ok()
        );
        assert!(
            literal
                .check_address("127.0.0.1", 8080, ip("127.0.0.1"))
                .is_err()
        );
        assert!(literal.check_address("::1", 8080, ip("::1")).is_ok());
        let by_url = NetworkGrant::new(vec![], ["http://10.0.0.5:11434"], None);
        assert!(
            by_url
                .check_address("10.0.0.5", 11434, ip("10.0.0.5"))
                .is_ok()
        );
    }
}
