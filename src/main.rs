//! `riposte`: the command line. Parses arguments and calls the library; no logic of its own.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use riposte::app::{self, AdminKey};
use riposte::config::FileConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// Counts live heap bytes so a hunting query's memory can be bounded (`hunt::limits`).
#[global_allocator]
static ALLOC: hunt::limits::CountingAlloc = hunt::limits::CountingAlloc;

#[derive(Parser)]
#[command(name = "riposte", version, about = "Response gateway for Microsoft Defender XDR")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything on embedded defaults: sandbox cloud + gateway + console, SQLite.
    Up(UpArgs),
    /// Run the gateway against the clouds in a config file (or the environment).
    Serve(ServeArgs),
    /// Run the emulated Microsoft cloud on its own.
    Sandbox(SandboxArgs),
    /// Print the action catalog.
    Catalog {
        /// Print JSON rows instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Hunt: one KQL query over many tenants, through a running gateway.
    Hunt(riposte::hunt_cli::HuntArgs),
    /// KQL: run queries over local files, check conformance, benchmark.
    #[command(subcommand)]
    Kql(KqlCommand),
    /// Benchmark gateway throughput and added latency against the sandbox.
    Bench(riposte::bench::BenchArgs),
    /// Run one action over many targets as a bulk job, and follow it (progress bar, per-tenant lines, summary).
    Bulk(riposte::jobs_cli::BulkArgs),
    /// List bulk jobs, or show and follow one.
    Jobs(riposte::jobs_cli::JobsArgs),
    /// The permission doctor: per tenant, the actions that would fail for lack of a permission, and the least-privileged fix.
    Doctor(riposte::doctor_cli::DoctorArgs),
    /// Run one action through a running gateway; --dry-run shows the upstream requests without sending them.
    Action(riposte::doctor_cli::ActionArgs),
    /// Actions and bulk jobs held by the approval policy: list, show, approve or reject with a reason.
    Approvals(riposte::approvals_cli::ApprovalsArgs),
    /// The file-hash enrichment scanner (seed 003): run it, query its lookup history, bench it.
    Enrich(riposte::enrich_cli::EnrichArgs),
    /// The hunting archive of the streamed tables: bench, maintenance, listing.
    Archive(riposte::archive_cli::ArchiveArgs),
}

#[derive(Args)]
struct DataArg {
    /// Data directory (SQLite database, sandbox describe file).
    #[arg(long = "data", env = "RIPOSTE_DATA", default_value = "./riposte-data")]
    data: PathBuf,
}

#[derive(Args)]
struct UpArgs {
    #[command(flatten)]
    data: DataArg,
    /// Gateway listen address.
    #[arg(long, env = "RIPOSTE_LISTEN", default_value = "127.0.0.1:7070")]
    listen: String,
    /// Sandbox world seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of sandbox tenants.
    #[arg(long, default_value_t = 3)]
    tenants: usize,
}

#[derive(Args)]
struct ServeArgs {
    /// TOML config file (see docs/configuration in the README); also RIPOSTE_CONFIG.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, env = "RIPOSTE_LISTEN")]
    listen: Option<String>,
    #[arg(long = "data", env = "RIPOSTE_DATA")]
    data: Option<PathBuf>,
}

