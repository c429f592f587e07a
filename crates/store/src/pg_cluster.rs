//! A private PostgreSQL cluster for tests: `initdb` into a temporary directory and `pg_ctl start`
//! listening only on a Unix socket in that directory, as the current user (as `postgres` when the
//! tests run as root, which `initdb` refuses). Used by the store tests and the e2e tests, so both
//! back ends run the same suites without a shared server.
//!
//! One cluster per test process, started on first use; each caller gets a fresh database in it.
//! A watchdog shell stops the cluster and removes the directory when the test process exits (a
//! test binary never runs destructors of statics).
//!
//! The binaries come from `RIPOSTE_PG_BIN` (the directory holding `initdb` and `pg_ctl`;
//! `scripts/test` exports it) or the newest `/usr/lib/postgresql/*/bin` (Debian's `postgresql`
//! package). Missing binaries are a clear panic, never a skipped test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable naming the directory of `initdb` and `pg_ctl`.
pub const PG_BIN_ENV: &str = "RIPOSTE_PG_BIN";

/// The superuser the cluster is created with (trust authentication on its private socket).
const SUPERUSER: &str = "riposte";

/// A running private cluster.
#[derive(Debug)]
pub struct PgCluster {
    /// Holds the data directory and the socket.
    dir: PathBuf,
}

static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl PgCluster {
    /// The process's cluster, started on first call (a few seconds: `initdb`).
    ///
    /// # Panics
    /// When the PostgreSQL binaries are missing or the cluster does not start, with what to do.
    pub fn shared() -> &'static PgCluster {
        CLUSTER.get_or_init(|| PgCluster::start().unwrap_or_else(|e| panic!("private PostgreSQL cluster: {e}")))
    }

    /// The URL of database `db` in this cluster (over its Unix socket).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@localhost/{db}?host={}", self.dir.join("sock").display())
    }

    /// Creates a fresh, empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::Relaxed));
        let admin = self.url("postgres");
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("connecting to the private cluster at {admin}: {e}"));
        // The name is ours (process id and a counter), never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        let _ = sqlx::Connection::close(conn).await;
        self.url(&name)
    }

    fn start() -> Result<PgCluster, String> {
        let bin = pg_bin()?;
        let as_root = running_as_root();
        let dir = std::env::temp_dir().join(format!("riposte-pg-{}-{}", std::process::id(), unique_suffix()));
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        if as_root {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown the cluster directory")?;
        }
        let data = dir.join("data");
        let mut initdb = cmd(as_root, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "-N"]);
        run(&mut initdb, "initdb")?;
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=300",
            dir.join("sock").display()
        );
        let mut start = cmd(as_root, &bin.join("pg_ctl"));
        start.arg("-D").arg(&data).arg("-l").arg(dir.join("log")).args(["-o", &options, "-w", "-t", "60", "start"]);
        if let Err(e) = run(&mut start, "pg_ctl start") {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!("{e}\nserver log:\n{log}"));
        }
        watch_parent(as_root, &bin, &dir)?;
        Ok(PgCluster { dir })
    }
}

/// `RIPOSTE_PG_BIN`, else the newest Debian install.
fn pg_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(PG_BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            Ok(dir)
        } else {
            Err(format!("{PG_BIN_ENV}={} holds no initdb and pg_ctl", dir.display()))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "PostgreSQL binaries not found: install Debian's `postgresql` package (`scripts/test` does: \
             apt-get install -y postgresql) or set {PG_BIN_ENV} to the directory holding initdb and pg_ctl"
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the current user, or as `postgres` when that is root (`initdb` refuses root).
fn cmd(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(c: &mut Command, what: &str) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{what}: cannot run {:?}: {e}", c.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Stops the cluster and removes its directory once this process is gone.
fn watch_parent(as_root: bool, bin: &Path, dir: &Path) -> Result<(), String> {
    let stop = format!(
        "{}{} -D {} -m immediate stop",
        if as_root { "runuser -u postgres -- " } else { "" },
        bin.join("pg_ctl").display(),
        dir.join("data").display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("starting the cluster's watchdog: {e}"))
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}
