//! End-to-end tests of the aws product, against **moto** (PyPI `moto[server]`, AWS's services
//! emulated by the Python project the AWS SDKs test against), not an emulation of our own.
//!
//! Each test starts its own `moto_server` on a free port with signature checks on:
//! `INITIAL_NO_AUTH_ACTION_COUNT` lets the first five actions through unauthenticated (the IAM
//! user, its access key and policy, a role to assume and its policy); from then on moto verifies
//! every SigV4 signature against the IAM keys it holds (a wrong secret is `AuthFailure`, an
//! unknown key to STS `InvalidClientTokenId`). The gateway's AWS tenant assumes that role through
//! moto's STS, so every call of the gateway is signed with assumed-role session keys.
//!
//! moto is found through `RIPOSTE_MOTO_SERVER` (set by `scripts/test`, which installs it), else
//! `moto_server` on the PATH; when neither runs, the test fails saying how to install it.
//! Effects are asserted in moto itself (DescribeNetworkAcls, DescribeSecurityGroups,
//! DescribeInstances) with the account's own keys.

use crate::common::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;
use upstream::aws::items;
use upstream::{
    Api, AssumeRole, AwsCredentials, Clouds, Credential, TenantCredentials, Upstream, UpstreamConfig, UpstreamMetrics,
};

/// Riposte's name for the AWS account in these tests.
pub const TENANT: &str = "aws-e2e";
const REGION: &str = "us-east-1";
/// The IAM setup calls moto lets through before it checks signatures.
const SETUP_ACTIONS: usize = 5;
const INSTALL: &str = "the AWS end-to-end tests run against moto: run `scripts/test` (it installs moto[server]==5.2.5 \
     into a venv and sets RIPOSTE_MOTO_SERVER), or `pip install 'moto[server]==5.2.5'` and set \
     RIPOSTE_MOTO_SERVER to its moto_server";

/// A running moto with an IAM user (whose keys Riposte's tenant holds) and a role to assume.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: url::Url,
    pub key_id: String,
    pub secret: String,
    pub role_arn: String,
    /// A client with the account's own keys, to set up and to inspect moto.
    pub upstream: Upstream,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One VPC with a subnet, a web security group and an instance in it.
pub struct World {
    pub vpc: String,
    pub subnet: String,
    pub group: String,
    pub instance: String,
}

