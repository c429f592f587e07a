//! Shared budget windows (`crate::budget_windows`): two stores on one database (two replicas)
//! admitting calls at once never admit more than a window holds between them, a call is admitted
//! in all its windows or in none, and room comes back when the window has passed.

use std::time::Duration;

use super::{Kind, TestDb};
use crate::{BudgetWindow, Claimant};

fn window(key: &str, count: u32, ms: u64) -> BudgetWindow {
    BudgetWindow { key: key.into(), count, window: Duration::from_millis(ms) }
}

async fn two_replicas_admit_no_more_than_the_window_between_them(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (a, b) = (db.open().await, db.open().await);
    let minute = [window("t1/Mde/20/61000", 20, 61_000)];
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let w = minute.clone();
        tasks.push(tokio::spawn(async move { store.admit_budget_call(&w, Claimant::Bulk).await.unwrap() }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap() {
            None => admitted += 1,
            Some(wait) => assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(61), "{wait:?}"),
        }
    }
    assert_eq!(admitted, 20, "the window admits its count across both replicas");
    // Another tenant's window is its own.
    assert_eq!(b.admit_budget_call(&[window("t2/Mde/20/61000", 20, 61_000)], Claimant::Bulk).await.unwrap(), None);
}

async fn a_call_is_admitted_in_every_window_or_none_and_room_comes_back(kind: Kind) {
    let db = TestDb::new(kind).await;
    let s = db.open().await;
    let (short, long) = (window("t1/Mde/3/400", 3, 400), window("t1/Mde/4/60000", 4, 60_000));
    let both = [short.clone(), long.clone()];
    for _ in 0..3 {
        assert_eq!(s.admit_budget_call(&both, Claimant::Interactive("call-1")).await.unwrap(), None);
    }
    let wait =
        s.admit_budget_call(&both, Claimant::Interactive("call-1")).await.unwrap().expect("the short window is full");
    assert!(wait <= Duration::from_millis(400), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    // The refused call was recorded in neither window: the long one has room for exactly one more.
    assert_eq!(s.admit_budget_call(&both, Claimant::Interactive("call-1")).await.unwrap(), None);
    let wait = s.admit_budget_call(&[long], Claimant::Bulk).await.unwrap().expect("the long window is full");
    assert!(wait > Duration::from_secs(58), "{wait:?}");
    assert_eq!(s.admit_budget_call(&[], Claimant::Bulk).await.unwrap(), None, "no window, no limit");
}

/// Issue 12 §2 across replicas: while an interactive call on one replica waits for a window,
/// another replica's bulk calls are refused the slot it frees; the interactive call gets it, and
/// once it is admitted the bulk calls go on.
async fn an_interactive_call_waiting_on_one_replica_holds_back_the_bulk_calls_of_another(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (a, b) = (db.open().await, db.open().await);
    let w = [window("t1/Mde/3/500", 3, 500)];
    for _ in 0..3 {
        assert_eq!(b.admit_budget_call(&w, Claimant::Bulk).await.unwrap(), None);
    }
    let wait = a.admit_budget_call(&w, Claimant::Interactive("alice-isolate")).await.unwrap().expect("full");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    // The window has room again, but the bulk call on replica b is held back for the waiter.
    let held = b.admit_budget_call(&w, Claimant::Bulk).await.unwrap().expect("a bulk call yields to the waiter");
    assert!(held <= crate::WAITER_SLACK, "{held:?}");
    // Another interactive call is not held back by the first one.
    assert_eq!(a.admit_budget_call(&w, Claimant::Interactive("bob-isolate")).await.unwrap(), None);
    assert_eq!(a.admit_budget_call(&w, Claimant::Interactive("alice-isolate")).await.unwrap(), None);
    // Admitted, alice no longer waits (well before her row would expire): the bulk call takes
    // the window's last free slot.
    assert_eq!(b.admit_budget_call(&w, Claimant::Bulk).await.unwrap(), None);
}

/// A waiter that never comes back (its replica died) holds bulk calls back only until its wait
/// and the slack have passed.
async fn a_waiter_that_never_comes_back_expires(kind: Kind) {
    let db = TestDb::new(kind).await;
    let s = db.open().await;
    let w = [window("t1/Mde/1/300", 1, 300)];
    assert_eq!(s.admit_budget_call(&w, Claimant::Bulk).await.unwrap(), None);
    let wait = s.admit_budget_call(&w, Claimant::Interactive("gone")).await.unwrap().expect("full");
    tokio::time::sleep(wait + crate::WAITER_SLACK + Duration::from_millis(30)).await;
    assert_eq!(s.admit_budget_call(&w, Claimant::Bulk).await.unwrap(), None, "the waiter's row expired");
}

on_both_backends!(
    an_interactive_call_waiting_on_one_replica_holds_back_the_bulk_calls_of_another,
    a_waiter_that_never_comes_back_expires,
    two_replicas_admit_no_more_than_the_window_between_them,
    a_call_is_admitted_in_every_window_or_none_and_room_comes_back,
);
