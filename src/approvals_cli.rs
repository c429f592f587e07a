//! `riposte approvals list|show|approve|reject|policy`, and where the approval policy file is.
//!
//! A client of the gateway's `/v1/approvals` (it never talks to Microsoft): an approver lists
//! what waits, reads why it was held, and decides with a reason. The policy file itself is
//! `[approvals] policy = "/etc/riposte/approvals.toml"` in the config file, or
//! `RIPOSTE_APPROVALS_POLICY` (which wins); the gateway re-reads it when it changes
//! (`engine::approvals`).

use crate::jobs_cli::{Client, GatewayArgs};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;

/// The environment variable naming the policy file.
pub const POLICY_ENV: &str = "RIPOSTE_APPROVALS_POLICY";

/// `[approvals]` in the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsSection {
    /// The TOML policy file (see `engine::approvals::policy` for its form).
    pub policy: Option<PathBuf>,
}

/// The policy file to use: `RIPOSTE_APPROVALS_POLICY`, else `[approvals] policy`; none: nothing
/// is held.
pub fn policy_path(section: Option<&ApprovalsSection>) -> Option<PathBuf> {
    std::env::var_os(POLICY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| section.and_then(|s| s.policy.clone()))
}

#[derive(Args, Debug, Clone)]
pub struct ApprovalsArgs {
    #[command(subcommand)]
    pub command: ApprovalsCommand,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ApprovalsCommand {
    /// List approval requests (default: the pending ones), newest first.
    List {
        /// Pending, Approved, Rejected, Expired, or all.
        #[arg(long, default_value = "Pending")]
        status: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one request: what it would do, to what, and why the policy held it.
    Show { id: String },
    /// Approve a request: the held action runs (or the held bulk job starts).
    Approve {
        id: String,
        /// Why (kept in the audit chain).
        #[arg(long)]
        reason: String,
    },
    /// Reject a request: the held action or bulk job never runs.
    Reject {
        id: String,
        /// Why (kept in the audit chain and shown to the requester).
        #[arg(long)]
        reason: String,
    },
    /// The policy in force, its file and the last reload error.
    Policy,
}

pub async fn run(a: ApprovalsArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.gateway)?;
    match a.command {
        ApprovalsCommand::List { status, json } => {
            let path = if status.eq_ignore_ascii_case("all") {
                "/v1/approvals".to_string()
            } else {
                format!("/v1/approvals?status={status}")
            };
            let body = client.send(client.http.get(client.url(&path))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&body)?);
            } else {
                print_table(body["approvals"].as_array().map(Vec::as_slice).unwrap_or_default());
            }
        }
        ApprovalsCommand::Show { id } => {
            let body = client.send(client.http.get(client.url(&format!("/v1/approvals/{id}")))).await?;
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
        ApprovalsCommand::Approve { id, reason } => decide(&client, &id, "approve", &reason).await?,
        ApprovalsCommand::Reject { id, reason } => decide(&client, &id, "reject", &reason).await?,
        ApprovalsCommand::Policy => {
            let body = client.send(client.http.get(client.url("/v1/approvals/policy"))).await?;
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
    }
    Ok(())
}

async fn decide(client: &Client, id: &str, verb: &str, reason: &str) -> anyhow::Result<()> {
    let url = client.url(&format!("/v1/approvals/{id}/{verb}"));
    let body = client.send(client.http.post(url).json(&json!({ "reason": reason }))).await?;
    let status = body["status"].as_str().context("the gateway answered without a status")?;
    println!(
        "{id}: {status} by {} — {} {} ({})",
        body["decided_by"].as_str().unwrap_or("?"),
        body["product"].as_str().unwrap_or(""),
        body["action"].as_str().unwrap_or(""),
        body["subject_href"].as_str().unwrap_or("")
    );
    Ok(())
}

fn print_table(rows: &[Value]) {
    if rows.is_empty() {
        println!("no approval requests");
        return;
    }
    println!(
        "{:<36}  {:<9}  {:<22}  {:<7}  {:<16}  {:<20}  WHY",
        "ID", "STATUS", "ACTION", "TARGETS", "REQUESTER", "EXPIRES"
    );
    for r in rows {
        let why: Vec<String> = r["reasons"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["why"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        println!(
            "{:<36}  {:<9}  {:<22}  {:<7}  {:<16}  {:<20}  {}",
            r["id"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            format!("{} {}", r["product"].as_str().unwrap_or(""), r["action"].as_str().unwrap_or("")),
            r["targets"],
            r["requester"].as_str().unwrap_or(""),
            r["expires_at"].as_str().unwrap_or(""),
            why.join("; ")
        );
    }
}
