use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use futures::future::BoxFuture;

use super::*;
use crate::ProviderError;
use crate::providers::Limits;

/// Counts calls per hash; answers after a pause so concurrent callers overlap.
struct Counting {
    name: &'static str,
    calls: Arc<Mutex<HashMap<String, usize>>>,
    answer: Result<Status, u16>,
    batches: AtomicUsize,
}

impl Provider for Counting {
    fn name(&self) -> &'static str {
        self.name
    }

    fn batch_size(&self) -> usize {
        100
    }

    fn lookup<'a>(&'a self, hashes: &'a [FileHash]) -> BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, ProviderError>> {
        Box::pin(async move {
            self.batches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            let mut calls = self.calls.lock();
            for h in hashes {
                *calls.entry(h.value.clone()).or_default() += 1;
            }
            match self.answer {
                Ok(status) => Ok(hashes
                    .iter()
                    .map(|h| {
                        let mut v = Verdict::unknown(self.name);
                        v.status = status;
                        (h.clone(), v)
                    })
                    .collect()),
                Err(429) => Err(ProviderError::RateLimited { retry_after: None, quota: true }),
                Err(s) => Err(ProviderError::Auth { status: s }),
            }
        })
    }
}

fn slot(name: &'static str, answer: Result<Status, u16>, calls: &Arc<Mutex<HashMap<String, usize>>>) -> Slot {
    Slot {
        provider: Box::new(Counting { name, calls: calls.clone(), answer, batches: AtomicUsize::new(0) }),
        gate: Gate::new(name, Limits { per_minute: 1000, daily_quota: None }, Duration::ZERO, Duration::from_secs(60)),
    }
}

fn sha1(n: u32) -> FileHash {
    FileHash::new(HashKind::Sha1, &format!("{n:040x}")).expect("hash")
}

#[tokio::test]
async fn concurrent_callers_share_one_lookup_and_the_history_answers_after() {
    let store = Store::in_memory().await.expect("store");
    let calls = Arc::new(Mutex::new(HashMap::new()));
    let l = Arc::new(Lookups::new(store, vec![slot("A", Ok(Status::Malicious), &calls)], Ttls::default()));
    let hashes: Vec<FileHash> = (1..=20).map(sha1).collect();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (l, hashes) = (l.clone(), hashes.clone());
            tokio::spawn(async move { l.verdicts(&hashes).await.expect("verdicts") })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task").len(), 20);
    }
    assert!(calls.lock().values().all(|n| *n == 1), "{:?}", calls.lock());
    assert_eq!(calls.lock().len(), 20);
    // From the history now: no provider call.
    let again = l.verdicts(&hashes).await.expect("again");
    assert_eq!(again[&sha1(3).value].status, Status::Malicious);
    assert!(calls.lock().values().all(|n| *n == 1));
    assert!(l.cache_status().hits >= 20);
}

#[tokio::test]
async fn unknown_asks_the_next_provider_and_an_unavailable_one_is_skipped() {
    let store = Store::in_memory().await.expect("store");
    let calls = Arc::new(Mutex::new(HashMap::new()));
    let chain = vec![
        slot("AtQuota", Err(429), &calls),
        slot("Unknowing", Ok(Status::Unknown), &calls),
        slot("Knowing", Ok(Status::KnownGood), &calls),
    ];
    let l = Lookups::new(store, chain, Ttls::default());
    let v = l.verdicts(&[sha1(1)]).await.expect("verdicts");
    assert_eq!(v[&sha1(1).value].source, "Knowing");
    assert_eq!(v[&sha1(1).value].status, Status::KnownGood);
    let p = l.providers();
    assert_eq!(p[0].condition, "daily quota exhausted");
    // The provider at quota is not asked again while it backs off.
    l.verdicts(&[sha1(2)]).await.expect("verdicts");
    assert_eq!(p[0].throttled, 1);
    assert_eq!(l.providers()[0].throttled, 1);
}

#[tokio::test]
async fn an_unknown_reached_while_degraded_is_marked_and_expires_early() {
    let store = Store::in_memory().await.expect("store");
    let calls = Arc::new(Mutex::new(HashMap::new()));
    let l = Lookups::new(store.clone(), vec![slot("Refusing", Err(401), &calls)], Ttls::default());
    let v = l.verdicts(&[sha1(9)]).await.expect("verdicts");
    let v = &v[&sha1(9).value];
    assert_eq!((v.status, v.source.as_str()), (Status::Unknown, "none"));
    assert_eq!(v.skipped, ["Refusing"]);
    let row = &store.lookups(&[sha1(9).value]).await.expect("row")[0];
    assert!(row.expires_at - row.looked_up_at <= time::Duration::minutes(10));
}
