//! Live response (upstream-apis.md §2.6): `POST /api/machines/{id}/runliveresponse` creates a
//! MachineAction of type `LiveResponse` whose `commands` run one after another on the sandbox
//! clock; `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)` hands out a
//! signed, 30-minute link to a command's result, served under `/_sandbox/blobs/liveresponse`.
//!
//! The story of a session:
//! 1. validate the body (case-sensitive keys, documented command order PutFile → RunScript →
//!    GetFile), then the limits: 10 calls/min, 25 concurrent sessions per tenant (429), one
//!    session per machine (400 `ActiveRequestAlreadyExists`);
//! 2. Pending until the device picks it up (offline devices never do: TimeOut after 3 days);
//! 3. InProgress: each command takes its share of `action_run_seconds` and is executed when it
//!    ends, against the device model below and the tenant's library. A failed command stops the
//!    session (documented: "when a live response command fails all the subsequent actions won't
//!    be executed") and the action ends Failed;
//! 4. Succeeded when the last command completed.
//!
//! The device model is deliberately small but honest: seeded processes, registry values and
//! files per machine, changed by the helper scripts (`KillProcess`, `SetRegistryValue`, ...) and
//! by `PutFile`, and visible in `/_sandbox/state/{tenant}` under each machine's `liveResponse`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::library;
use super::{
    ActionKind, ActionStatus, MachineAction, Plan, action_entity, action_not_found, context, endpoint_quota, forbidden,
    invalid_body, machine_not_found, parse_body, plan_timings, with_tenant,
};
use crate::auth::Caller;
use crate::clock::{fmt_mde, fmt_utc};
use crate::errors;
use crate::query::Params;
use crate::state::AppState;
use crate::world::{Machine, Tenant};

/// Documented: a result link "is valid for 30 minutes".
const LINK_MINUTES: i64 = 30;

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandType {
    PutFile,
    RunScript,
    GetFile,
}

impl CommandType {
    fn parse(s: &str) -> Option<CommandType> {
        match s {
            "PutFile" => Some(CommandType::PutFile),
            "RunScript" => Some(CommandType::RunScript),
            "GetFile" => Some(CommandType::GetFile),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CommandType::PutFile => "PutFile",
            CommandType::RunScript => "RunScript",
            CommandType::GetFile => "GetFile",
        }
    }

