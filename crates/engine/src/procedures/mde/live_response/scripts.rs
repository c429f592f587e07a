//! Riposte's built-in helper scripts, uploaded to MDE's library on demand, and the argument
//! quoting that keeps caller values from becoming script code.

use catalog::ParamError;

/// A script Riposte ships: its library name and its body.
pub struct Builtin {
    pub name: &'static str,
    pub body: &'static str,
    pub description: &'static str,
    pub parameters: Option<&'static str>,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "GetProcesses.ps1",
        description: "Lists running processes (Riposte built-in)",
        parameters: None,
        body: "Get-Process | Sort-Object Id | Format-Table -AutoSize Id, ProcessName\n",
    },
    Builtin {
        name: "KillProcess.ps1",
        description: "Stops a process by id or name (Riposte built-in)",
        parameters: Some("-ProcessId <pid> | -Name <process name>"),
        body: "param([int]$ProcessId, [string]$Name)\n$ErrorActionPreference = 'Stop'\n\
if ($ProcessId) { Stop-Process -Id $ProcessId -Force; \"Stopped process(es) $ProcessId.\" }\n\
elseif ($Name) { $p = Get-Process -Name ($Name -replace '\\.exe$',''); $p | Stop-Process -Force; \"Stopped process(es) $($p.Id -join ', ').\" }\n\
else { throw 'KillProcess: give -ProcessId <pid> or -Name <process name>.' }\n",
    },
    Builtin {
        name: "GetRegistryValue.ps1",
        description: "Reads a registry value (Riposte built-in)",
        parameters: Some("-Path <key> -Name <value name>"),
        body: "param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][string]$Name)\n$ErrorActionPreference = 'Stop'\n\
$v = Get-ItemPropertyValue -Path \"Registry::$Path\" -Name $Name\n\"$Path\\$Name = $v\"\n",
    },
    Builtin {
        name: "SetRegistryValue.ps1",
        description: "Writes a registry value (Riposte built-in)",
        parameters: Some("-Path <key> -Name <value name> -Value <data> -Type <kind>"),
        body: "param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][string]$Value, [string]$Type = 'String')\n\
$ErrorActionPreference = 'Stop'\nif (-not (Test-Path \"Registry::$Path\")) { New-Item -Path \"Registry::$Path\" -Force | Out-Null }\n\
Set-ItemProperty -Path \"Registry::$Path\" -Name $Name -Value $Value -Type $Type\n\"Set $Path\\$Name = $Value\"\n",
    },
    Builtin {
        name: "DeleteRegistryValue.ps1",
        description: "Deletes a registry value (Riposte built-in)",
        parameters: Some("-Path <key> -Name <value name>"),
        body: "param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][string]$Name)\n$ErrorActionPreference = 'Stop'\n\
Remove-ItemProperty -Path \"Registry::$Path\" -Name $Name\n\"Deleted $Path\\$Name\"\n",
    },
    Builtin {
        name: "FindFiles.ps1",
        description: "Finds files under a folder (Riposte built-in)",
        parameters: Some("-Path <folder> -Pattern <wildcard>"),
        body: "param([string]$Path = \"$env:SystemDrive\\\", [string]$Pattern = '*')\n\
Get-ChildItem -Path $Path -Filter $Pattern -Recurse -File -ErrorAction SilentlyContinue | ForEach-Object { \"$($_.FullName)`t$($_.Length)\" }\n",
    },
    Builtin {
        name: "GetFileInfo.ps1",
        description: "Size and SHA-256 of a file (Riposte built-in)",
        parameters: Some("-Path <file>"),
        body: "param([Parameter(Mandatory)][string]$Path)\n$ErrorActionPreference = 'Stop'\n$f = Get-Item -LiteralPath $Path\n\
\"Path: $($f.FullName)`nLength: $($f.Length)`nSHA256: $((Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLower())\"\n",
    },
    Builtin {
        name: "get_processes.sh",
        description: "Lists running processes (Riposte built-in)",
        parameters: None,
        body: "#!/bin/bash\nset -euo pipefail\nps -eo pid,comm\n",
    },
    Builtin {
        name: "kill_process.sh",
        description: "Stops a process by id or name (Riposte built-in)",
        parameters: Some("<pid> | <process name>"),
        body: "#!/bin/bash\nset -euo pipefail\nt=\"${1:?give a pid or a process name}\"\n\
if [[ \"$t\" =~ ^[0-9]+$ ]]; then kill -9 \"$t\"; else pkill -9 -x \"$t\"; fi\necho \"Stopped process(es) $t.\"\n",
    },
    Builtin {
        name: "find_files.sh",
        description: "Finds files under a folder (Riposte built-in)",
        parameters: Some("<folder> <wildcard>"),
        body: "#!/bin/bash\nset -uo pipefail\nfind \"${1:-/}\" -type f -name \"${2:-*}\" -printf '%p\\t%s\\n' 2>/dev/null\n",
    },
    Builtin {
        name: "get_file_info.sh",
        description: "Size and SHA-256 of a file (Riposte built-in)",
        parameters: Some("<file>"),
        body: "#!/bin/bash\nset -euo pipefail\nf=\"${1:?give a file}\"\n\
printf 'Path: %s\\nLength: %s\\nSHA256: %s\\n' \"$f\" \"$(stat -c %s \"$f\")\" \"$(sha256sum \"$f\" | cut -d' ' -f1)\"\n",
    },
];

pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name.eq_ignore_ascii_case(name))
}

/// A caller value as one single-quoted script argument. Quotes and control characters are
/// refused rather than escaped: PowerShell and sh escape differently, and a value that could end
/// its quotes could run code on the device.
pub fn quote(field: &str, value: &str) -> Result<String, ParamError> {
    if let Some(c) = value.chars().find(|c| matches!(c, '\'' | '"' | '`') || c.is_control()) {
        return Err(ParamError {
            field: field.to_string(),
            message: format!(
                "contains '{}', which cannot be passed safely to a live-response script",
                c.escape_default()
            ),
            hint: "remove quotes, backticks and control characters from the value".to_string(),
        });
    }
    Ok(format!("'{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_or_refused() {
        assert_eq!(quote("p", r"HKLM\SOFTWARE\Contoso").unwrap(), r"'HKLM\SOFTWARE\Contoso'");
        for bad in ["a'; Remove-Item C:\\ -Recurse; '", "a\"b", "a`b", "a\nb"] {
            assert_eq!(quote("registryPath", bad).unwrap_err().field, "registryPath");
        }
    }

    #[test]
    fn builtins_have_library_names() {
        for b in BUILTINS {
            assert!(library::check_name(b.name, "fileName").is_ok(), "{}", b.name);
        }
        assert!(builtin("getprocesses.PS1").is_some());
    }
}
