//! A resolver for tests that prove a refusal happened before any DNS query.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::guard::{Lookingup, Lookup};

/// A resolver that knows no name and counts how often it was asked: a test builds a [`Guard`]
/// on it (`Guard::with_lookup`) and asserts [`calls`](CountingLookup::calls) stayed 0.
///
/// [`Guard`]: crate::Guard
#[derive(Debug, Default)]
pub struct CountingLookup {
    calls: AtomicUsize,
}

impl CountingLookup {
    /// How many lookups were asked for.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lookup for CountingLookup {
    fn lookup(&self, _host: String) -> Lookingup {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "this resolver knows no names",
            ))
        })
    }
}