    /// (required, optional) parameter keys, as documented.
    fn keys(self) -> (&'static str, &'static [&'static str]) {
        match self {
            CommandType::PutFile => ("FileName", &[]),
            CommandType::RunScript => ("ScriptName", &["Args"]),
            CommandType::GetFile => ("Path", &[]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandStatus {
    Created,
    Completed,
    Failed,
}

impl CommandStatus {
    fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Created => "Created",
            CommandStatus::Completed => "Completed",
            CommandStatus::Failed => "Failed",
        }
    }
}

/// A command's downloadable result: the RunScript transcript or the collected file.
#[derive(Clone, Debug)]
pub struct Output {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

#[derive(Clone, Debug)]
pub struct Command {
    pub index: usize,
    pub kind: CommandType,
    /// The params exactly as sent (documented order and spelling are echoed back).
    pub params: Vec<(String, String)>,
    pub status: CommandStatus,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    pub errors: Vec<String>,
    pub output: Option<Output>,
    due_start: OffsetDateTime,
    due_end: OffsetDateTime,
}

impl Command {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn to_json(&self) -> Value {
        json!({
            "index": self.index,
            "startTime": self.start_time.map(fmt_mde),
            "endTime": self.end_time.map(fmt_mde),
            "commandStatus": self.status.as_str(),
            "errors": self.errors,
            "command": {
                "type": self.kind.name(),
                "params": self.params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            },
        })
    }
}

/// The `commands` array of a MachineAction (empty for other action types).
pub fn commands_json(commands: &[Command]) -> Value {
    Value::Array(commands.iter().map(Command::to_json).collect())
}

// ---------------------------------------------------------------------------------------------
// The device model
// ---------------------------------------------------------------------------------------------

/// What live response changed on one machine (the seeded baseline is computed, not stored).
#[derive(Clone, Debug, Default)]
pub struct DeviceState {
    /// Process ids stopped by KillProcess.
    pub killed: Vec<u32>,
    /// Registry writes: (key, value name) → data, `None` = deleted.
    pub registry: BTreeMap<(String, String), Option<String>>,
    /// Files placed by PutFile: path → content.
    pub files: BTreeMap<String, Bytes>,
}

fn seeded_processes(m: &Machine) -> Vec<(u32, &'static str)> {
    if m.is_windows() {
        let mut p = vec![
            (4, "System"),
            (112, "Registry"),
            (424, "smss.exe"),
            (612, "csrss.exe"),
            (720, "wininit.exe"),
            (868, "services.exe"),
            (880, "lsass.exe"),
            (1012, "svchost.exe"),
            (3544, "MsMpEng.exe"),
            (5120, "explorer.exe"),
            (6204, "msedge.exe"),
            (7316, "OfficeClickToRun.exe"),
        ];
        // Some devices run something worth killing.
        if m.id.as_bytes()[0].is_multiple_of(3) {
            p.push((9132, "rundll32.exe"));
        }
        p
    } else if m.os_platform == "Linux" {
        vec![(1, "systemd"), (412, "sshd"), (733, "cron"), (1021, "wdavdaemon"), (2210, "bash"), (2311, "python3")]
    } else {
        vec![(1, "launchd"), (310, "WindowServer"), (540, "wdavdaemon"), (1200, "Safari"), (1310, "zsh")]
    }
}

fn processes(m: &Machine, d: &DeviceState) -> Vec<(u32, &'static str)> {
    seeded_processes(m).into_iter().filter(|(pid, _)| !d.killed.contains(pid)).collect()
}

fn seeded_registry(m: &Machine) -> Vec<(&'static str, &'static str, String)> {
    if !m.is_windows() {
        return Vec::new();
    }
    let product = match m.os_platform.as_str() {
        "Windows11" => "Windows 11 Enterprise",
        "WindowsServer2019" => "Windows Server 2019 Datacenter",
        _ => "Windows 10 Enterprise",
    };
    vec![
        ("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "ProductName", product.to_string()),
        ("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "CurrentBuild", m.os_build.unwrap_or(0).to_string()),
        (
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
            "SecurityHealth",
            "%windir%\\system32\\SecurityHealthSystray.exe".to_string(),
        ),
        ("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender", "DisableAntiSpyware", "0".to_string()),
        ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa", "RunAsPPL", "1".to_string()),
    ]
}

/// Registry paths as scripts receive them: `HKLM:\...` or `HKEY_LOCAL_MACHINE\...`.
fn normalize_key(key: &str) -> String {
    let k = key.trim().trim_end_matches('\\');
    let k = k.replacen("HKEY_LOCAL_MACHINE", "HKLM", 1);
    let k = k.replacen("HKEY_CURRENT_USER", "HKCU", 1);
    k.replacen(':', "", 1)
}

fn registry_get(m: &Machine, d: &DeviceState, key: &str, name: &str) -> Option<String> {
    let key = normalize_key(key);
    if let Some((_, v)) =
        d.registry.iter().find(|((k, n), _)| k.eq_ignore_ascii_case(&key) && n.eq_ignore_ascii_case(name))
    {
        return v.clone();
    }
    seeded_registry(m)
        .into_iter()
        .find(|(k, n, _)| k.eq_ignore_ascii_case(&key) && n.eq_ignore_ascii_case(name))
        .map(|(_, _, v)| v)
}

/// Where PutFile drops library files (MDE's documented working folder on Windows; the Linux
/// and macOS folder is not documented, ours is `/tmp/mde-live-response/`).
pub fn put_file_path(m: &Machine, name: &str) -> String {
    if m.is_windows() {
        format!("C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Downloads\\{name}")
    } else {
        format!("/tmp/mde-live-response/{name}")
    }
}

fn seeded_files(m: &Machine) -> Vec<(String, String)> {
    let hosts = format!(
        "# hosts file of {dns}\n127.0.0.1 localhost\n::1 localhost\n{ip} {dns}\n",
        dns = m.computer_dns_name,
        ip = m.last_ip_address
    );
    if m.is_windows() {
        vec![
            ("C:\\Windows\\System32\\drivers\\etc\\hosts".into(), hosts),
            (
                "C:\\Windows\\Temp\\setup.log".into(),
                format!("Setup completed on {} (build {})\n", m.computer_dns_name, m.os_build.unwrap_or(0)),
            ),
            ("C:\\Users\\Public\\Documents\\readme.txt".into(), format!("Shared documents of {}\n", m.short_name())),
        ]
    } else {
        let log = if m.os_platform == "Linux" { "/var/log/syslog" } else { "/var/log/system.log" };
        vec![
            ("/etc/hosts".into(), hosts),
            (log.into(), format!("{} mdatp: health ok (agent {})\n", m.short_name(), m.agent_version)),
            ("/tmp/install.log".into(), format!("installed on {}\n", m.computer_dns_name)),
        ]
    }
}

/// Windows paths are case-insensitive, Unix paths are not.
fn same_path(m: &Machine, a: &str, b: &str) -> bool {
    if m.is_windows() { a.eq_ignore_ascii_case(b) } else { a == b }
}

fn files(m: &Machine, d: &DeviceState) -> Vec<(String, Bytes)> {
    let mut all: Vec<(String, Bytes)> = seeded_files(m).into_iter().map(|(p, c)| (p, Bytes::from(c))).collect();
    for (p, c) in &d.files {
        all.retain(|(q, _)| !same_path(m, q, p));
        all.push((p.clone(), c.clone()));
    }
    all
}

fn read_file(m: &Machine, d: &DeviceState, path: &str) -> Option<Bytes> {
    files(m, d).into_iter().find(|(p, _)| same_path(m, p, path)).map(|(_, c)| c)
}

/// `*` and `?` wildcards, case-insensitive.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Machine state for `/_sandbox/state`: what live response changed on each device.
pub fn machine_state_json(t: &Tenant, m: &Machine) -> Value {
    let d = t.mde.devices.get(&m.id).cloned().unwrap_or_default();
    json!({
        "killedProcesses": d.killed,
        "registryChanges": d.registry.iter().map(|((k, n), v)| json!({"key": k, "name": n, "value": v})).collect::<Vec<_>>(),
        "putFiles": d.files.iter().map(|(p, c)| json!({"path": p, "size": c.len(), "sha256": hex::encode(Sha256::digest(c))})).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/// PowerShell-style arguments: `-Name value` pairs plus positional values; quotes group words.
fn parse_args(args: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for ch in args.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                has = true;
            }
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        tokens.push(cur);
    }
    let mut named = BTreeMap::new();
    let mut positional = Vec::new();
    let mut it = tokens.into_iter().peekable();
    while let Some(t) = it.next() {
        if let Some(name) =
            t.strip_prefix('-').filter(|n| !n.is_empty() && !n.starts_with(|c: char| c.is_ascii_digit()))
        {
            let value = match it.peek() {
                Some(v) if !v.starts_with('-') => it.next().unwrap_or_default(),
                _ => String::new(),
            };
            named.insert(name.to_ascii_lowercase(), value);
        } else {
            positional.push(t);
        }
    }
    (named, positional)
}

struct ScriptRun {
    exit_code: i32,
    output: String,
    errors: String,
}

fn ok(output: String) -> ScriptRun {
    ScriptRun { exit_code: 0, output, errors: String::new() }
}

fn fail(errors: String) -> ScriptRun {
    ScriptRun { exit_code: 1, output: String::new(), errors }
}

/// Runs a library script on the device model. The helper scripts (by name, without extension)
/// read or change the device; any other script echoes its name and arguments, which is all the
/// sandbox can honestly say about a script it cannot execute.
fn run_script(name: &str, args: &str, m: &Machine, d: &mut DeviceState) -> ScriptRun {
    let (named, pos) = parse_args(args);
    let arg = |key: &str, i: usize| -> Option<String> {
        named.get(&key.to_ascii_lowercase()).cloned().or_else(|| pos.get(i).cloned()).filter(|v| !v.is_empty())
    };
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name).replace('_', "").to_ascii_lowercase();
    match stem.as_str() {
        "getprocesses" => {
            let mut out = format!("{:>6}  {}\n", "PID", "ProcessName");
            for (pid, p) in processes(m, d) {
                out.push_str(&format!("{pid:>6}  {p}\n"));
            }
            ok(out)
        }
        "killprocess" => {
            let target = arg("ProcessId", 0).or_else(|| arg("Name", 0));
            let Some(target) = target else {
                return fail("KillProcess: give -ProcessId <pid> or -Name <process name>.".into());
            };
            let running = processes(m, d);
            let hit: Vec<u32> = match target.parse::<u32>() {
                Ok(pid) => running.iter().filter(|(p, _)| *p == pid).map(|(p, _)| *p).collect(),
                Err(_) => running
                    .iter()
                    .filter(|(_, n)| {
                        n.eq_ignore_ascii_case(&target) || n.trim_end_matches(".exe").eq_ignore_ascii_case(&target)
                    })
                    .map(|(p, _)| *p)
                    .collect(),
            };
            if hit.is_empty() {
                return fail(format!("Cannot find a process matching '{target}'."));
            }
            if hit.iter().any(|p| *p <= 4 || *p == 880) {
                return fail(format!("Access is denied: process '{target}' is protected and cannot be stopped."));
            }
            d.killed.extend(&hit);
            let list: Vec<String> = hit.iter().map(u32::to_string).collect();
            ok(format!("Stopped process(es) {}.\n", list.join(", ")))
        }
        "getregistryvalue" | "setregistryvalue" | "deleteregistryvalue" => {
            if !m.is_windows() {
                return fail(format!("The registry is not available on {}.", m.os_platform));
            }
            let (Some(key), Some(value_name)) = (arg("Path", 0), arg("Name", 1)) else {
                return fail(format!("{name}: give -Path <key> and -Name <value name>."));
            };
            let k = normalize_key(&key);
            match stem.as_str() {
                "getregistryvalue" => match registry_get(m, d, &k, &value_name) {
                    Some(v) => ok(format!("{k}\\{value_name} = {v}\n")),
                    None => fail(format!("Property {value_name} does not exist at path {k}.")),
                },
                "setregistryvalue" => {
                    let Some(data) = arg("Value", 2) else {
                        return fail("SetRegistryValue: give -Value <data>.".into());
                    };
                    d.registry.insert((k.clone(), value_name.clone()), Some(data.clone()));
                    ok(format!("Set {k}\\{value_name} = {data}\n"))
                }
                _ => {
                    if registry_get(m, d, &k, &value_name).is_none() {
                        return fail(format!("Property {value_name} does not exist at path {k}."));
                    }
                    d.registry.insert((k.clone(), value_name.clone()), None);
                    ok(format!("Deleted {k}\\{value_name}\n"))
                }
            }
        }
        "findfiles" => {
            let folder = arg("Path", 0).unwrap_or_else(|| if m.is_windows() { "C:\\".into() } else { "/".into() });
            let pattern = arg("Pattern", 1).unwrap_or_else(|| "*".into());
            let sep = if m.is_windows() { '\\' } else { '/' };
            let prefix = folder.trim_end_matches(sep).to_string() + &sep.to_string();
            let mut out = String::new();
            for (p, c) in files(m, d) {
                let under = if m.is_windows() {
                    p.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase())
                } else {
                    p.starts_with(&prefix)
                };
                let leaf = p.rsplit(sep).next().unwrap_or(&p);
                if under && wildcard(&pattern, leaf) {
                    out.push_str(&format!("{p}\t{}\n", c.len()));
                }
            }
            ok(out)
        }
        "getfileinfo" => {
            let Some(path) = arg("Path", 0) else {
                return fail("GetFileInfo: give -Path <file>.".into());
            };
            match read_file(m, d, &path) {
                Some(c) => {
                    ok(format!("Path: {path}\nLength: {}\nSHA256: {}\n", c.len(), hex::encode(Sha256::digest(&c))))
                }
                None => fail(format!("Cannot find path '{path}' because it does not exist.")),
            }
        }
        "testfailure" => ScriptRun {
            exit_code: 1,
            output: "Running TestFailure\n".into(),
            errors: "TestFailure: this script fails by design.".into(),
        },
        _ => ok(format!("{name} ran on {} with arguments '{args}'.\n", m.computer_dns_name)),
    }
}

/// Script types a platform runs: PowerShell on Windows, shell (and Python) on Linux/macOS.
fn runs_on(name: &str, m: &Machine) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if m.is_windows() { ext == "ps1" } else { ext == "sh" || ext == "py" }
}

/// Executes one command at its end time; `Err` carries the command's error texts.
fn execute(t: &mut Tenant, machine_id: &str, cmd: &Command) -> Result<Option<Output>, String> {
    let Some(m) = t.machine(machine_id).cloned() else {
        return Err("The device is no longer available.".into());
    };
    let d = t.mde.devices.entry(m.id.clone()).or_default();
    match cmd.kind {
        CommandType::PutFile => {
            let name = cmd.param("FileName").unwrap_or_default();
            let f = library::find(&t.mde.library, name)
                .ok_or_else(|| format!("File '{name}' was not found in the live response library."))?;
            d.files.insert(put_file_path(&m, &f.file_name), f.content.clone());
            Ok(None)
        }
        CommandType::RunScript => {
            let name = cmd.param("ScriptName").unwrap_or_default();
            let args = cmd.param("Args").unwrap_or_default();
            let f = library::find(&t.mde.library, name)
                .ok_or_else(|| format!("Script '{name}' was not found in the live response library."))?;
            if !runs_on(&f.file_name, &m) {
                return Err(format!(
                    "Script '{}' cannot run on {}: use .ps1 scripts on Windows and .sh scripts on Linux and macOS.",
                    f.file_name, m.os_platform
                ));
            }
            let script_name = f.file_name.clone();
            let d = t.mde.devices.entry(m.id.clone()).or_default();
            let run = run_script(&script_name, args, &m, d);
            let transcript = json!({
                "script_name": script_name,
                "exit_code": run.exit_code,
                "script_output": run.output,
                "script_errors": run.errors,
            });
            Ok(Some(Output { content_type: "application/json", bytes: Bytes::from(transcript.to_string()) }))
        }
        CommandType::GetFile => {
            let path = cmd.param("Path").unwrap_or_default();
            let bytes = read_file(&m, d, path).ok_or_else(|| format!("File '{path}' was not found on the device."))?;
            Ok(Some(Output { content_type: "application/octet-stream", bytes }))
        }
    }
}

/// Runs the commands that are due. Called from `mde::advance` before the generic lifecycle, so
/// a failed command can end its session as Failed before the session's planned end.
pub fn advance(t: &mut Tenant, now: OffsetDateTime) {
    for ai in 0..t.mde.actions.len() {
        let a = &t.mde.actions[ai];
        if a.kind != ActionKind::LiveResponse || a.status.is_final() || !matches!(a.plan, Plan::Succeed | Plan::Fail) {
            continue;
        }
        for ci in 0..a.commands.len() {
            let a = &mut t.mde.actions[ai];
            let plan = a.plan;
            let machine_id = a.machine_id.clone();
            let cmd = &mut a.commands[ci];
            if cmd.status != CommandStatus::Created {
                continue;
            }
            if cmd.due_start > now {
                break;
            }
            cmd.start_time = Some(cmd.due_start);
            if cmd.due_end > now {
                break;
            }
            let snapshot = cmd.clone();
            let result = if plan == Plan::Fail {
                // Fault-injected outcome: the first command fails, nothing else runs.
                Err("An internal error occurred while running the command on the device.".into())
            } else {
                execute(t, &machine_id, &snapshot)
            };
            let a = &mut t.mde.actions[ai];
            let cmd = &mut a.commands[ci];
            cmd.end_time = Some(cmd.due_end);
            match result {
                Ok(output) => {
                    cmd.status = CommandStatus::Completed;
                    cmd.output = output;
                }
                Err(e) => {
                    cmd.status = CommandStatus::Failed;
                    cmd.errors.push(e);
                    a.status = ActionStatus::Failed;
                    a.last_update = snapshot.due_end;
                    break;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/machines/{id}/runliveresponse
// ---------------------------------------------------------------------------------------------

/// A parsed command: its type and its `(key, value)` parameters.
type ParsedCommand = (CommandType, Vec<(String, String)>);

/// Parses `Commands` strictly: documented key casing, known types and parameters, and the
/// documented order (PutFile → RunScript → GetFile).
fn parse_commands(body: &Map<String, Value>) -> Result<Vec<ParsedCommand>, Response> {
    let raw = match body.get("Commands") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => {
            return Err(invalid_body("'Commands' must contain at least one command."));
        }
        Some(_) => return Err(invalid_body("'Commands' must be an array of commands.")),
        None => {
            if let Some(k) = body.keys().find(|k| k.eq_ignore_ascii_case("Commands")) {
                return Err(invalid_body(format!(
                    "Request body is invalid: unknown parameter '{k}'. Parameter names are case-sensitive; did you mean 'Commands'?"
                )));
            }
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "MissingRequiredParameter",
                "Parameter 'Commands' is missing or empty.",
            ));
        }
    };
    let mut out: Vec<(CommandType, Vec<(String, String)>)> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let Some(obj) = c.as_object() else {
            return Err(invalid_body(format!("Commands[{i}] must be an object with 'type' and 'params'.")));
        };
        let ty = obj.get("type").and_then(Value::as_str).ok_or_else(|| {
            invalid_body(format!("Commands[{i}].type is missing. Expected one of PutFile, RunScript, GetFile."))
        })?;
        let kind = CommandType::parse(ty).ok_or_else(|| {
            invalid_body(format!(
                "Commands[{i}].type '{ty}' is not a live response command. Expected one of PutFile, RunScript, GetFile."
            ))
        })?;
        let (required, optional) = kind.keys();
        let params = match obj.get("params") {
            Some(Value::Array(p)) => p,
            _ => {
                return Err(invalid_body(format!(
                    "Commands[{i}].params must be an array of {{\"key\",\"value\"}} objects."
                )));
            }
        };
        let mut kv = Vec::new();
        for (j, p) in params.iter().enumerate() {
            let key = p.get("key").and_then(Value::as_str);
            let value = p.get("value").and_then(Value::as_str);
            let (Some(key), Some(value)) = (key, value) else {
                return Err(invalid_body(format!(
                    "Commands[{i}].params[{j}] must be {{\"key\": string, \"value\": string}}."
                )));
            };
            if key != required && !optional.contains(&key) {
                return Err(invalid_body(format!(
                    "Commands[{i}]: unknown parameter '{key}' for {}. Expected '{required}'{}.",
                    kind.name(),
                    optional.iter().map(|o| format!(" and optionally '{o}'")).collect::<String>()
                )));
            }
            kv.push((key.to_string(), value.to_string()));
        }
        if !kv.iter().any(|(k, v)| k == required && !v.trim().is_empty()) {
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "MissingRequiredParameter",
                format!("Commands[{i}] ({}) needs the parameter '{required}'.", kind.name()),
            ));
        }
        if let Some((prev, _)) = out.last()
            && *prev > kind
        {
            return Err(invalid_body(format!(
                "Commands[{i}]: {} cannot follow {}. Commands must be in the order PutFile, RunScript, GetFile.",
                kind.name(),
                prev.name()
            )));
        }
        out.push((kind, kv));
    }
    Ok(out)
}

fn too_many(msg: String, retry_after: u64) -> Response {
    let mut resp = errors::mde(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", msg);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    resp
}

/// `POST /api/machines/{id}/runliveresponse`.
pub fn run(
    state: &AppState,
    c: &Caller,
    machine_id: &str,
    method: &Method,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, Response> {
    c.require(&["Machine.LiveResponse"])?;
    let settings = state.settings.lock().clone();
    endpoint_quota(state, c, "runliveresponse", settings.live_response_per_minute, u32::MAX)?;
    let body = parse_body(body)?;
    let comment = super::body_str(&body, "Comment", false)?;
    let external_id = super::body_str(&body, "ExternalID", false)?;
    let commands = parse_commands(&body)?;
    let action = with_tenant(state, c, |t, now| -> Result<MachineAction, Response> {
        let m = t.machine(machine_id).ok_or_else(|| machine_not_found(machine_id))?;
        let active: Vec<&MachineAction> =
            t.mde.actions.iter().filter(|a| a.kind == ActionKind::LiveResponse && !a.status.is_final()).collect();
        if active.iter().any(|a| a.machine_id == m.id) {
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "ActiveRequestAlreadyExists",
                format!(
                    "A live response session is already running on machine {}. Wait for it to finish or cancel it.",
                    m.id
                ),
            ));
        }
        if active.len() >= settings.live_response_max_sessions as usize {
            let soonest = active.iter().map(|a| a.finish_at).min().unwrap_or(now);
            let wait = (soonest - now).whole_seconds().max(1) as u64;
            return Err(too_many(
                format!(
                    "Too many concurrent live response sessions ({} running, limit {}). Try again in {wait} seconds.",
                    active.len(),
                    settings.live_response_max_sessions
                ),
                wait,
            ));
        }
        let injected = state.faults.lock().take_outcome(method, uri.path(), &t.tenant_id);
        let plan = match (m.is_online(), injected.as_deref()) {
            (false, _) => Plan::NeverPickedUp,
            (true, Some("Failed")) => Plan::Fail,
            (true, Some("TimeOut")) => Plan::StallThenTimeOut,
            (true, _) => Plan::Succeed,
        };
        let (start_at, mut finish_at) = plan_timings(&settings, now, plan);
        // Each command takes its share of the run time (at least a second).
        let n = commands.len() as i64;
        let step = Duration::seconds((settings.action_run_seconds / n).max(1));
        let cmds: Vec<Command> = commands
            .iter()
            .enumerate()
            .map(|(i, (kind, params))| Command {
                index: i,
                kind: *kind,
                params: params.clone(),
                status: CommandStatus::Created,
                start_time: None,
                end_time: None,
                errors: Vec::new(),
                output: None,
                due_start: start_at + step * (i as i32),
                due_end: start_at + step * (i as i32 + 1),
            })
            .collect();
        if matches!(plan, Plan::Succeed | Plan::Fail) {
            finish_at = start_at + step * (n as i32);
        }
        let action = MachineAction {
            id: uuid::Uuid::new_v4().to_string(),
            kind: ActionKind::LiveResponse,
            scope: None,
            requestor: c.app_id.clone(),
            comment: comment.clone().unwrap_or_default(),
            external_id: external_id.clone(),
            status: ActionStatus::Pending,
            machine_id: m.id.clone(),
            computer_dns_name: m.computer_dns_name.clone(),
            created: now,
            last_update: now,
            cancellation: None,
            related_sha1: None,
            commands: cmds,
            plan,
            start_at,
            finish_at,
        };
        t.mde.actions.push(action.clone());
        Ok(action)
    })??;
    Ok(errors::json_response(StatusCode::CREATED, action_entity(state, &action)))
}

// ---------------------------------------------------------------------------------------------
// Result links
// ---------------------------------------------------------------------------------------------

/// Key for the links' signatures: random per process, so links cannot be guessed.
fn link_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

/// A keyed SHA-256 over the link's fields (enough for an emulator: the fields are fixed, so
/// length extension buys nothing).
fn sign(action_id: &str, index: usize, expiry: &str) -> String {
    let mut h = Sha256::new();
    h.update(link_key());
    h.update(format!("{}\n{index}\n{expiry}", action_id.to_ascii_lowercase()).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// `index=N` out of `GetLiveResponseResultDownloadLink(index=N)`.
pub fn parse_link_segment(sub: &str) -> Option<Result<usize, String>> {
    let lower = sub.to_ascii_lowercase();
    let rest = lower.strip_prefix("getliveresponseresultdownloadlink")?;
    let inner = rest.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')).map(str::trim);
    Some(match inner.and_then(|i| i.strip_prefix("index")).map(|r| r.trim_start()) {
        Some(r) if r.starts_with('=') => {
            r[1..].trim().parse::<usize>().map_err(|_| format!("'{}' is not a command index", &r[1..]))
        }
        _ => Err("expected GetLiveResponseResultDownloadLink(index=N)".into()),
    })
}

/// `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)`.
pub fn download_link(
    state: &AppState,
    c: &Caller,
    action_id: &str,
    index: Result<usize, String>,
) -> Result<Response, Response> {
    if !c.has_any_role(&["Machine.Read.All", "Machine.ReadWrite.All", "Machine.LiveResponse"]) {
        return Err(forbidden("Machine.Read.All"));
    }
    let index =
        index.map_err(|e| errors::mde(StatusCode::BAD_REQUEST, "InvalidInput", format!("Invalid index: {e}.")))?;
    let a = with_tenant(state, c, |t, _| t.mde.actions.iter().find(|a| a.id.eq_ignore_ascii_case(action_id)).cloned())?
        .ok_or_else(|| action_not_found(action_id))?;
    if a.kind != ActionKind::LiveResponse {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Machine action {action_id} is of type {}, not LiveResponse.", a.kind.type_name()),
        ));
    }
    let cmd = a.commands.get(index).ok_or_else(|| {
        errors::mde(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            format!(
                "Command index {index} does not exist: the action has {} command(s), indexes 0 to {}.",
                a.commands.len(),
                a.commands.len().saturating_sub(1)
            ),
        )
    })?;
    if cmd.kind == CommandType::PutFile {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Command {index} is a PutFile command, which has no result."),
        ));
    }
    if cmd.status != CommandStatus::Completed || cmd.output.is_none() {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The result of command {index} is not available (commandStatus {}).", cmd.status.as_str()),
        ));
    }
    let se = fmt_utc(state.clock.now() + Duration::minutes(LINK_MINUTES));
    let url = format!(
        "{}/_sandbox/blobs/liveresponse/{}/{index}?se={}&sp=r&sv=2019-07-07&sr=b&sig={}",
        state.base_url,
        a.id,
        se.replace(':', "%3A"),
        sign(&a.id, index, &se)
    );
    Ok(errors::json_response(StatusCode::OK, json!({"@odata.context": context(state, "Edm.String"), "value": url})))
}

