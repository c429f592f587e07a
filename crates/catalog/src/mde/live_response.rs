//! Live response and the file library (upstream-apis.md §2.6, §2.10).
//!
//! Commands run as one `POST /api/machines/{id}/runliveresponse` session each, carried out by
//! `engine/src/procedures/live_response.rs`: the script or file is made present in MDE's library
//! first (pushed from Riposte's library when missing or changed), the session waits for a free
//! slot (one per machine, 25 per tenant) and the 10/min budget, the MachineAction is polled to its
//! end, and each command's result is fetched with `GetLiveResponseResultDownloadLink`. The request
//! answers `InProgress` at once; the operation holds the outcome.
//!
//! The seed's process, registry and file helpers are RunScript with scripts Riposte ships and
//! uploads on demand (`GetProcesses.ps1`, `KillProcess.ps1`, ...). Arguments reach the script
//! single-quoted, so values containing quotes or control characters are refused.
//!
//! Risk: every command is `remediate`: a live-response session runs code on the device and can
//! read any file on it, so a read-only key may not start one.
use super::*;

const LR_PERMISSION: &str = "Machine.LiveResponse (+ Library.Manage to push scripts and files)";
const LIBRARY_PERMISSION: &str = "none upstream (Riposte's own library)";

// --- Parameters -------------------------------------------------------------------------------

const SCRIPT_NAME: ParamSpec = ParamSpec {
    name: "scriptName",
    aliases: &["script", "ScriptName"],
    kind: ParamKind::Text { max: 128 },
    required: true,
    default: None,
    doc: "Library script to run, e.g. collect-triage.ps1 (upload it first with UploadToLibrary or POST /v1/library)",
};

const SCRIPT_ARGS: ParamSpec = ParamSpec {
    name: "args",
    aliases: &["scriptArgs", "arguments", "scriptArguments"],
    kind: ParamKind::Text { max: 2000 },
    required: false,
    default: None,
    doc: "Arguments passed to the script as MDE's Args",
};

const FILE_PATH: ParamSpec = ParamSpec {
    name: "filePath",
    aliases: &["path", "Path"],
    kind: ParamKind::Text { max: 1024 },
    required: true,
    default: None,
    doc: "Full path of the file on the device, e.g. C:\\Windows\\Temp\\dropper.exe",
};

const FILE_NAME: ParamSpec = ParamSpec {
    name: "fileName",
    aliases: &["FileName", "name", "libraryFileName"],
    kind: ParamKind::Text { max: 128 },
    required: true,
    default: None,
    doc: "Library file name (letters, digits, '.', '_', '-')",
};

const CONTENT: ParamSpec = ParamSpec {
    name: "content",
    aliases: &["fileContent", "contentBase64", "scriptContent", "base64Content"],
    kind: ParamKind::Text { max: 1_400_000 },
    required: true,
    default: None,
    doc: "The file's bytes, base64-encoded (for files over ~1 MB use POST /v1/library with a raw body)",
};

const DESCRIPTION: ParamSpec = optional_text("description", &[], 1000, "What the file is for");
const PARAMETERS_DESCRIPTION: ParamSpec =
    optional_text("parametersDescription", &[], 1000, "The script's parameters, shown in MDE's library");
const HAS_PARAMETERS: ParamSpec = ParamSpec {
    name: "hasParameters",
    aliases: &[],
    kind: ParamKind::Bool,
    required: false,
    default: Some("false"),
    doc: "Whether the script takes parameters",
};

/// A live-response MachineAction, under every name the seed used for it.
const SESSION_ID: ParamSpec = ParamSpec {
    name: "actionId",
    aliases: &["sessionId", "commandId", "machineActionId", "id"],
    kind: ParamKind::ActionId,
    required: true,
    default: None,
    doc: "The live-response MachineAction id (GUID)",
};

const COMMAND_INDEX: ParamSpec = ParamSpec {
    name: "commandIndex",
    aliases: &["index"],
    kind: ParamKind::Int { min: 0, max: 99 },
    required: false,
    default: Some("0"),
    doc: "Which command of the session (0-based)",
};

const PROCESS: ParamSpec =
    required_text("processId", &["pid", "processName"], 260, "Process id, or process name (e.g. evil.exe)");
