//! Outbound HTTP from plugins: every request is checked against the plugin's
//! network grant before the pooled client (`outbound.rs`) sends it.

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::outbound::Outbound;

/// The hosts a plugin may reach: those its manifest declares plus the hosts of
/// base URLs the user configured for providers it serves, narrowed by
/// `plugins.entries.<id>.network` when that is set.
#[derive(Debug, Default)]
pub struct NetworkGrant {
    declared: Vec<String>,
    configured: std::sync::RwLock<Vec<String>>,
    narrowed: Option<Vec<String>>,
}

impl NetworkGrant {
    pub fn new(declared: Vec<String>, narrowed: Option<Vec<String>>) -> Self {
        NetworkGrant {
            declared,
            configured: Default::default(),
            narrowed,
        }
    }

    /// Grant a host the user configured as a base URL for a provider this plugin serves.
    pub fn add_configured(&self, host: &str) {
        let mut configured = self.configured.write().unwrap_or_else(|e| e.into_inner());
        if !configured.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            configured.push(host.to_ascii_lowercase());
        }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let matches = |patterns: &[String]| patterns.iter().any(|p| pattern_matches(p, &host));
        let configured = self.configured.read().unwrap_or_else(|e| e.into_inner());
        (matches(&self.declared) || matches(&configured))
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

pub struct GrantHooks {
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

    fn grant(declared: &[&str], narrowed: Option<&[&str]>) -> NetworkGrant {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        NetworkGrant::new(v(declared), narrowed.map(v))
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
        let g = grant(&["api.minimax.io"], None);
        assert!(!g.allows("127.0.0.1"));
        g.add_configured("127.0.0.1");
        assert!(g.allows("127.0.0.1"));
        let g = grant(&["api.minimax.io"], Some(&["api.minimax.io"]));
        g.add_configured("127.0.0.1");
        assert!(!g.allows("127.0.0.1"));
    }

    #[test]
    fn config_only_narrows() {
        let g = grant(&["*.minimax.io"], Some(&["api.minimax.io", "evil.com"]));
        assert!(g.allows("api.minimax.io"));
        assert!(!g.allows("cn.minimax.io"));
        assert!(!g.allows("evil.com"));
    }
}
