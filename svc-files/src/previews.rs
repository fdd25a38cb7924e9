//! Link previews, fetched without letting a message make the server reach
//! what it must not (SSRF).
//!
//! Each URL is parsed once (the WHATWG parser turns decimal, hex and octal
//! IPv4 spellings into addresses), its host resolved once, and every address
//! checked: loopback, private, link-local, CGNAT, multicast, documentation,
//! benchmarking and other special-use ranges of IPv4 and IPv6 (including
//! IPv4-mapped, NAT64, 6to4 and Teredo) are refused unless the host is on
//! the configured allow-list (tests only). The connection goes to the
//! checked address and nowhere else (`resolve`), without proxies; redirects
//! are followed by hand (at most three, each checked the same way), only
//! http and https on ports 80 and 443, with short timeouts, HTML only, and
//! at most 1 MB read.

use std::net::{IpAddr, SocketAddr};

use ocomms_runtime::net::is_public;
use std::time::Duration;

use futures_util::StreamExt;
use url::{Host, Url};

const MAX_BYTES: usize = 1024 * 1024;
const MAX_REDIRECTS: usize = 3;

/// What a page says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub site_name: Option<String>,
}

/// Fetches previews under the rules above.
#[derive(Clone)]
pub struct Fetcher {
    /// Hosts allowed despite resolving to special-use addresses (tests).
    pub allowed_hosts: Vec<String>,
    pub timeout: Duration,
}

impl Fetcher {
    /// The preview of `raw`, or `None` when the page is not fetchable or
    /// not HTML. Errors are reasons worth logging, never retried.
    pub async fn fetch(&self, raw: &str) -> anyhow::Result<Option<Preview>> {
        let mut url = Url::parse(raw)?;
        for _ in 0..=MAX_REDIRECTS {
            let (host, addr) = self.check(&url).await?;
            let mut builder = reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(3))
                .timeout(self.timeout)
                .user_agent("OComms-LinkPreview/1.0");
            if let Some(domain) = host {
                // Connect to the address that was checked, never resolve again.
                builder = builder.resolve(&domain, addr);
            }
            let client = builder.build()?;
            let resp = client.get(url.clone()).header(reqwest::header::ACCEPT, "text/html").send().await?;
            if resp.status().is_redirection() {
                let Some(location) = resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()) else {
                    return Ok(None);
                };
                url = url.join(location)?;
                continue;
            }
            if !resp.status().is_success() {
                return Ok(None);
            }
            let html = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/html"));
            if !html {
                return Ok(None);
            }
            let mut body = Vec::new();
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                let room = MAX_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_BYTES {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&body);
            return Ok(Some(parse(raw, &url, &text)));
        }
        Ok(None)
    }

    /// The URL's domain (to pin) and the one address to connect to, or why not.
    async fn check(&self, url: &Url) -> anyhow::Result<(Option<String>, SocketAddr)> {
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "only http and https");
        anyhow::ensure!(url.username().is_empty() && url.password().is_none(), "no credentials in URLs");
        let host = url.host().ok_or_else(|| anyhow::anyhow!("no host"))?;
        // An allowed host (tests, closed networks) may also use any port.
        let allowed = url.host_str().is_some_and(|h| self.allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
        let port = url.port_or_known_default().unwrap_or(0);
        anyhow::ensure!(allowed || port == 80 || port == 443, "only ports 80 and 443");
        let (domain, addrs): (Option<String>, Vec<SocketAddr>) = match host {
            Host::Ipv4(ip) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
            Host::Ipv6(ip) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
            Host::Domain(d) => {
                let found: Vec<SocketAddr> =
                    tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((d, port))).await??.collect();
                (Some(d.to_owned()), found)
            }
        };
        anyhow::ensure!(!addrs.is_empty(), "the host has no address");
        // Every address must be public: a name that also resolves to an
        // internal one is refused, whichever a client would pick.
        if !allowed && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            anyhow::bail!("refusing {}: it resolves to {}", url.host_str().unwrap_or_default(), bad.ip());
        }
        Ok((domain, addrs[0]))
    }
}

/// Open Graph, then Twitter cards, then `<title>` and `<meta name=description>`.
pub fn parse(original: &str, final_url: &Url, html: &str) -> Preview {
    let doc = scraper::Html::parse_document(html);
    let meta = |attr: &str, key: &str| -> Option<String> {
        let sel = scraper::Selector::parse(&format!("meta[{attr}=\"{key}\"]")).ok()?;
        doc.select(&sel).find_map(|e| e.value().attr("content")).map(clean).filter(|s| !s.is_empty())
    };
    let title_tag = scraper::Selector::parse("title")
        .ok()
        .and_then(|sel| doc.select(&sel).next().map(|t| clean(&t.text().collect::<String>())))
        .filter(|s| !s.is_empty());
    let image = meta("property", "og:image").or_else(|| meta("name", "twitter:image"));
    Preview {
        url: original.to_owned(),
        title: meta("property", "og:title").or_else(|| meta("name", "twitter:title")).or(title_tag),
        description: meta("property", "og:description")
            .or_else(|| meta("name", "twitter:description"))
            .or_else(|| meta("name", "description")),
        // Relative images resolve against the page; only http(s) is kept.
        image_url: image.and_then(|i| final_url.join(&i).ok()).filter(|u| matches!(u.scheme(), "http" | "https")).map(String::from),
        site_name: meta("property", "og:site_name").or_else(|| final_url.host_str().map(str::to_owned)),
    }
}

/// Whitespace collapsed, at most 500 characters.
fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn special_use_addresses_are_refused() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "64:ff9b:1::5db8:d70e",
            "::ffff:0:7f00:1",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(bad)), "{bad} must be refused");
        }
        for good in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14", "64:ff9b::5db8:d70e"] {
            assert!(is_public(ip(good)), "{good} is public");
        }
    }

    #[tokio::test]
    async fn other_spellings_of_loopback_and_bad_urls_are_refused() {
        let f = Fetcher { allowed_hosts: Vec::new(), timeout: Duration::from_secs(2) };
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost/",
            "ftp://example.com/",
            "http://example.com:8080/",
            "http://user:pass@example.com/",
            "file:///etc/passwd",
        ] {
            assert!(f.fetch(url).await.is_err(), "{url} must be refused");
        }
    }

    #[test]
    fn open_graph_then_twitter_then_title() {
        let page = r#"<html><head><title> Plain   title </title>
            <meta property="og:title" content="OG title"><meta name="twitter:description" content="From twitter">
            <meta property="og:image" content="/img/cover.png"><meta property="og:site_name" content="Example">
            </head><body><script>alert(1)</script></body></html>"#;
        let base = Url::parse("https://example.com/post/1").expect("url");
        let p = parse("https://example.com/post/1", &base, page);
        assert_eq!(p.title.as_deref(), Some("OG title"));
        assert_eq!(p.description.as_deref(), Some("From twitter"));
        assert_eq!(p.image_url.as_deref(), Some("https://example.com/img/cover.png"));
        assert_eq!(p.site_name.as_deref(), Some("Example"));
        let bare =
            parse("https://example.com/", &base, "<title>Only a title</title><meta property=og:image content='javascript:alert(1)'>");
        assert_eq!(bare.title.as_deref(), Some("Only a title"));
        assert_eq!(bare.image_url, None);
        assert_eq!(bare.site_name.as_deref(), Some("example.com"));
    }
}
