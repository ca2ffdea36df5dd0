//! What a plugin may reach on the network, decided once when the plugin set is
//! assembled, and the check of every outbound request against it before the
//! pooled client (`outbound.rs`) sends it.

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::outbound::Outbound;

/// The hosts a plugin may reach, immutable once built:
/// - the hosts its manifest declares (shown to the user at install and enable),
/// - plus the hosts of URLs the user configured for it: the base URLs of the
///   providers it serves and URLs in its own `plugins.entries.<id>.config`,
/// - narrowed by `plugins.entries.<id>.network` when that is set.
///
/// A plugin being loaded (describe must not use the network) gets `none()`.
#[derive(Debug, Default)]
pub struct NetworkGrant {
    declared: Vec<String>,
    configured: Vec<String>,
    narrowed: Option<Vec<String>>,
}

impl NetworkGrant {
    /// No host at all.
    pub fn none() -> NetworkGrant {
        NetworkGrant::default()
    }

    /// `declared`: the manifest's hosts; `configured_urls`: URLs the user wrote
    /// for this plugin (their hosts are granted); `narrowed`: the user's list.
    pub fn new<'a>(
        declared: Vec<String>,
        configured_urls: impl IntoIterator<Item = &'a str>,
        narrowed: Option<Vec<String>>,
    ) -> NetworkGrant {
        let mut configured: Vec<String> = Vec::new();
        for host in configured_urls.into_iter().filter_map(host_of) {
            let host = host.to_ascii_lowercase();
            if !configured.contains(&host) {
                configured.push(host);
            }
        }
        NetworkGrant {
            declared,
            configured,
            narrowed,
        }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let matches = |patterns: &[String]| patterns.iter().any(|p| pattern_matches(p, &host));
        (matches(&self.declared) || matches(&self.configured))
            && self.narrowed.as_deref().is_none_or(matches)
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

fn pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => host == pattern,
    }
}

pub(crate) struct GrantHooks {
    pub(crate) plugin: Arc<str>,
    pub(crate) grant: Arc<NetworkGrant>,
    pub(crate) outbound: Outbound,
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

impl WasiHttpHooks for GrantHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let host = request.uri().host().unwrap_or_default().to_string();
        if !self.grant.allows(&host) {
            tracing::warn!(
                plugin = &*self.plugin,
                host,
                "outbound request denied: host not in the plugin's network grant"
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        tracing::debug!(plugin = &*self.plugin, host, uri = %request.uri().path(), "outbound request");
        let outbound = self.outbound.clone();
        Box::new(async move {
            let response = outbound.send(request, options).await?;
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
}