const REGISTRY_PATH: ParamSpec = required_text(
    "registryPath",
    &["keyPath", "registryKey", "key"],
    512,
    "Registry key, e.g. HKLM\\SOFTWARE\\Contoso",
);
const VALUE_NAME: ParamSpec = required_text("valueName", &["propertyName"], 256, "Registry value name");
const VALUE_DATA: ParamSpec = required_text("value", &["valueData", "data"], 2000, "Registry value data");
const VALUE_TYPE: ParamSpec = ParamSpec {
    name: "valueType",
    aliases: &["type"],
    kind: ParamKind::Enum { values: &["String", "ExpandString", "DWord", "QWord", "MultiString", "Binary"] },
    required: false,
    default: Some("String"),
    doc: "Registry value type",
};
const FIND_PATTERN: ParamSpec =
    required_text("fileName", &["pattern", "fileNamePattern"], 260, "File name or wildcard to look for, e.g. *.ps1");
const FIND_FOLDER: ParamSpec =
    optional_text("folder", &["path", "searchPath"], 1024, "Folder to search (default: the system drive or /)");
const COMMAND_TYPE: ParamSpec = ParamSpec {
    name: "commandType",
    aliases: &["type"],
    kind: ParamKind::Enum { values: &["RunScript", "GetFile", "PutFile"] },
    required: true,
    default: None,
    doc: "RunScript, GetFile or PutFile (the live-response commands MDE's API offers)",
};
const COMMAND: ParamSpec = required_text(
    "command",
    &["commandLine"],
    1024,
    "The command's argument: the script name (RunScript), the device path (GetFile) or the library file name (PutFile)",
);

const fn lr(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    procedure: ProcedureId,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mde,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Remediate,
        inverse: None,
        permission: LR_PERMISSION,
        completion: Completion::LiveResponse,
        sensitive_results: &[],
        plan: Plan::Procedure(procedure),
    }
}

const fn library(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    risk: Risk,
    permission: &'static str,
    procedure: ProcedureId,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mde,
        name,
        summary,
        aliases,
        params,
        risk,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(procedure),
    }
}

// --- The table --------------------------------------------------------------------------------

