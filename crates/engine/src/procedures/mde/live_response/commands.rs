//! The live-response command actions, one typed struct each: parse the validated parameters,
//! build MDE's command list, and hand it to the session story ([`super::start`]).
//!
//! RunScript, GetFile and PutFile are MDE's own commands; the process, registry and file helpers
//! are RunScript with a script Riposte ships (`scripts.rs`), chosen by the device's platform.
//! Script arguments are single-quoted ([`scripts::quote`]), so a value with quotes or control
//! characters is refused rather than passed to a shell.

use super::{command, is_windows, scripts, start};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::Value;

/// The device and comment every command action reads.
struct Target {
    machine: String,
    comment: String,
}

impl Target {
    fn read(args: &Args<'_>) -> Result<Target, EngineError> {
        Ok(Target { machine: args.text("deviceId")?, comment: args.opt_text("comment")?.unwrap_or_default() })
    }

    /// Queue a session of `commands`; a library file they name must exist (`field` named it).
    async fn run(self, ctx: &Ctx<'_>, commands: Vec<Value>, field: &'static str) -> Result<Carried, EngineError> {
        start(ctx, self.machine, &self.comment, commands, field).await
    }
}

fn script(name: &str, args: &str) -> Value {
    command("RunScript", &[("ScriptName", name), ("Args", args)])
}

fn quote(field: &str, value: &str) -> Result<String, EngineError> {
    Ok(scripts::quote(field, value)?)
}

/// A command action's `READS`: `deviceId` and `comment`, then its own.
macro_rules! command_reads {
    ($($read:expr),* $(,)?) => {
        &[required("deviceId"), optional("comment"), $($read),*]
    };
}

/// `RunScript`: a library script with optional arguments.
pub struct RunScript {
    target: Target,
    script: String,
    args: String,
}

impl TryFrom<&Params> for RunScript {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RunScript {
            target: Target::read(&a)?,
            script: a.text("scriptName")?,
            args: a.opt_text("args")?.unwrap_or_default(),
        })
    }
}

impl Procedure for RunScript {
    const ID: ProcedureId = ProcedureId("mde.live_response.run_script");
    const READS: &'static [Read] = command_reads![required("scriptName"), optional("args")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let commands = vec![script(&self.script, &self.args)];
        self.target.run(ctx, commands, "scriptName").await
    }
}

/// `GetFile`: collect one file from the device.
pub struct GetFile {
    target: Target,
    path: String,
}

impl TryFrom<&Params> for GetFile {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(GetFile { target: Target::read(&a)?, path: a.text("filePath")? })
    }
}

impl Procedure for GetFile {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_file");
    const READS: &'static [Read] = command_reads![required("filePath")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let commands = vec![command("GetFile", &[("Path", &self.path)])];
        self.target.run(ctx, commands, "filePath").await
    }
}

/// `PutFile`: put a library file on the device.
pub struct PutFile {
    target: Target,
    file: String,
}

impl TryFrom<&Params> for PutFile {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(PutFile { target: Target::read(&a)?, file: a.text("fileName")? })
    }
}

impl Procedure for PutFile {
    const ID: ProcedureId = ProcedureId("mde.live_response.put_file");
    const READS: &'static [Read] = command_reads![required("fileName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let commands = vec![command("PutFile", &[("FileName", &self.file)])];
        self.target.run(ctx, commands, "fileName").await
    }
}

/// `InvokeCommand`: one of MDE's three commands, given by type (the seed's form).
pub struct InvokeCommand {
    target: Target,
    kind: String,
    command: String,
    args: String,
}

impl TryFrom<&Params> for InvokeCommand {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(InvokeCommand {
            target: Target::read(&a)?,
            kind: a.text("commandType")?,
            command: a.text("command")?,
            args: a.opt_text("args")?.unwrap_or_default(),
        })
    }
}

impl Procedure for InvokeCommand {
    const ID: ProcedureId = ProcedureId("mde.live_response.invoke_command");
    const READS: &'static [Read] = command_reads![required("commandType"), required("command"), optional("args")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let c = match self.kind.as_str() {
            "RunScript" => script(&self.command, &self.args),
            "GetFile" => command("GetFile", &[("Path", &self.command)]),
            _ => command("PutFile", &[("FileName", &self.command)]),
        };
        self.target.run(ctx, vec![c], "command").await
    }
}

/// `GetProcesses`: the built-in process listing for the device's platform.
pub struct GetProcesses {
    target: Target,
}

impl TryFrom<&Params> for GetProcesses {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(GetProcesses { target: Target::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for GetProcesses {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_processes");
    const READS: &'static [Read] = command_reads![];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let windows = is_windows(ctx, &self.target.machine).await?;
        let c = script(if windows { "GetProcesses.ps1" } else { "get_processes.sh" }, "");
        self.target.run(ctx, vec![c], "scriptName").await
    }
}

/// `KillProcess`: stop a process by id or by name.
pub struct KillProcess {
    target: Target,
    process: String,
}

impl TryFrom<&Params> for KillProcess {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(KillProcess { target: Target::read(&a)?, process: a.text("processId")? })
    }
}

impl Procedure for KillProcess {
    const ID: ProcedureId = ProcedureId("mde.live_response.kill_process");
    const READS: &'static [Read] = command_reads![required("processId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let arg = quote("processId", &self.process)?;
        let c = match (is_windows(ctx, &self.target.machine).await?, self.process.parse::<u32>().is_ok()) {
            (true, true) => script("KillProcess.ps1", &format!("-ProcessId {arg}")),
            (true, false) => script("KillProcess.ps1", &format!("-Name {arg}")),
            (false, _) => script("kill_process.sh", &arg),
        };
        self.target.run(ctx, vec![c], "scriptName").await
    }
}