/// Azure Blob Storage answers in XML; so does the sandbox's blob endpoint.
fn blob_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// The blob behind a result link: checks signature and expiry (on the sandbox clock).
async fn download(
    State(state): State<AppState>,
    Path((action_id, index)): Path<(String, usize)>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.as_deref());
    let (Some(se), Some(sig)) = (params.get("se"), params.get("sig")) else {
        return blob_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request: the signature is missing.",
        );
    };
    let expiry = OffsetDateTime::parse(se, &time::format_description::well_known::Rfc3339);
    let (Ok(expiry), true) = (expiry, sign(&action_id, index, se) == sig) else {
        return blob_error(StatusCode::FORBIDDEN, "AuthenticationFailed", "Signature did not match.");
    };
    if state.clock.now() > expiry {
        return blob_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Signed expiry time has passed: request a new link with GetLiveResponseResultDownloadLink.",
        );
    }
    let output = state.world.lock().tenants.iter().find_map(|t| {
        t.mde
            .actions
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(&action_id))
            .and_then(|a| a.commands.get(index))
            .and_then(|c| c.output.clone())
    });
    match output {
        Some(o) => ([(header::CONTENT_TYPE, o.content_type)], o.bytes).into_response(),
        None => blob_error(StatusCode::NOT_FOUND, "BlobNotFound", "The specified blob does not exist."),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/_sandbox/blobs/liveresponse/{action}/{index}", get(download))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_named_positional_and_quoted() {
        let (n, p) = parse_args("-Path 'HKLM:\\SOFTWARE\\My Key' -Name Run extra");
        assert_eq!(n["path"], "HKLM:\\SOFTWARE\\My Key");
        assert_eq!(n["name"], "Run");
        assert_eq!(p, vec!["extra"]);
        let (n, p) = parse_args("1234");
        assert!(n.is_empty());
        assert_eq!(p, vec!["1234"]);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.log", "setup.LOG"));
        assert!(wildcard("h?sts", "hosts"));
        assert!(!wildcard("*.exe", "hosts"));
    }

    #[test]
    fn link_segment() {
        assert_eq!(parse_link_segment("GetLiveResponseResultDownloadLink(index=2)"), Some(Ok(2)));
        assert!(matches!(parse_link_segment("getliveresponseresultdownloadlink(index=x)"), Some(Err(_))));
        assert_eq!(parse_link_segment("getPackageUri"), None);
    }
}
