//! Runs the sandbox until Ctrl-C, for trying it by hand or running `ci/sdk_check.py` before
//! the `riposte sandbox` command exists.
//!
//! cargo run -p sandbox --example serve -- --tls --describe /tmp/d.json --listen 127.0.0.1:0
//! Options: --tls  --realistic  --seed N  --tenants N  --listen ADDR  --describe FILE

use std::net::SocketAddr;
use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cfg = sandbox::SandboxConfig::default();
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut describe: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| anyhow::anyhow!("{name} needs a value"));
        match a.as_str() {
            "--tls" => cfg.tls = true,
            "--realistic" => cfg.realistic = true,
            "--seed" => cfg.seed = value("--seed")?.parse()?,
            "--tenants" => cfg.tenants = value("--tenants")?.parse()?,
            "--listen" => listen = value("--listen")?.parse()?,
            "--describe" => describe = Some(PathBuf::from(value("--describe")?)),
            "-h" | "--help" => {
                println!("serve [--tls] [--realistic] [--seed N] [--tenants N] [--listen ADDR] [--describe FILE]");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument '{other}' (try --help)"),
        }
    }
    let sb = sandbox::start(cfg, listen).await?;
    if let Some(path) = &describe {
        sb.write_describe(path)?;
        eprintln!("describe written to {}", path.display());
    }
    println!("sandbox listening on {}", sb.base_url());
    tokio::signal::ctrl_c().await?;
    sb.shutdown();
    Ok(())
}