/// The registry value the three registry helpers address.
struct RegistryValue {
    path: String,
    name: String,
}

impl RegistryValue {
    fn read(args: &Args<'_>) -> Result<RegistryValue, EngineError> {
        Ok(RegistryValue { path: args.text("registryPath")?, name: args.text("valueName")? })
    }

    fn args(&self) -> Result<String, EngineError> {
        Ok(format!("-Path {} -Name {}", quote("registryPath", &self.path)?, quote("valueName", &self.name)?))
    }
}

/// Registry helpers run only on Windows; elsewhere the caller hears why.
async fn registry_script(ctx: &Ctx<'_>, target: Target, name: &str, args: String) -> Result<Carried, EngineError> {
    if !is_windows(ctx, &target.machine).await? {
        return Err(EngineError::InvalidParam(ParamError {
            field: "deviceId".into(),
            message: format!("machine {} is not a Windows device; it has no registry", target.machine),
            hint: "pick a Windows machine (GetDeviceInfo shows osPlatform)".into(),
        }));
    }
    target.run(ctx, vec![script(name, &args)], "scriptName").await
}

/// `GetRegistryValue`.
pub struct GetRegistryValue {
    target: Target,
    value: RegistryValue,
}

impl TryFrom<&Params> for GetRegistryValue {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(GetRegistryValue { target: Target::read(&a)?, value: RegistryValue::read(&a)? })
    }
}

impl Procedure for GetRegistryValue {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_registry_value");
    const READS: &'static [Read] = command_reads![required("registryPath"), required("valueName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let args = self.value.args()?;
        registry_script(ctx, self.target, "GetRegistryValue.ps1", args).await
    }
}

/// `SetRegistryValue`: write data of a type.
pub struct SetRegistryValue {
    target: Target,
    value: RegistryValue,
    data: String,
    kind: String,
}

impl TryFrom<&Params> for SetRegistryValue {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(SetRegistryValue {
            target: Target::read(&a)?,
            value: RegistryValue::read(&a)?,
            data: a.text("value")?,
            kind: a.text("valueType")?,
        })
    }
}

impl Procedure for SetRegistryValue {
    const ID: ProcedureId = ProcedureId("mde.live_response.set_registry_value");
    const READS: &'static [Read] =
        command_reads![required("registryPath"), required("valueName"), required("value"), required("valueType")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let args = format!(
            "{} -Value {} -Type {}",
            self.value.args()?,
            quote("value", &self.data)?,
            quote("valueType", &self.kind)?
        );
        registry_script(ctx, self.target, "SetRegistryValue.ps1", args).await
    }
}

/// `DeleteRegistryValue`.
pub struct DeleteRegistryValue {
    target: Target,
    value: RegistryValue,
}

impl TryFrom<&Params> for DeleteRegistryValue {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(DeleteRegistryValue { target: Target::read(&a)?, value: RegistryValue::read(&a)? })
    }
}

impl Procedure for DeleteRegistryValue {
    const ID: ProcedureId = ProcedureId("mde.live_response.delete_registry_value");
    const READS: &'static [Read] = command_reads![required("registryPath"), required("valueName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let args = self.value.args()?;
        registry_script(ctx, self.target, "DeleteRegistryValue.ps1", args).await
    }
}

/// `FindFiles`: files by name or wildcard under a folder (the system drive or `/` by default).
pub struct FindFiles {
    target: Target,
    pattern: String,
    folder: Option<String>,
}

impl TryFrom<&Params> for FindFiles {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(FindFiles { target: Target::read(&a)?, pattern: a.text("fileName")?, folder: a.opt_text("folder")? })
    }
}

impl Procedure for FindFiles {
    const ID: ProcedureId = ProcedureId("mde.live_response.find_files");
    const READS: &'static [Read] = command_reads![required("fileName"), optional("folder")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let windows = is_windows(ctx, &self.target.machine).await?;
        let default = if windows { "C:\\" } else { "/" };
        let folder = quote("folder", self.folder.as_deref().unwrap_or(default))?;
        let pattern = quote("fileName", &self.pattern)?;
        let c = if windows {
            script("FindFiles.ps1", &format!("-Path {folder} -Pattern {pattern}"))
        } else {
            script("find_files.sh", &format!("{folder} {pattern}"))
        };
        self.target.run(ctx, vec![c], "scriptName").await
    }
}

/// `GetFileInfo`: size and SHA-256 of a file on the device.
pub struct GetFileInfo {
    target: Target,
    path: String,
}

impl TryFrom<&Params> for GetFileInfo {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(GetFileInfo { target: Target::read(&a)?, path: a.text("filePath")? })
    }
}

impl Procedure for GetFileInfo {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_file_info");
    const READS: &'static [Read] = command_reads![required("filePath")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let path = quote("filePath", &self.path)?;
        let c = if is_windows(ctx, &self.target.machine).await? {
            script("GetFileInfo.ps1", &format!("-Path {path}"))
        } else {
            script("get_file_info.sh", &path)
        };
        self.target.run(ctx, vec![c], "scriptName").await
    }
}