#[derive(Args)]
struct SandboxArgs {
    #[arg(long, default_value = "127.0.0.1:7080")]
    listen: SocketAddr,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 3)]
    tenants: usize,
    /// Serve HTTPS with a CA and certificate generated at start (for Microsoft's SDKs).
    #[arg(long)]
    tls: bool,
    /// Write the describe file (endpoints, tenants, CA path) here.
    #[arg(long)]
    describe: Option<PathBuf>,
    /// Microsoft's real timings (machine actions take minutes, ARM operations ~30 s). By default
    /// lifecycles finish in seconds, as under `riposte up`.
    #[arg(long)]
    realistic: bool,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; it is printed once and stored hashed.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated tenant ids the key may use (default: all).
        #[arg(long, value_delimiter = ',')]
        tenants: Vec<String>,
        #[arg(long, default_value = "responder", value_parser = ["reader", "responder", "admin"])]
        role: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// List keys (names, roles, scopes; never the keys).
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a key by name (not the last active admin key).
    Revoke {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Give a key a new secret (same name, role and scope); prints it once.
    Rotate {
        /// The key's name, e.g. `admin`.
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit hash chain; exits non-zero if a row was modified or deleted.
    Verify {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Subcommand)]
enum KqlCommand {
    /// Run a query over tables stored as JSON Lines or CSV files (<Table>.jsonl / <Table>.csv).
    Run {
        #[arg(short = 'q', long)]
        query: String,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
        /// Stop the query after this many seconds (as a hunt's deadline).
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
        /// Stop the query once the heap has grown by this many MiB.
        #[arg(long, default_value_t = 512)]
        max_memory_mib: usize,
    },
    /// Check a corpus (parse: N/M) or an oracle file (oracle: K/L).
    Conformance {
        file: PathBuf,
        /// List failing ids with their first error.
        #[arg(long)]
        failures: bool,
    },
    /// Benchmark the hunting engine on generated rows (optionally against DuckDB).
    Bench(riposte::hunt_cli::KqlBenchArgs),
}

fn main() -> anyhow::Result<()> {
    // Hunting's columnar steps reuse freed memory instead of refaulting it (`hunt::eval::parallel`).
    hunt::eval::parallel::retain_freed_memory();
    riposte::install_crypto_provider();
    init_logging();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(run(cli.command))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RIPOSTE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Up(a) => up(a).await,
        Command::Serve(a) => serve(a).await,
        Command::Sandbox(a) => run_sandbox(a).await,
        Command::Catalog { json } => {
            print_catalog(json);
            Ok(())
        }
        Command::Keys(k) => keys(k).await,
        Command::Audit(AuditCommand::Verify { data }) => audit_verify(data).await,
        Command::Hunt(h) => riposte::hunt_cli::hunt(h).await,
        Command::Kql(k) => kql(k),
        Command::Bench(b) => riposte::bench::run(b).await,
        Command::Bulk(b) => riposte::jobs_cli::bulk(b).await,
        Command::Jobs(j) => riposte::jobs_cli::jobs(j).await,
        Command::Approvals(a) => riposte::approvals_cli::run(a).await,
        Command::Doctor(d) => riposte::doctor_cli::doctor(d).await,
        Command::Action(a) => riposte::doctor_cli::action(a).await,
        Command::Enrich(e) => riposte::enrich_cli::run(e).await,
        Command::Archive(a) => riposte::archive_cli::run(a).await,
    }
}

async fn up(a: UpArgs) -> anyhow::Result<()> {
    // Before anything in the directory is touched (sandbox.json, the database).
    let _lock = riposte::data_lock::lock(&a.data.data)?;
    let cfg = sandbox::SandboxConfig { seed: a.seed, tenants: a.tenants, tls: false, realistic: false };
    let sandbox = sandbox::start(cfg, "127.0.0.1:0".parse()?).await.context("starting the sandbox")?;
    std::fs::create_dir_all(&a.data.data)?;
    let describe = a.data.data.join("sandbox.json");
    sandbox.write_describe(&describe)?;
    let mut settings = app::sandbox_settings(&sandbox, a.data.data.clone(), Duration::from_secs(1))?;
    // Analysts signed in to the sandbox's first tenant are callers too (`gateway::oidc`).
    settings.entra = app::sandbox_entra(&sandbox);
    let tenants = settings.tenants.clone();
    let mut gw = app::build(settings).await?;
    riposte::sandbox_clock::follow(&gw.engine, riposte::sandbox_clock::clock_url(sandbox.base_url())).await?;
    let admin = app::ensure_admin_key(gw.engine.store()).await?;
    // The hunting archive of the sandbox's stream (`riposte hunt --archive --from ...`).
    let archived = riposte::archive_cli::start(
        &archive::ArchiveConfig::for_tables(riposte::archive_cli::UP_TABLES),
        &a.data.data,
        &gw.engine,
        riposte::archive_cli::sandbox_source(sandbox.base_url()),
        Duration::from_secs(600),
    )
    .await?;
    // The enrichment scanner against the sandbox's Streaming API and providers (no broker).
    let scanner =
        riposte::enrich_cli::spawn(&enrich::EnrichmentConfig::sandbox(sandbox.base_url()), &gw, tenants).await?;
    gw.router = gw.router.layer(axum::Extension(scanner));
    let (listener, addr) = app::bind(&a.listen).await?;
    println!("Riposte is up.");
    println!("  gateway:  http://{addr}");
    println!("  console:  http://{addr}/");
    println!("  sandbox:  {}  (describe file: {})", sandbox.base_url(), describe.display());
    println!("  tenants:  {}", gw.engine.tenants().ids().collect::<Vec<_>>().join(", "));
    println!("  archive:  {:?} of the sandbox's stream", archived.archive.tables().collect::<Vec<_>>());
    if let Some(first) = gw.engine.tenants().ids().next() {
        println!(
            "  entra:    analysts' tokens from POST {}/_sandbox/users/{first}/token {{\"username\", \"roles\": [\"Riposte.Responder\"]}}",
            sandbox.base_url()
        );
    }
    print_admin_key(&admin);
    println!("Press Ctrl-C to stop.");
    app::serve(gw.router, listener).await
}