pub static ACTIONS: &[ActionSpec] = &[
    lr(
        "RunScript",
        "Run a library script on a device through live response; the transcript is in the operation",
        &["InvokeLiveResponseScript", "RunLiveResponseScript"],
        &[DEVICE_ID, SCRIPT_NAME, SCRIPT_ARGS, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.run_script"),
    ),
    lr(
        "GetFile",
        "Collect a file from a device; it is kept in Riposte's library behind a signed download link",
        &["GetLiveResponseFile", "CollectFile", "DownloadFile"],
        &[DEVICE_ID, FILE_PATH, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.get_file"),
    ),
    lr(
        "PutFile",
        "Put a library file on a device (into the live-response downloads folder)",
        &["PutLiveResponseFileFromLibrary", "PutLiveResponseFile"],
        &[DEVICE_ID, FILE_NAME, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.put_file"),
    ),
    lr(
        "InvokeCommand",
        "Run one live-response command given by type (RunScript, GetFile or PutFile)",
        &["InvokeLiveResponseCommand", "InvokeLiveResponse"],
        &[DEVICE_ID, COMMAND_TYPE, COMMAND, SCRIPT_ARGS, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.invoke_command"),
    ),
    lr(
        "GetProcesses",
        "List a device's running processes (built-in script GetProcesses)",
        &["ListProcesses"],
        &[DEVICE_ID, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.get_processes"),
    ),
    lr(
        "KillProcess",
        "Stop a process on a device by id or name (built-in script KillProcess)",
        &["StopProcess", "TerminateProcess"],
        &[DEVICE_ID, PROCESS, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.kill_process"),
    ),
    lr(
        "GetRegistryValue",
        "Read a registry value on a Windows device (built-in script GetRegistryValue)",
        &[],
        &[DEVICE_ID, REGISTRY_PATH, VALUE_NAME, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.get_registry_value"),
    ),
    lr(
        "SetRegistryValue",
        "Write a registry value on a Windows device (built-in script SetRegistryValue)",
        &[],
        &[DEVICE_ID, REGISTRY_PATH, VALUE_NAME, VALUE_DATA, VALUE_TYPE, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.set_registry_value"),
    ),
    lr(
        "DeleteRegistryValue",
        "Delete a registry value on a Windows device (built-in script DeleteRegistryValue)",
        &[],
        &[DEVICE_ID, REGISTRY_PATH, VALUE_NAME, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.delete_registry_value"),
    ),
    lr(
        "FindFiles",
        "Find files by name or wildcard on a device (built-in script FindFiles)",
        &["SearchFiles"],
        &[DEVICE_ID, FIND_PATTERN, FIND_FOLDER, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.find_files"),
    ),
    lr(
        "GetFileInfo",
        "Size and SHA-256 of a file on a device (built-in script GetFileInfo)",
        &[],
        &[DEVICE_ID, FILE_PATH, comment("Live response by Riposte")],
        ProcedureId("mde.live_response.get_file_info"),
    ),
    ActionSpec {
        product: Product::Mde,
        name: "GetLiveResponseResult",
        summary: "Fetch one command's result of a live-response session (transcript, or the file behind a signed link)",
        aliases: &[
            "GetLiveResponseOutput",
            "GetLiveResponseResultDownloadLink",
            "GetCommandResult",
            "GetLiveResponseResults",
        ],
        params: &[SESSION_ID, COMMAND_INDEX],
        // Results may be files from the device: the same class as GetFile.
        risk: Risk::Remediate,
        inverse: None,
        permission: "Machine.LiveResponse",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.live_response.get_result")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetLiveResponseSession",
        summary: "Get one live-response MachineAction with its per-command status",
        aliases: &["GetSession"],
        params: &[SESSION_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machineactions/{actionId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetLiveResponseSessions",
        summary: "List live-response MachineActions, optionally for one machine",
        aliases: &["ListLiveResponseSessions"],
        params: &[MACHINE_FILTER, TOP],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.live_response.list_sessions")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "StartSession",
        summary: "Not available: MDE has no interactive live-response session API",
        aliases: &["StartLiveResponseSession"],
        params: &[],
        risk: Risk::Remediate,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "Microsoft's API has no session to open: each POST /api/machines/{id}/runliveresponse is a whole session of PutFile/RunScript/GetFile commands (interactive sessions exist only in the portal). Send the command itself.",
            nearest: Some("RunScript"),
        },
    },
    library(
        "UploadToLibrary",
        "Store a script or file in Riposte's library (base64 content); POST /v1/library takes raw bodies",
        &["UploadScript", "UploadLibraryFile", "UploadFile"],
        &[FILE_NAME, CONTENT, DESCRIPTION, PARAMETERS_DESCRIPTION, HAS_PARAMETERS],
        Risk::Remediate,
        LIBRARY_PERMISSION,
        ProcedureId("mde.live_response.upload_to_library"),
    ),
    library(
        "ListLibraryFiles",
        "List the scripts and files in Riposte's library for a tenant",
        &["GetLibraryFiles"],
        &[],
        Risk::Read,
        LIBRARY_PERMISSION,
        ProcedureId("mde.live_response.list_library_files"),
    ),
    library(
        "GetLibraryFile",
        "A library file's metadata and a signed download link",
        &["DownloadLibraryFile"],
        &[FILE_NAME],
        Risk::Read,
        LIBRARY_PERMISSION,
        ProcedureId("mde.live_response.get_library_file"),
    ),
    library(
        "DeleteLibraryFile",
        "Delete a file from Riposte's library (MDE's library copy is left alone)",
        &["RemoveLibraryFile"],
        &[FILE_NAME],
        Risk::Remediate,
        LIBRARY_PERMISSION,
        ProcedureId("mde.live_response.delete_library_file"),
    ),
    library(
        "PushToMdeLibrary",
        "Upload a Riposte library file to MDE's live-response library (POST /api/libraryfiles)",
        &["PushLibraryFile", "SyncLibraryFile", "UploadToMdeLibrary"],
        &[FILE_NAME],
        Risk::Remediate,
        "Library.Manage",
        ProcedureId("mde.live_response.push_to_mde_library"),
    ),
];