impl Moto {
    /// Starts moto with signature checks on and creates the IAM user, its keys and the role.
    pub async fn start() -> Moto {
        let server = std::env::var("RIPOSTE_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = std::process::Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_ACTIONS.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {server}: {e}\n{INSTALL}"));
        let endpoint = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let mut moto = Moto {
            child,
            endpoint: endpoint.clone(),
            key_id: String::new(),
            secret: String::new(),
            role_arn: String::new(),
            upstream: client(),
        };
        moto.wait_listening(port).await;
        moto.create_identities().await;
        moto
    }

    async fn wait_listening(&mut self, port: u16) {
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited at start ({status})\n{INSTALL}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not listen on port {port} within 15 s\n{INSTALL}");
    }

    /// The five unauthenticated actions: a user with keys allowed everything, and a role.
    async fn create_identities(&mut self) {
        let setup = tenant_with(&self.endpoint, "AKIASETUPONLY", "unchecked-during-setup", None);
        let allow_all =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        self.iam(&setup, "CreateUser", &[("UserName", "riposte")]).await;
        let key = self.iam(&setup, "CreateAccessKey", &[("UserName", "riposte")]).await;
        let key = &key["CreateAccessKeyResult"]["AccessKey"];
        self.key_id = key["AccessKeyId"].as_str().unwrap().to_owned();
        self.secret = key["SecretAccessKey"].as_str().unwrap().to_owned();
        let policy = allow_all.to_string();
        self.iam(
            &setup,
            "PutUserPolicy",
            &[("UserName", "riposte"), ("PolicyName", "all"), ("PolicyDocument", &policy)],
        )
        .await;
        let trust = trust.to_string();
        let role =
            self.iam(&setup, "CreateRole", &[("RoleName", "responder"), ("AssumeRolePolicyDocument", &trust)]).await;
        self.role_arn = role["CreateRoleResult"]["Role"]["Arn"].as_str().unwrap().to_owned();
        self.iam(
            &setup,
            "PutRolePolicy",
            &[("RoleName", "responder"), ("PolicyName", "all"), ("PolicyDocument", &policy)],
        )
        .await;
    }

    async fn iam(&self, creds: &TenantCredentials, action: &str, params: &[(&str, &str)]) -> Value {
        let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.upstream
            .aws_query(creds, &self.endpoint, "iam", "2010-05-08", action, &params)
            .await
            .unwrap_or_else(|e| panic!("moto IAM {action}: {e}"))
            .body
    }

    /// One STS session of the role (`AssumeRole` with the account's keys): its `Credentials`
    /// (`AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`).
    pub async fn assume_role(&self, session: &str) -> Value {
        let params: Vec<(String, String)> =
            vec![("RoleArn".into(), self.role_arn.clone()), ("RoleSessionName".into(), session.into())];
        self.upstream
            .aws_query(&self.owner(), &self.endpoint, "sts", "2011-06-15", "AssumeRole", &params)
            .await
            .unwrap_or_else(|e| panic!("moto STS AssumeRole: {e}"))
            .body["AssumeRoleResult"]["Credentials"]
            .clone()
    }

    /// The account's own keys (no role), to inspect moto.
    pub fn owner(&self) -> TenantCredentials {
        tenant_with(&self.endpoint, &self.key_id, &self.secret, None)
    }

    /// Riposte's tenant: the user's keys, assuming the role through moto's STS.
    pub fn tenant(&self) -> TenantCredentials {
        tenant_with(&self.endpoint, &self.key_id, &self.secret, Some(&self.role_arn))
    }

    /// One EC2 call with the owner's keys.
    pub async fn ec2(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.upstream
            .ec2(&self.owner(), action, &params)
            .await
            .unwrap_or_else(|e| panic!("moto EC2 {action}: {e}"))
            .body
    }

    /// A VPC (with its default network ACL), a subnet, a web security group admitting SSH from
    /// 198.51.100.0/24, HTTPS from anywhere and HTTP from 203.0.113.0/24, and an instance.
    pub async fn world(&self) -> World {
        let vpc =
            self.ec2("CreateVpc", &[("CidrBlock", "10.0.0.0/16")]).await["vpc"]["vpcId"].as_str().unwrap().to_owned();
        let subnet =
            self.ec2("CreateSubnet", &[("VpcId", &vpc), ("CidrBlock", "10.0.1.0/24")]).await["subnet"]["subnetId"]
                .as_str()
                .unwrap()
                .to_owned();
        let group = self
            .ec2("CreateSecurityGroup", &[("GroupName", "web"), ("GroupDescription", "web servers"), ("VpcId", &vpc)])
            .await["groupId"]
            .as_str()
            .unwrap()
            .to_owned();
        for (port, cidr, description) in [
            ("22", "198.51.100.0/24", "ops ssh"),
            ("443", "0.0.0.0/0", "public https"),
            ("80", "203.0.113.0/24", "partner"),
        ] {
            self.ec2(
                "AuthorizeSecurityGroupIngress",
                &[
                    ("GroupId", &group),
                    ("IpPermissions.1.IpProtocol", "tcp"),
                    ("IpPermissions.1.FromPort", port),
                    ("IpPermissions.1.ToPort", port),
                    ("IpPermissions.1.IpRanges.1.CidrIp", cidr),
                    ("IpPermissions.1.IpRanges.1.Description", description),
                ],
            )
            .await;
        }
        let run = self
            .ec2(
                "RunInstances",
                &[
                    ("ImageId", "ami-12c6146b"),
                    ("MinCount", "1"),
                    ("MaxCount", "1"),
                    ("InstanceType", "t3.micro"),
                    ("SubnetId", &subnet),
                    ("SecurityGroupId.1", &group),
                ],
            )
            .await;
        let instance = run["instancesSet"][0]["instanceId"].as_str().unwrap().to_owned();
        World { vpc, subnet, group, instance }
    }

    /// The network ACL guarding `subnet`, as moto shows it.
    pub async fn acl_of(&self, subnet: &str) -> Value {
        let body = self
            .ec2("DescribeNetworkAcls", &[("Filter.1.Name", "association.subnet-id"), ("Filter.1.Value.1", subnet)])
            .await;
        let acls = items(&body["networkAclSet"]);
        assert_eq!(acls.len(), 1, "one ACL guards {subnet}: {body}");
        acls[0].clone()
    }

    pub async fn group(&self, id: &str) -> Value {
        self.ec2("DescribeSecurityGroups", &[("GroupId.1", id)]).await["securityGroupInfo"][0].clone()
    }

    pub async fn instance(&self, id: &str) -> Value {
        self.ec2("DescribeInstances", &[("InstanceId.1", id)]).await["reservationSet"][0]["instancesSet"][0].clone()
    }
}

