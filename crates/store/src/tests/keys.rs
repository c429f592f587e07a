use super::{Kind, store};
use crate::{NewKey, StoreError};

fn key(name: &str, hash: &str) -> NewKey {
    NewKey {
        name: name.into(),
        role: "operator".into(),
        tenants: vec!["t1".into(), "t2".into()],
        key_hash: hash.into(),
    }
}

async fn create_then_lookup_by_hash(kind: Kind) {
    let s = store(kind).await;
    let created = s.create_key(key("ci", "h1")).await.unwrap();
    let found = s.key_by_hash("h1").await.unwrap().expect("key found");
    assert_eq!(found, created);
    assert_eq!(found.tenants, vec!["t1", "t2"]);
    assert!(s.key_by_hash("nope").await.unwrap().is_none());
}

async fn duplicate_active_name_is_conflict(kind: Kind) {
    let s = store(kind).await;
    s.create_key(key("ci", "h1")).await.unwrap();
    let err = s.create_key(key("ci", "h2")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ci")), "{err:?}");
    let err = s.create_key(key("other", "h1")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("hash")), "{err:?}");
}

async fn revoked_key_is_invisible_to_lookup_but_listed(kind: Kind) {
    let s = store(kind).await;
    s.create_key(key("ci", "h1")).await.unwrap();
    assert!(s.revoke_key("ci").await.unwrap());
    assert!(!s.revoke_key("ci").await.unwrap(), "second revoke is a no-op");
    assert!(!s.revoke_key("ghost").await.unwrap());
    assert!(s.key_by_hash("h1").await.unwrap().is_none());
    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked_at.is_some());
}

async fn revoked_name_can_be_reused_for_rotation(kind: Kind) {
    let s = store(kind).await;
    s.create_key(key("ci", "h1")).await.unwrap();
    s.revoke_key("ci").await.unwrap();
    let rotated = s.create_key(key("ci", "h2")).await.unwrap();
    assert_eq!(s.key_by_hash("h2").await.unwrap().map(|k| k.id), Some(rotated.id));
    assert_eq!(s.list_keys().await.unwrap().len(), 2);
}

async fn empty_tenants_round_trip(kind: Kind) {
    let s = store(kind).await;
    let mut k = key("admin", "h9");
    k.tenants.clear();
    s.create_key(k).await.unwrap();
    assert!(s.key_by_hash("h9").await.unwrap().unwrap().tenants.is_empty());
}

async fn list_keys_never_exposes_hash(kind: Kind) {
    let s = store(kind).await;
    s.create_key(key("ci", "secret-hash-value")).await.unwrap();
    let json = serde_json::to_string(&s.list_keys().await.unwrap()).unwrap();
    assert!(!json.contains("secret-hash-value"), "{json}");
}

async fn settings_insert_and_replace(kind: Kind) {
    let s = store(kind).await;
    assert_eq!(s.get_setting("admin_key_hash").await.unwrap(), None);
    s.set_setting("admin_key_hash", "a").await.unwrap();
    s.set_setting("admin_key_hash", "b").await.unwrap();
    assert_eq!(s.get_setting("admin_key_hash").await.unwrap().as_deref(), Some("b"));
}

on_both_backends!(
    create_then_lookup_by_hash,
    duplicate_active_name_is_conflict,
    revoked_key_is_invisible_to_lookup_but_listed,
    revoked_name_can_be_reused_for_rotation,
    empty_tenants_round_trip,
    list_keys_never_exposes_hash,
    settings_insert_and_replace,
);
