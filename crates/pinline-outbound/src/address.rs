//! Which addresses are on the public internet, and which special-purpose range holds the others.
//!
//! A server that fetches or posts to URLs strangers give must never be tricked into calling
//! itself, the cloud's metadata service or the office network. [`special_range`] names the IANA
//! special-purpose range an address belongs to (so a refusal can say which rule it met);
//! everything it does not name is public.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether an address is on the public internet (in no special-purpose range).
pub fn is_public_address(ip: IpAddr) -> bool {
    special_range(ip).is_none()
}

/// Whether an address is a loopback address (127.0.0.0/8, `::1`, or an IPv4-mapped loopback).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The special-purpose range `ip` belongs to, in words, or `None` for a public address.
///
/// Refused: unspecified, loopback, private (RFC 1918), shared/CGNAT (RFC 6598), link-local,
/// multicast, broadcast, reserved and documentation ranges, benchmarking (RFC 2544), IETF
/// protocol assignments, IPv6 unique-local (RFC 4193), site-local, discard-only, and IPv6 forms
/// that embed an IPv4 address (mapped, compatible, NAT64, 6to4) when the embedded address is
/// itself not public. Teredo is refused outright: its server and client are hidden.
pub fn special_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, _, _) => "this network (0.0.0.0/8)",
        (10, _, _) => "private (10.0.0.0/8)",
        (127, _, _) => "loopback (127.0.0.0/8)",
        (100, 64..=127, _) => "shared address space (100.64.0.0/10)",
        (169, 254, _) => "link-local (169.254.0.0/16)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) => "documentation (192.0.2.0/24)",
        (192, 88, 99) => "6to4 relay anycast (192.88.99.0/24)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (198, 18 | 19, _) => "benchmarking (198.18.0.0/15)",
        (198, 51, 100) => "documentation (198.51.100.0/24)",
        (203, 0, 113) => "documentation (203.0.113.0/24)",
        (224..=239, _, _) => "multicast (224.0.0.0/4)",
        (240..=255, _, _) => "reserved (240.0.0.0/4)",
        _ => return None,
    };
    Some(range)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4 address.
    let embedded =
        |s: &[u16; 8]| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if segments[..6] == [0, 0, 0, 0, 0, 0] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return special_v4(embedded(&segments));
    }
    if segments[0] == 0x2002 {
        // 6to4 carries the IPv4 address in the second and third segments.
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return special_v4(v4);
    }
    let range = if (segments[0] & 0xfe00) == 0xfc00 {
        "unique local (fc00::/7)"
    } else if (segments[0] & 0xffc0) == 0xfe80 {
        "link-local (fe80::/10)"
    } else if (segments[0] & 0xffc0) == 0xfec0 {
        "site-local (fec0::/10)"
    } else if (segments[0] & 0xff00) == 0xff00 {
        "multicast (ff00::/8)"
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        "documentation (2001:db8::/32)"
    } else if segments[0] == 0x2001 && segments[1] == 0 {
        "Teredo (2001::/32)"
    } else if segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] {
        "discard-only (100::/64)"
    } else if segments[0] == 0x3fff && segments[1] < 0x1000 {
        "documentation (3fff::/20)"
    } else {
        return None;
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public_address(text.parse().expect("test addresses parse"))
    }

    #[test]
    fn refuses_non_public_ipv4() {
        for address in [
            "0.0.0.0",
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv4() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.0.1",
            "100.128.0.1",
        ] {
            assert!(public(address), "{address} must be allowed");
        }
    }

    #[test]
    fn refuses_non_public_ipv6() {
        for address in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:0:4136:e378::1",
            "100::1",
            "3fff::1",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv6() {
        for address in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(public(address), "{address} must be allowed");
        }
    }

    #[test]
    fn refusals_name_their_range() {
        let range = |text: &str| special_range(text.parse().expect("parses"));
        assert_eq!(
            range("169.254.169.254"),
            Some("link-local (169.254.0.0/16)")
        );
        assert_eq!(range("::ffff:10.0.0.1"), Some("private (10.0.0.0/8)"));
        assert_eq!(range("::1"), Some("loopback (::1)"));
        assert_eq!(range("8.8.8.8"), None);
    }

    #[test]
    fn loopback_includes_the_mapped_form() {
        for address in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(address.parse().expect("parses")), "{address}");
        }
        for address in ["10.0.0.1", "8.8.8.8", "::2", "fe80::1"] {
            assert!(!is_loopback(address.parse().expect("parses")), "{address}");
        }
    }
}
