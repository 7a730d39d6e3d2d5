//! The outbound-fetch policy: which URLs a crawl may fetch, and how redirects are followed.
//!
//! Every fetch a crawl makes (pages, robots.txt, sitemaps) goes through [`OutboundPolicy`], and
//! redirects are never followed by the platform: each hop is a new request that passes the same
//! check, so a public site cannot bounce the crawler to an internal address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

use crate::ports::FetchResponse;

/// What a crawl may fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Loopback, private and special-purpose addresses (a local run, the CLI, tests).
    pub allow_private_hosts: bool,
    /// `file:` URLs: only the native CLI, which indexes local directories.
    pub allow_file_urls: bool,
}

impl OutboundPolicy {
    /// `Err` says why `url` must not be fetched.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "http" | "https" => {}
            "file" if self.allow_file_urls => return Ok(()),
            scheme => return Err(format!("{url}: the {scheme}: scheme is not fetched")),
        }
        if !self.allow_private_hosts && is_private_host(url) {
            return Err(format!("{url}: a private or special-purpose address is not fetched"));
        }
        Ok(())
    }
}

/// Hops a robots.txt request follows before the file counts as unavailable (RFC 9309 §2.3.1.2
/// asks for at least five).
pub const MAX_ROBOTS_REDIRECTS: u32 = 5;

/// Where a redirect response points, resolved against the URL that answered; `None` when the
/// response is not a redirect (or names no usable location).
pub fn redirect_target(from: &Url, response: &FetchResponse) -> Option<Url> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.header("location")?;
    from.join(location.trim()).ok()
}

/// True for hosts a public deployment must never fetch: loopback, private, link-local (cloud
/// metadata lives at 169.254.169.254), shared, documentation, benchmarking, multicast and reserved
/// addresses (the IANA IPv4 and IPv6 special-purpose registries), IPv6 forms that embed one of
/// those (mapped, translated, IPv4-compatible, NAT64, 6to4), and names that only resolve
/// internally. A public name that resolves to a private address cannot be caught here: Workers and
/// Spin expose no DNS lookup (see ARCHITECTURE.md, "Trust boundaries").
pub fn is_private_host(url: &Url) -> bool {
    match url.host() {
        None => url.scheme() != "file",
        Some(url::Host::Ipv4(ip)) => is_special_v4(ip),
        Some(url::Host::Ipv6(ip)) => is_special_v6(ip),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || [".localhost", ".local", ".internal", ".home.arpa", ".lan"]
                    .iter()
                    .any(|s| name.ends_with(s))
                || !name.contains('.')
        }
    }
}

/// True for an address no crawl may reach unless private hosts are allowed.
pub fn is_special_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_special_v4(ip),
        IpAddr::V6(ip) => is_special_v6(ip),
    }
}

fn is_special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network"
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 169 && b == 254) // link local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_special_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = |high: u16, low: u16| {
        is_special_v4(Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8))
    };
    match s {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        [0, 0, 0, 0, 0, 0, _, _] => true,
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, high, low] => embedded(high, low),
        // IPv4-translated ::ffff:0:a.b.c.d
        [0, 0, 0, 0, 0xffff, 0, high, low] => embedded(high, low),
        // NAT64 well-known prefix 64:ff9b::/96 reaches the IPv4 address it embeds
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => embedded(high, low),
        // 6to4 2002:a.b.c.d::/48 likewise
        [0x2002, high, low, ..] => embedded(high, low),
        _ => {
            let first = s[0];
            (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 local use (64:ff9b:1::/48) and the rest
                || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
                || (first == 0x2001 && s[1] < 0x200) // IETF assignments 2001::/23 (Teredo, benchmarking)
                || (first == 0x2001 && s[1] == 0xdb8) // documentation
                || (first & 0xfff0) == 0x3ff0 // documentation 3fff::/20
                || first == 0x5f00 // SRv6 SIDs
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || (first & 0xffc0) == 0xfec0 // site local (deprecated)
                || (first & 0xff00) == 0xff00 // multicast
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_policy_checks_scheme_and_address() {
        let public = OutboundPolicy { allow_private_hosts: false, allow_file_urls: false };
        assert!(public.check(&url("https://docs.example.com/a")).is_ok());
        let refused = public.check(&url("http://169.254.169.254/latest/meta-data/")).unwrap_err();
        assert!(refused.contains("169.254.169.254") && refused.contains("private"), "{refused}");
        assert!(public.check(&url("ftp://docs.example.com/")).unwrap_err().contains("ftp:"));
        assert!(public.check(&url("file:///etc/passwd")).is_err());
        let local = OutboundPolicy { allow_private_hosts: true, allow_file_urls: true };
        assert!(local.check(&url("http://127.0.0.1:8080/")).is_ok());
        assert!(local.check(&url("file:///srv/docs/index.html")).is_ok());
        assert!(local.check(&url("gopher://x.example/")).is_err(), "http(s) and file only");
    }

    #[test]
    fn redirect_targets_resolve_against_the_url_that_answered() {
        let answer = |status: u16, location: Option<&str>| FetchResponse {
            status,
            url: String::new(),
            headers: location
                .map(|l| ("Location".to_string(), l.to_string()))
                .into_iter()
                .collect(),
            body: Vec::new(),
            truncated: false,
        };
        let from = url("https://docs.example.com/robots.txt");
        assert_eq!(
            redirect_target(&from, &answer(301, Some("/moved/robots.txt"))).map(String::from),
            Some("https://docs.example.com/moved/robots.txt".to_string())
        );
        assert_eq!(
            redirect_target(&from, &answer(302, Some("http://169.254.169.254/"))).map(String::from),
            Some("http://169.254.169.254/".to_string()),
            "the target is returned for the policy to judge"
        );
        assert_eq!(redirect_target(&from, &answer(200, Some("/elsewhere"))), None);
        assert_eq!(redirect_target(&from, &answer(307, None)), None);
    }

    #[test]
    fn private_hosts() {
        for private in [
            "http://127.0.0.1:8000/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost/",
            "http://app.localhost/",
            "http://metadata.google.internal/",
            "http://intranet/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            // Other spellings of internal addresses (IPv4-compatible, NAT64, 6to4, IPv4-translated)
            // and the rest of the IANA special-purpose registries.
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[2001:db8::1]/",
            "http://[2001::1]/",
            "http://[100::1]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://198.18.0.1/",
            "http://198.19.255.255/",
            "http://192.0.0.170/",
            "http://192.0.2.1/",
            "http://198.51.100.7/",
            "http://203.0.113.9/",
            "http://224.0.0.1/",
            "http://239.255.255.250/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            // The URL parser reads these as 169.254.169.254 and 127.0.0.1.
            "http://2852039166/",
            "http://0x7f.1/",
        ] {
            assert!(is_private_host(&url(private)), "{private} should be private");
        }
        for public in [
            "https://docs.python.org/3/",
            "http://93.184.216.34/",
            "http://[2606:4700::1111]/",
            "http://[2606:2800:220:1::]/",
            "http://[64:ff9b::5db8:d822]/",
            "http://[2002:5db8:d822::1]/",
            "http://198.20.0.1/",
        ] {
            assert!(!is_private_host(&url(public)), "{public} should be public");
        }
    }
}