/// A plain upstream client (the owner's view of moto).
fn client() -> Upstream {
    riposte::install_crypto_provider();
    Upstream::new(UpstreamConfig::microsoft(), std::sync::Arc::new(UpstreamMetrics::new())).expect("an upstream client")
}

/// An AWS tenant whose EC2 and STS are moto.
pub fn tenant_with(endpoint: &url::Url, key_id: &str, secret: &str, role: Option<&str>) -> TenantCredentials {
    let credential = Credential::Aws(AwsCredentials {
        region: REGION.into(),
        access_key_id: key_id.into(),
        secret_access_key: SecretString::from(secret.to_owned()),
        session_token: None,
        assume_role: role.map(|arn| AssumeRole {
            role_arn: arn.into(),
            external_id: None,
            session_name: "riposte-e2e".into(),
            sts_endpoint: Some(endpoint.clone()),
        }),
    });
    TenantCredentials::with_credential(TENANT, key_id, credential)
        .in_clouds(Clouds::microsoft().with_base(Api::Ec2, endpoint.clone()))
}

/// A gateway whose tenants are the sandbox's one plus `extra` AWS tenants.
pub async fn harness(extra: Vec<TenantCredentials>) -> Harness {
    Harness::start_with(1, move |s| s.tenants.extend(extra)).await
}

/// An AWS action on the seed's worker route.
pub async fn aws(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("DefenderXDRAWSWorker", body).await
}

async fn ok(h: &Harness, action: &str, params: Value) -> Value {
    let (status, body) = aws(h, TENANT, action, params).await;
    assert_eq!(status, 200, "{action}: {body}");
    body["data"].clone()
}

/// Deny entries of one direction of an ACL, as (rule number, CIDR).
fn denies(acl: &Value, egress: bool) -> Vec<(u32, String)> {
    let mut found: Vec<(u32, String)> = items(&acl["entrySet"])
        .iter()
        .filter(|e| e["ruleAction"] == "deny" && e["egress"].as_str() == Some(if egress { "true" } else { "false" }))
        .map(|e| (e["ruleNumber"].as_str().unwrap().parse().unwrap(), e["cidrBlock"].as_str().unwrap_or("").to_owned()))
        .filter(|(n, _)| *n != 32767)
        .collect();
    found.sort();
    found
}

