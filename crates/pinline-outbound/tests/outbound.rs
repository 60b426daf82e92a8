//! The guard against real loopback servers and resolvers that count, lie or rebind.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use pinline_outbound::{Destination, Guard, Lookingup, Lookup, OutboundError, Reach};
use url::Url;

/// A resolver that answers from a table and counts its calls; a host may have a different
/// answer for each call (the last one repeats), as a rebinding attacker's DNS server would.
#[derive(Debug, Default)]
struct TableLookup {
    answers: HashMap<String, Vec<Vec<IpAddr>>>,
    calls: AtomicUsize,
    local: bool,
}

impl TableLookup {
    fn answering(host: &str, answers: &[&[&str]], local: bool) -> Arc<TableLookup> {
        let answers = answers
            .iter()
            .map(|set| set.iter().map(|a| a.parse().expect("address")).collect())
            .collect();
        Arc::new(TableLookup {
            answers: HashMap::from([(host.to_owned(), answers)]),
            calls: AtomicUsize::new(0),
            local,
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lookup for TableLookup {
    fn lookup(&self, host: String) -> Lookingup {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self.answers.get(&host).map(|sets| {
            let index = call.min(sets.len() - 1);
            sets[index].clone()
        });
        Box::pin(async move {
            answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
        })
    }

    fn answers_locally(&self) -> bool {
        self.local
    }
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("test URLs parse")
}

/// A loopback server that counts the requests it gets.
async fn counting_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, hits)
}

#[tokio::test]
async fn loopback_reach_refuses_a_public_name_before_any_lookup() {
    let lookup = TableLookup::answering("example.com", &[&["93.184.215.14"]], false);
    let refused = Arc::new(AtomicU64::new(0));
    let guard = Guard::new("webhook delivery", true)
        .with_lookup(lookup.clone())
        .loopback_only_counting_in(refused.clone());
    assert_eq!(guard.reach(), Reach::LoopbackOnly);

    for target in [
        "https://example.com/hooks/pinline",
        "http://example.com:8080/",
    ] {
        let error = guard.resolve(&url(target)).await.expect_err(target);
        assert_eq!(
            error,
            OutboundError::BeyondLoopback {
                host: "example.com".to_owned()
            }
        );
        assert!(error.is_refusal());
    }
    // A public literal is refused as well, and neither asked the resolver anything.
    let error = guard
        .resolve(&url("http://93.184.215.14/"))
        .await
        .expect_err("a public literal");
    assert!(matches!(error, OutboundError::BeyondLoopback { .. }));
    assert_eq!(lookup.calls(), 0, "no DNS query for a refused host");
    assert_eq!(
        refused.load(Ordering::SeqCst),
        3,
        "every refusal is counted"
    );

    // Through an HTTP client built on the guard, the same: nothing is sent, nothing resolved.
    let client = guard.client_builder().build().expect("client");
    let error = client
        .get("https://example.com/hooks/pinline")
        .send()
        .await
        .expect_err("refused");
    assert!(matches!(
        OutboundError::in_request_error(&error),
        Some(OutboundError::BeyondLoopback { .. })
    ));
    assert_eq!(lookup.calls(), 0);
}

#[tokio::test]
async fn loopback_reach_with_private_targets_reaches_loopback_servers() {
    let (address, hits) = counting_server().await;
    let refused = Arc::new(AtomicU64::new(0));
    let guard = Guard::new("webhook delivery", true).loopback_only_counting_in(refused.clone());
    let client = guard.client_builder().build().expect("client");
    for target in [
        format!("http://{address}/hook"),
        format!("http://localhost:{}/hook", address.port()),
    ] {
        guard.check_url(&url(&target)).expect("loopback passes");
        let response = client.get(&target).send().await.expect(&target);
        assert!(response.status().is_success());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(refused.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn loopback_is_private_unless_private_targets_are_allowed() {
    let guard = Guard::new("webhook delivery", false)
        .loopback_only_counting_in(Arc::new(AtomicU64::new(0)));
    for target in [
        "http://127.0.0.1:9/",
        "http://[::1]:9/",
        "http://localhost:9/",
    ] {
        let error = guard.check_url(&url(target)).expect_err(target);
        assert!(
            matches!(error, OutboundError::NonPublic { .. }),
            "{target}: {error:?}"
        );
    }
}

#[tokio::test]
async fn reserved_names_never_resolve_and_are_no_refusal() {
    let lookup = TableLookup::answering("hook.invalid", &[&["127.0.0.1"]], false);
    let refused = Arc::new(AtomicU64::new(0));
    let guard = Guard::new("webhook delivery", true)
        .with_lookup(lookup.clone())
        .loopback_only_counting_in(refused.clone());
    let error = guard
        .resolve(&url("https://hook.invalid/pinline"))
        .await
        .expect_err("reserved");
    assert!(matches!(error, OutboundError::ReservedName { .. }));
    assert!(!error.is_refusal());
    assert_eq!(lookup.calls(), 0);
    assert_eq!(refused.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn every_resolved_address_is_checked() {
    // One public and one private address: the private one is enough to refuse.
    let lookup = TableLookup::answering("mixed.test", &[&["93.184.215.14", "10.0.0.7"]], true);
    let guard = Guard::new("draft fetch", false).with_lookup(lookup.clone());
    let error = guard
        .resolve(&url("https://mixed.test/page"))
        .await
        .expect_err("mixed answers");
    match error {
        OutboundError::NonPublic { address, range, .. } => {
            assert_eq!(address.to_string(), "10.0.0.7");
            assert_eq!(range, "private (10.0.0.0/8)");
        }
        other => panic!("expected NonPublic, got {other:?}"),
    }
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fd00::1]/",
    ] {
        assert!(
            matches!(
                guard.check_url(&url(target)),
                Err(OutboundError::NonPublic { .. })
            ),
            "{target} must be refused"
        );
    }
}

#[tokio::test]
async fn a_name_that_resolves_inward_at_connect_time_gets_nothing() {
    // What DNS rebinding exploits: the name passed when the URL was checked (no query is made
    // then), and by the time of the request it answers the loopback server. The client resolves
    // through the guard, so the address is checked at connect time and nothing is sent.
    let (address, hits) = counting_server().await;
    let lookup = TableLookup::answering("rebind.test", &[&["127.0.0.1"]], true);
    let guard = Guard::new("webhook delivery", false).with_lookup(lookup.clone());
    let target = format!("http://rebind.test:{}/hook", address.port());
    assert!(matches!(
        guard.check_url(&url(&target)),
        Ok(Destination::Name(_))
    ));
    let client = guard.client_builder().build().expect("client");
    let error = client.post(&target).send().await.expect_err("rebound");
    assert!(
        matches!(
            OutboundError::in_request_error(&error),
            Some(OutboundError::NonPublic { .. })
        ),
        "{error:?}"
    );
    assert_eq!(lookup.calls(), 1, "resolved at connect time");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the server");
}

#[tokio::test]
async fn connections_go_to_the_checked_addresses_only() {
    // With private targets allowed, a name the guard resolves to the loopback server is reached
    // there: the client asks no other resolver.
    let (address, hits) = counting_server().await;
    let lookup = TableLookup::answering("receiver.test", &[&["127.0.0.1"]], true);
    let guard = Guard::new("webhook delivery", true).with_lookup(lookup.clone());
    let client = guard.client_builder().build().expect("client");
    let response = client
        .get(format!("http://receiver.test:{}/", address.port()))
        .send()
        .await
        .expect("reached");
    assert!(response.status().is_success());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(lookup.calls(), 1);
}

#[test]
fn only_http_and_https_are_spoken() {
    let guard = Guard::new("draft fetch", true);
    for bad in ["ftp://example.com/", "file:///etc/passwd", "gopher://x/"] {
        assert!(
            matches!(
                guard.check_url(&url(bad)),
                Err(OutboundError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
}
