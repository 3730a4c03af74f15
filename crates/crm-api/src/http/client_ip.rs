//! Who is calling, for the per-IP limits: the TCP peer, or — when the
//! peer is one of our own proxies (`HOTEL_CRM_TRUSTED_PROXIES`) — the
//! address the proxies say they received the request from.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;

/// The client's address. `X-Forwarded-For` is read only from a trusted
/// peer, right to left: each proxy appends whom it heard from, so the
/// first address that is not one of ours is the client (anything to its
/// left was written by the client and proves nothing).
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let ours = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !ours(&peer) {
        return peer.to_string();
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !ours(&ip) {
                    break;
                }
            }
            // Garbage where an address should be: the last proxy we
            // trust is as far as we can see.
            Err(_) => break,
        }
    }
    client.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(peer: &str, forwarded: Option<&str>, trusted: &[&str]) -> String {
        let peer = std::net::SocketAddr::new(peer.parse().unwrap(), 40000);
        let mut req = TestRequest::default().peer_addr(peer);
        if let Some(f) = forwarded {
            req = req.insert_header(("x-forwarded-for", f));
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_ip(&req.to_http_request(), &trusted)
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        assert_eq!(ip("203.0.113.9", Some("198.51.100.1"), &[]), "203.0.113.9");
        assert_eq!(
            ip("203.0.113.9", Some("198.51.100.1"), &["10.0.0.0/8"]),
            "203.0.113.9"
        );
        assert_eq!(
            ip("10.0.0.5", Some("198.51.100.1"), &["10.0.0.0/8"]),
            "198.51.100.1"
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client_whatever_it_claims_before() {
        // The client wrote "1.2.3.4" itself; our two proxies appended the rest.
        assert_eq!(
            ip(
                "10.0.0.5",
                Some("1.2.3.4, 198.51.100.7, 10.0.0.9"),
                &["10.0.0.0/8"]
            ),
            "198.51.100.7"
        );
        // Only proxies: the furthest one is all we know.
        assert_eq!(
            ip("10.0.0.5", Some("10.0.0.8, 10.0.0.9"), &["10.0.0.0/8"]),
            "10.0.0.8"
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(ip("10.0.0.5", None, &["10.0.0.0/8"]), "10.0.0.5");
        assert_eq!(
            ip("10.0.0.5", Some("not-an-ip"), &["10.0.0.0/8"]),
            "10.0.0.5"
        );
        assert_eq!(ip("::1", Some("2001:db8::1"), &["::1/128"]), "2001:db8::1");
    }
}