fn ingress_cidrs(group: &Value) -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = items(&group["ipPermissions"])
        .iter()
        .flat_map(|p| {
            items(&p["ipRanges"]).iter().map(move |r| {
                (p["fromPort"].as_str().unwrap_or("").to_owned(), r["cidrIp"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test(flavor = "multi_thread")]
async fn block_ip_in_network_acl_denies_in_moto_and_unblock_removes_exactly_ours() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let h = harness(vec![moto.tenant()]).await;

    let data = ok(&h, "BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "instanceId": w.instance })).await;
    assert_eq!(data["verified"], true, "{data}");
    assert_eq!(data["entries"].as_array().unwrap().len(), 2, "inbound and outbound: {data}");
    let acl = moto.acl_of(&w.subnet).await;
    let ours = vec![(1, "198.51.100.7/32".to_owned())];
    assert_eq!((denies(&acl, false), denies(&acl, true)), (ours.clone(), ours.clone()), "{acl}");

    // A repeat finds the entry; another address takes the next free number.
    let again = ok(&h, "BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "instanceId": w.instance })).await;
    assert!(
        again["entries"].as_array().unwrap().iter().all(|e| e["created"] == false && e["ruleNumber"] == 1),
        "{again}"
    );
    ok(&h, "BlockIP", json!({ "ipAddress": "203.0.113.0/24", "vpcId": w.vpc, "direction": "Inbound", "protocol": "Tcp", "fromPort": 22 }))
        .await;
    let acl = moto.acl_of(&w.subnet).await;
    assert_eq!(denies(&acl, false), vec![(1, "198.51.100.7/32".to_owned()), (2, "203.0.113.0/24".to_owned())]);
    assert_eq!(denies(&acl, true), ours, "the inbound-only block left outbound alone");
    let tcp = items(&acl["entrySet"]).iter().find(|e| e["ruleNumber"] == "2").unwrap().clone();
    assert_eq!(
        (tcp["protocol"].as_str(), tcp["portRange"]["from"].as_str(), tcp["portRange"]["to"].as_str()),
        (Some("6"), Some("22"), Some("22"))
    );

    // Two blocks at once on one ACL both succeed, with different numbers.
    let acl_id = acl["networkAclId"].as_str().unwrap().to_owned();
    let (a, b) = tokio::join!(
        aws(
            &h,
            TENANT,
            "BlockIPInNetworkAcl",
            json!({ "ip": "192.0.2.10", "networkAclId": acl_id, "direction": "Inbound" })
        ),
        aws(
            &h,
            TENANT,
            "BlockIPInNetworkAcl",
            json!({ "ip": "192.0.2.11", "networkAclId": acl_id, "direction": "Inbound" })
        ),
    );
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    let numbers: Vec<u32> = denies(&moto.acl_of(&w.subnet).await, false).iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![1, 2, 3, 4], "no clash");

    // The reads show the entries (every ACL of the region when no target is named).
    let all = ok(&h, "GetNetworkAcls", json!({})).await;
    assert!(all["value"].as_array().unwrap().iter().any(|a| a["networkAclId"] == acl_id.as_str()), "{all}");
    // The inverse removes exactly ours.
    let read = ok(&h, "GetNetworkAcls", json!({ "instanceId": w.instance })).await;
    assert!(
        read["value"][0]["entries"].as_array().unwrap().iter().any(|e| e["cidrBlock"] == "198.51.100.7/32"),
        "{read}"
    );
    let undone = ok(&h, "UnblockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "instanceId": w.instance })).await;
    assert_eq!(undone["verified"], true, "{undone}");
    let acl = moto.acl_of(&w.subnet).await;
    assert!(!denies(&acl, false).iter().chain(denies(&acl, true).iter()).any(|(_, c)| c == "198.51.100.7/32"), "{acl}");
    assert_eq!(denies(&acl, false).len(), 3, "the other blocks stay: {acl}");
    assert!(
        items(&acl["entrySet"]).iter().any(|e| e["ruleNumber"] == "100" && e["ruleAction"] == "allow"),
        "allow rules untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_ingress_for_an_ip_removes_the_admitting_rules_and_restore_brings_them_back() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let h = harness(vec![moto.tenant()]).await;
    let before = ingress_cidrs(&moto.group(&w.group).await);

    let (status, body) =
        aws(&h, TENANT, "RevokeSecurityGroupIngressForIP", json!({ "ip": "198.51.100.7", "instanceId": w.instance }))
            .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["verified"], true, "{data}");
    assert_eq!(data["revoked"].as_array().unwrap().len(), 1, "only the SSH rule admits it: {data}");
    assert_eq!(data["revoked"][0]["cidr"], "198.51.100.0/24");
    assert_eq!(data["kept"][0]["rule"]["cidr"], "0.0.0.0/0", "broad rules are kept unless asked: {data}");
    let after = ingress_cidrs(&moto.group(&w.group).await);
    assert_eq!(after, vec![("443".to_owned(), "0.0.0.0/0".to_owned()), ("80".to_owned(), "203.0.113.0/24".to_owned())]);

    let read = ok(&h, "GetSecurityGroups", json!({ "instanceId": w.instance })).await;
    assert_eq!(read["value"][0]["groupId"], w.group.as_str(), "{read}");

    let operation = body["operationId"].as_str().unwrap();
    let restored = ok(&h, "RestoreSecurityGroupIngress", json!({ "operationId": operation })).await;
    assert_eq!(restored["verified"], true, "{restored}");
    let group = moto.group(&w.group).await;
    assert_eq!(ingress_cidrs(&group), before, "the revoked rule is back");
    let ssh = items(&group["ipPermissions"]).iter().find(|p| p["fromPort"] == "22").unwrap().clone();
    assert_eq!(ssh["ipRanges"][0]["description"], "ops ssh", "with its description: {ssh}");

    // Broad rules go only when asked; the restore of a restore's operation is refused by name.
    let data = ok(
        &h,
        "RevokeSecurityGroupIngressForIP",
        json!({ "ip": "192.0.2.1", "groupIds": [w.group.clone()], "includeBroadRules": true }),
    )
    .await;
    assert_eq!(data["revoked"][0]["cidr"], "0.0.0.0/0", "{data}");
    let (status, body) =
        aws(&h, TENANT, "RestoreSecurityGroupIngress", json!({ "operationId": uuid::Uuid::new_v4().to_string() }))
            .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("operationId")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn isolating_an_instance_swaps_its_groups_for_an_empty_one_and_back() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let h = harness(vec![moto.tenant()]).await;

    let data = ok(&h, "IsolateInstance", json!({ "instanceId": w.instance })).await;
    assert_eq!(data["verified"], true, "{data}");
    assert_eq!(data["previousGroupIds"], json!([w.group]));
    let isolation = data["isolationGroupId"].as_str().unwrap().to_owned();
    let instance = moto.instance(&w.instance).await;
    let groups: Vec<&str> = items(&instance["groupSet"]).iter().map(|g| g["groupId"].as_str().unwrap()).collect();
    assert_eq!(groups, vec![isolation.as_str()], "{instance}");
    let tag = items(&instance["tagSet"]).iter().find(|t| t["key"] == "riposte:isolated-from").cloned();
    assert_eq!(tag.map(|t| t["value"].clone()), Some(json!(w.group)), "{instance}");
    let group = moto.group(&isolation).await;
    assert_eq!(group["groupName"], "riposte-isolation");
    assert!(
        items(&group["ipPermissions"]).is_empty() && items(&group["ipPermissionsEgress"]).is_empty(),
        "no rule at all: {group}"
    );

    // A repeat keeps the remembered groups.
    let again = ok(&h, "IsolateInstance", json!({ "instanceId": w.instance })).await;
    assert_eq!((again["alreadyIsolated"].as_bool(), again["previousGroupIds"].clone()), (Some(true), json!([w.group])));
    let read = ok(&h, "GetInstances", json!({ "instanceIds": [w.instance.clone()] })).await;
    assert_eq!(read["value"][0]["securityGroups"][0]["groupId"], isolation.as_str(), "{read}");

    let back = ok(&h, "UnisolateInstance", json!({ "instanceId": w.instance })).await;
    assert_eq!(back["verified"], true, "{back}");
    let instance = moto.instance(&w.instance).await;
    let groups: Vec<&str> = items(&instance["groupSet"]).iter().map(|g| g["groupId"].as_str().unwrap()).collect();
    assert_eq!(groups, vec![w.group.as_str()]);
    assert!(!items(&instance["tagSet"]).iter().any(|t| t["key"] == "riposte:isolated-from"), "tag removed: {instance}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_and_bad_input_are_clear_answers() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let wrong_secret = TenantCredentials {
        tenant_id: "aws-wrong-secret".into(),
        ..tenant_with(&moto.endpoint, &moto.key_id, "not-the-secret", None)
    };
    let unknown_key = TenantCredentials {
        tenant_id: "aws-unknown-key".into(),
        ..tenant_with(&moto.endpoint, "AKIAUNKNOWNKEY000000", "whatever", Some(&moto.role_arn))
    };
    let h = harness(vec![moto.tenant(), wrong_secret, unknown_key]).await;

    // A wrong secret: EC2 refuses the signature.
    let (status, body) = aws(&h, "aws-wrong-secret", "GetInstances", json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("AuthFailure")), "{body}");
    assert!(!body.to_string().contains("not-the-secret"), "the secret never shows: {body}");
    // An unknown key: STS refuses to assume the role.
    let (status, body) =
        aws(&h, "aws-unknown-key", "BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "vpcId": w.vpc })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("InvalidClientTokenId")), "{body}");

    // Readiness assumes each AWS tenant's role: the good one is ready, the unknown key is not.
    let (_, ready) = h.get("/readyz").await;
    let check = |name: &str| ready["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned();
    assert_eq!(check("token:aws-e2e:Ec2").map(|c| c["ok"].clone()), Some(json!(true)), "{ready}");
    let refused = check("token:aws-unknown-key:Ec2").expect("the unknown key's check");
    assert!(refused["ok"] == false && refused["error"].as_str().unwrap().contains("InvalidClientTokenId"), "{ready}");

    // Bad input names the field.
    let cases = [
        ("BlockIPInNetworkAcl", json!({ "ip": "198.51.100.300", "vpcId": w.vpc }), "ip"),
        ("BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "instanceId": "i-0123456789abcdef0" }), "instanceId"),
        ("BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "vpcId": w.vpc, "instanceId": w.instance }), "vpcId"),
        ("BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "vpcId": w.vpc, "fromPort": 22 }), "protocol"),
        ("IsolateInstance", json!({ "instanceId": "i-0123456789abcdef0" }), "instanceId"),
        ("RevokeSecurityGroupIngressForIP", json!({ "ip": "198.51.100.7", "vpcId": "vpc-00000000000000000" }), "vpcId"),
    ];
    for (action, params, field) in cases {
        let (status, body) = aws(&h, TENANT, action, params.clone()).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{action} {params}: {body}");
    }
    // An AWS action for a Microsoft tenant names the tenant.
    let (status, body) = aws(&h, &h.tenant(0), "GetInstances", json!({})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("tenantId")), "{body}");
    // The honest refusal: a security group cannot deny.
    let (status, body) = aws(&h, TENANT, "BlockIPInSecurityGroup", json!({ "ip": "198.51.100.7" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (501, Some("NotSupported")), "{body}");
}

/// A temporary credential AWS no longer honours. moto 5.2.5 cannot expire one: it recomputes
/// each signature with the request's own `X-Amz-Date` (a stale date passes) and never compares
/// a session's `Expiration` with the clock, so it never answers EC2's `RequestExpired` or STS's
/// `ExpiredToken` (their mapping, AWS's 400 to a 502 naming the code, is unit-tested in
/// `crates/upstream/src/aws/xml.rs`). The closest real thing moto produces is tested here: the
/// keys of one of its STS sessions presented with a session token it does not hold for them
/// (a superseded session's), which EC2 refuses as `AuthFailure`: a 502 naming AWS's code, the
/// secret and the token never shown.
#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_credential_moto_no_longer_honours_is_a_502_naming_the_code() {
    let moto = Moto::start().await;
    let w = moto.world().await;
    let older = moto.assume_role("riposte-e2e-older").await;
    let newer = moto.assume_role("riposte-e2e-newer").await;
    let key = |c: &Value, k: &str| c[k].as_str().unwrap_or_else(|| panic!("{k} in {c}")).to_owned();
    let secret = key(&older, "SecretAccessKey");
    let stale_token = key(&newer, "SessionToken");
    let session = |name: &str, c: &Value, token: &str| {
        let mut creds = TenantCredentials {
            tenant_id: name.into(),
            ..tenant_with(&moto.endpoint, &key(c, "AccessKeyId"), &key(c, "SecretAccessKey"), None)
        };
        if let Credential::Aws(aws) = &mut creds.credential {
            aws.session_token = Some(SecretString::from(token.to_owned()));
        }
        creds
    };
    let stale = session("aws-stale-session", &older, &stale_token);
    let current = session("aws-current-session", &newer, &stale_token);
    let h = harness(vec![moto.tenant(), stale, current]).await;

    let (status, body) =
        aws(&h, "aws-stale-session", "BlockIPInNetworkAcl", json!({ "ip": "198.51.100.7", "vpcId": w.vpc })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("AuthFailure")), "{body}");
    let shown = body.to_string();
    assert!(!shown.contains(&secret) && !shown.contains(&stale_token), "no secret or token shown: {shown}");
    // Nothing was blocked: the VPC's ACL holds no deny of ours.
    let acl = moto.ec2("DescribeNetworkAcls", &[("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", &w.vpc)]).await;
    let entries = acl.to_string();
    assert!(!entries.contains("198.51.100.7"), "{entries}");
    // The token with its own session's keys works: it was the pairing that moto refused.
    let (status, body) = aws(&h, "aws-current-session", "GetInstances", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

/// Pools of AWS ids for the seed-shape test (`seed_shapes.rs`): the world's instance, and a
/// revoke operation for `RestoreSecurityGroupIngress` to undo.
pub async fn shape_pools(h: &Harness, w: &World) -> Vec<(&'static str, Vec<String>)> {
    let revoke = json!({ "ip": "203.0.113.9", "groupIds": [w.group.clone()] });
    let (status, body) = aws(h, TENANT, "RevokeSecurityGroupIngressForIP", revoke).await;
    assert_eq!(status, 200, "the fixture revoke: {body}");
    let operation = body["operationId"].as_str().expect("an operation id").to_owned();
    vec![("instanceId", vec![w.instance.clone()]), ("operationId", vec![operation])]
}