fn print_admin_key(admin: &AdminKey) {
    match admin {
        AdminKey::Generated(k) => println!("  admin key: {k}   (shown once; stored hashed)"),
        AdminKey::FromEnv => println!("  admin key: from RIPOSTE_ADMIN_KEY"),
        AdminKey::Existing => {
            println!("  admin key: created on first start and not shown again (set RIPOSTE_ADMIN_KEY to replace it)")
        }
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(a.config.as_deref())?;
    let (clouds, extra_ca_pem) = file.clouds()?;
    let tenants = file.tenants()?;
    if tenants.is_empty() {
        bail!("no tenants configured: add [[tenants]] to the config file or set RIPOSTE_TENANTS");
    }
    let data_dir = a.data.or(file.data.clone()).unwrap_or_else(|| PathBuf::from("./riposte-data"));
    let _lock = riposte::data_lock::lock(&data_dir)?;
    let poll = file.tracker.as_ref().and_then(|t| t.poll_seconds).unwrap_or(5.0);
    let settings = app::GatewaySettings {
        data_dir: data_dir.clone(),
        clouds,
        extra_ca_pem,
        tenants: tenants.clone(),
        poll_interval: Duration::from_secs_f64(poll.max(0.2)),
        unlimited_budgets: false,
        budgets: file.budgets()?,
        library: file.library()?,
        store_url: riposte::store_config::resolve(file.store.as_ref())?,
        entra: file.entra()?,
        approvals_policy: riposte::approvals_cli::policy_path(file.approvals.as_ref()),
        anchor_webhook: riposte::audit_anchor::webhook_url(file.audit.as_ref()),
    };
    let mut gw = app::build(settings).await?;
    if let Some(url) = file.clock.as_ref().and_then(|c| c.follow.clone()) {
        riposte::sandbox_clock::follow(&gw.engine, url).await?;
    }
    let admin = app::ensure_admin_key(gw.engine.store()).await?;
    if let Some(cfg) = &file.enrichment {
        let scanner = riposte::enrich_cli::spawn(cfg, &gw, tenants).await?;
        gw.router = gw.router.layer(axum::Extension(scanner));
        println!("  enrichment scanner running");
    }
    // Kept for the life of the process: dropping it would stop the consumer.
    let _archive = match &file.archive {
        Some(section) => {
            let running = riposte::archive_cli::start_configured(section, &data_dir, &gw.engine).await?;
            println!("  archive consumer running ({} tables)", running.archive.tables().count());
            Some(running)
        }
        None => None,
    };
    let listen = a.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:7070".into());
    let (listener, addr) = app::bind(&listen).await?;
    println!("Riposte gateway on http://{addr}");
    print_admin_key(&admin);
    let limits = file.server.clone().unwrap_or_default();
    riposte::server::serve_until_ctrl_c(gw.router, listener, limits).await
}

async fn run_sandbox(a: SandboxArgs) -> anyhow::Result<()> {
    let cfg = sandbox::SandboxConfig { seed: a.seed, tenants: a.tenants, tls: a.tls, realistic: a.realistic };
    let sandbox = sandbox::start(cfg, a.listen).await?;
    if let Some(path) = &a.describe {
        sandbox.write_describe(path)?;
    }
    println!("Sandbox cloud on {}", sandbox.base_url());
    if let Some(path) = &a.describe {
        println!("  describe file: {}", path.display());
    }
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown();
    Ok(())
}

fn print_catalog(json: bool) {
    let rows: Vec<_> = catalog::all().collect();
    if json {
        let v: Vec<serde_json::Value> = rows.iter().map(|a| a.summary_json()).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!("{:<8} {:<28} {:<12} {:<11} ALIASES", "PRODUCT", "ACTION", "RISK", "STATUS");
    for a in rows {
        let risk = serde_json::to_value(a.risk).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let status = if a.is_supported() { "supported" } else { "unsupported" };
        println!("{:<8} {:<28} {:<12} {:<11} {}", a.product.key(), a.name, risk, status, a.aliases.join(", "));
    }
}

async fn keys(k: KeysCommand) -> anyhow::Result<()> {
    match k {
        KeysCommand::Create { name, tenants, role, data } => {
            let store = app::open_store(&data.data).await?;
            let key = gateway::auth::generate_key();
            let tenants: Vec<String> =
                tenants.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
            store
                .create_key(store::NewKey {
                    name: name.clone(),
                    role: role.clone(),
                    tenants: tenants.clone(),
                    key_hash: gateway::auth::hash_key(&key),
                })
                .await
                .with_context(|| format!("creating key '{name}'"))?;
            store
                .append_audit(store::NewAuditEvent {
                    operation_id: None,
                    kind: store::AuditKind::KeyCreated,
                    principal: "cli".into(),
                    tenant: None,
                    product: None,
                    action: None,
                    params: serde_json::json!({ "name": name, "role": role, "tenants": tenants }),
                    outcome: Some("Succeeded".into()),
                    upstream_request_ids: vec![],
                    duration_ms: None,
                    detail: serde_json::Value::Null,
                })
                .await?;
            println!("{key}");
            eprintln!("key '{name}' ({role}) created; it is shown once and stored hashed");
            Ok(())
        }
        KeysCommand::List { data } => {
            let store = app::open_store(&data.data).await?;
            for k in store.list_keys().await? {
                let scope = if k.tenants.is_empty() { "all tenants".to_string() } else { k.tenants.join(",") };
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{:<24} {:<10} {:<8} {}", k.name, k.role, state, scope);
            }
            Ok(())
        }
        KeysCommand::Revoke { name, data } => {
            let store = app::open_store(&data.data).await?;
            riposte::admin_key::revoke(&store, &name).await?;
            println!("key '{name}' revoked");
            Ok(())
        }
        KeysCommand::Rotate { name, data } => {
            let store = app::open_store(&data.data).await?;
            let key = riposte::admin_key::rotate(&store, &name).await?;
            println!("{key}");
            eprintln!("key '{name}' rotated: the old secret no longer works; the new one is shown once");
            Ok(())
        }
    }
}

async fn audit_verify(data: DataArg) -> anyhow::Result<()> {
    let store = app::open_store(&data.data).await?;
    let report = riposte::audit_anchor::verify(&store, &data.data).await?;
    if report.ok {
        println!("audit chain OK: {} records verified", report.rows);
        Ok(())
    } else {
        for p in &report.problems {
            println!("PROBLEM: {p}");
        }
        bail!("audit chain BROKEN: {} problem(s) in {} records", report.problems.len(), report.rows)
    }
}

fn kql(k: KqlCommand) -> anyhow::Result<()> {
    match k {
        KqlCommand::Run { query, data, format, timeout_secs, max_memory_mib } => {
            let format = match format.as_str() {
                "json" => hunt::table::OutputFormat::Json,
                "csv" => hunt::table::OutputFormat::Csv,
                _ => hunt::table::OutputFormat::Table,
            };
            let timeout = Duration::from_secs(timeout_secs);
            let out = hunt::limits::run_text(&query, &data, format, timeout, max_memory_mib * 1024 * 1024)
                .map_err(|e| anyhow::anyhow!(e))?;
            riposte::hunt_cli::emit(&out);
            Ok(())
        }
        KqlCommand::Conformance { file, failures } => {
            let report = hunt::conformance::run_file(&file, failures).map_err(|e| anyhow::anyhow!(e))?;
            riposte::hunt_cli::emit(&report.to_string());
            Ok(())
        }
        KqlCommand::Bench(b) => riposte::hunt_cli::kql_bench(b),
    }
}
