//! The library against the in-memory and local-filesystem backends.

use super::*;
use std::time::Duration;

fn library(backend: Backend, max: usize) -> Library {
    let links = Links::new(vec![1u8; 32], Duration::from_secs(60)).unwrap();
    Library::open(&LibraryConfig { backend, max_upload_bytes: max }, links).unwrap()
}

fn by(who: &str) -> NewFile {
    NewFile { uploaded_by: who.into(), description: Some("triage".into()), ..NewFile::default() }
}

#[tokio::test]
async fn put_list_read_delete_per_tenant() {
    let lib = library(Backend::Memory, 1024);
    let meta = lib.put("t1", "a.ps1", Bytes::from_static(b"Get-Process"), by("alice")).await.unwrap();
    assert_eq!(meta.size, 11);
    assert_eq!(meta.sha256, hex::encode(Sha256::digest(b"Get-Process")));
    lib.put("t1", "b.ps1", Bytes::from_static(b"x"), by("alice")).await.unwrap();
    lib.put("t2", "c.ps1", Bytes::from_static(b"y"), by("bob")).await.unwrap();

    let names: Vec<String> = lib.list("t1").await.unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["a.ps1", "b.ps1"]);
    assert_eq!(lib.list("t2").await.unwrap().len(), 1);
    assert!(matches!(lib.read("t2", "a.ps1").await, Err(LibraryError::NotFound { .. })));

    let (m, bytes) = lib.read("t1", "a.ps1").await.unwrap();
    assert_eq!(
        (m.uploaded_by.as_str(), m.description.as_deref(), &bytes[..]),
        ("alice", Some("triage"), &b"Get-Process"[..])
    );

    lib.delete("t1", "a.ps1").await.unwrap();
    assert!(matches!(lib.meta("t1", "a.ps1").await, Err(LibraryError::NotFound { .. })));
    assert!(matches!(lib.delete("t1", "a.ps1").await, Err(LibraryError::NotFound { .. })));
    assert_eq!(lib.list("t1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn oversized_and_badly_named_uploads_are_refused() {
    let lib = library(Backend::Memory, 4);
    assert!(matches!(
        lib.put("t", "a.ps1", Bytes::from_static(b"12345"), by("a")).await,
        Err(LibraryError::TooLarge { size: 5, max: 4 })
    ));
    assert!(matches!(
        lib.put("t", "../a.ps1", Bytes::from_static(b"1"), by("a")).await,
        Err(LibraryError::InvalidName { field: "fileName", .. })
    ));
    assert!(lib.list("t").await.unwrap().is_empty());
}

#[tokio::test]
async fn local_files_survive_reopening_and_retrieved_files_are_linkable() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(Backend::Local(dir.path().join("library")), 1024);
    lib.put("t1", "a.ps1", Bytes::from_static(b"abc"), by("alice")).await.unwrap();
    let got =
        lib.put_retrieved("t1", "op-1", r"C:\Logs\Security.evtx", Bytes::from_static(b"EVTX"), "bob").await.unwrap();
    assert_eq!((got.name.as_str(), got.operation.as_deref()), ("Security.evtx", Some("op-1")));
    assert!(dir.path().join("library/tenants/t1/library/a.ps1").is_file());

    let reopened = library(Backend::Local(dir.path().join("library")), 1024);
    assert_eq!(reopened.list("t1").await.unwrap().len(), 1, "retrieved files are not library files");
    let link = reopened.links().sign(&ObjectKey::retrieved("t1", "op-1", "Security.evtx"));
    let key = reopened.links().verify(&link.token).unwrap();
    let (meta, bytes) = reopened.read_key(&key).await.unwrap();
    assert_eq!((meta.size, &bytes[..]), (4, &b"EVTX"[..]));
}
