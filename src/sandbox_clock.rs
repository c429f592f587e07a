//! Following a sandbox's clock, so schedules (time-boxed actions) fire in sandbox time.
//!
//! The sandbox's clock (`GET /_sandbox/clock`: `offset_seconds` ahead of the wall clock) is
//! moved by tests and demos to jump hours ahead. The engine's [`engine::Clock`] keeps the same
//! offset: `riposte up` follows its own sandbox, `riposte serve` follows `[clock] follow = URL`.
//! Only the offset is read, never anything of Microsoft's, and a sandbox that does not answer
//! leaves the last offset in place.

use std::time::Duration;

/// How often the offset is read: a revert due at a sandbox instant fires within this of it.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

/// Keep `engine`'s clock at the offset of the sandbox clock at `url` (`.../_sandbox/clock`).
/// The first reading is taken before this returns, so schedules made right after it use it.
pub async fn follow(engine: &engine::Engine, url: String) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    read_offset(&http, &url, engine).await?;
    let engine = engine.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FOLLOW_INTERVAL).await;
            if let Err(e) = read_offset(&http, &url, &engine).await {
                tracing::debug!(error = %e, "sandbox clock not read; keeping the last offset");
            }
        }
    });
    Ok(())
}

/// The sandbox clock URL of a sandbox base URL.
pub fn clock_url(sandbox_base: &str) -> String {
    format!("{}/_sandbox/clock", sandbox_base.trim_end_matches('/'))
}

async fn read_offset(http: &reqwest::Client, url: &str, engine: &engine::Engine) -> anyhow::Result<()> {
    let v: serde_json::Value = http.get(url).send().await?.error_for_status()?.json().await?;
    let offset =
        v["offset_seconds"].as_f64().ok_or_else(|| anyhow::anyhow!("{url} answered without offset_seconds"))?;
    engine.clock().set_offset_seconds(offset);
    Ok(())
}
