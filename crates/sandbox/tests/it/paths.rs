//! Paths match case-insensitively, as ASP.NET-hosted Microsoft APIs do, with each route
//! declared once (`paths.rs`).

use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn sub_resources_route_in_any_casing() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machines(&tok).await[0]["id"].as_str().unwrap().to_string();
    for path in [
        format!("/api/machines/{m}/logonusers"),
        format!("/API/Machines/{m}/LogonUsers"),
        format!("/api/MACHINES/{m}/Alerts"),
        format!("/api/machines/{m}/SOFTWARE"),
        "/api/REMEDIATIONTASKS".to_string(),
        "/api/software".to_string(),
    ] {
        let r = e.get(&tok, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
    }
    let r = e.get(&tok, &format!("/api/machines/{m}/nothing")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = e.get(&tok, "/api/machineactions/nope/GETPACKAGEURI").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
}
