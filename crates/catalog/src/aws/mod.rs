//! AWS network containment: SigV4-signed EC2 Query API calls (`Api::Ec2`, API version
//! 2016-11-15), carried out by the engine's `procedures/aws/` (every action reads before it
//! writes, so each is a procedure rather than one templated call).
//!
//! Blocking an address honestly. Seed 002 promised "Block IP (AWS SG)", but a security group is
//! an allow-list: a rule can only admit traffic, so no security-group rule can deny one address.
//! What AWS offers instead, and what these rows do:
//! - **network ACL deny entries** (`BlockIPInNetworkAcl`): a stateless subnet firewall whose
//!   entries are evaluated in rule-number order, so a deny numbered below the allow rules stops
//!   the address in or out of every subnet the ACL guards (the subnets of the target instance, or
//!   every ACL of a VPC);
//! - **revoking the security-group ingress rules that admit the address**
//!   (`RevokeSecurityGroupIngressForIP`): it removes whole rules, so every other source those
//!   rules admitted loses access too; broad rules (wider than /16 or /48) are kept unless asked;
//! - **isolating an instance** (`IsolateInstance`): its security groups swapped for one with no
//!   rules at all, the previous groups remembered in a tag for the inverse.
//!
//! Each write has its inverse, which removes exactly what the write added (or restores exactly
//! what it removed).
use crate::*;

/// The address or range to block; an address is taken as its /32 (or /128).
const IP: ParamSpec = ParamSpec {
    name: "ip",
    aliases: &["ipAddress", "cidr", "cidrBlock", "sourceIp", "address"],
    kind: ParamKind::IpPrefix,
    required: true,
    default: None,
    doc: "The IPv4/IPv6 address or CIDR range (an address is blocked as its /32 or /128)",
};

/// An EC2 instance id (`i-0123456789abcdef0`).
const fn instance(required: bool, doc: &'static str) -> ParamSpec {
    ParamSpec { name: "instanceId", aliases: &["instance"], kind: ParamKind::ResourceId, required, default: None, doc }
}

const VPC: ParamSpec = ParamSpec {
    name: "vpcId",
    aliases: &["vpc"],
    kind: ParamKind::ResourceId,
    required: false,
    default: None,
    doc: "A VPC id (vpc-...)",
};

const NETWORK_ACL: ParamSpec = ParamSpec {
    name: "networkAclId",
    aliases: &["aclId", "nacl", "naclId"],
    kind: ParamKind::ResourceId,
    required: false,
    default: None,
    doc: "One network ACL (acl-...), instead of an instance or a VPC",
};

const DIRECTION: ParamSpec = ParamSpec {
    name: "direction",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Both", "Inbound", "Outbound"] },
    required: false,
    default: Some("Both"),
    doc: "Traffic from the address (Inbound), to it (Outbound), or both",
};

const PROTOCOL: ParamSpec = ParamSpec {
    name: "protocol",
    aliases: &[],
    kind: ParamKind::Enum { values: &["All", "Tcp", "Udp"] },
    required: false,
    default: Some("All"),
    doc: "Protocol of the blocked traffic; Tcp and Udp take a port range (all ports when none)",
};

const FROM_PORT: ParamSpec = ParamSpec {
    name: "fromPort",
    aliases: &["port"],
    kind: ParamKind::Int { min: 0, max: 65535 },
    required: false,
    default: None,
    doc: "First port blocked (Tcp/Udp)",
};

const TO_PORT: ParamSpec = ParamSpec {
    name: "toPort",
    aliases: &[],
    kind: ParamKind::Int { min: 0, max: 65535 },
    required: false,
    default: None,
    doc: "Last port blocked (Tcp/Udp); defaults to fromPort",
};

const GROUP_IDS: ParamSpec = ParamSpec {
    name: "groupIds",
    aliases: &["groupId", "securityGroupIds", "securityGroupId"],
    kind: ParamKind::ResourceIds { max: 50 },
    required: false,
    default: None,
    doc: "Security groups (sg-...)",
};

const NACL_TARGETS: &[ParamSpec] = &[
    IP,
    instance(false, "Block in the network ACLs of this instance's subnets"),
    VPC,
    NETWORK_ACL,
    DIRECTION,
    PROTOCOL,
    FROM_PORT,
    TO_PORT,
];

const NACL_PERMISSION: &str =
    "ec2:DescribeInstances, ec2:DescribeNetworkAcls, ec2:CreateNetworkAclEntry, ec2:DeleteNetworkAclEntry";
const SG_PERMISSION: &str = "ec2:DescribeInstances, ec2:DescribeSecurityGroups, ec2:RevokeSecurityGroupIngress, ec2:AuthorizeSecurityGroupIngress";
const ISOLATE_PERMISSION: &str = "ec2:DescribeInstances, ec2:DescribeSecurityGroups, ec2:CreateSecurityGroup, ec2:RevokeSecurityGroupEgress, ec2:ModifyInstanceAttribute, ec2:CreateTags, ec2:DeleteTags";

/// A read of this product: risk `read`, answered by its procedure.
const fn read(
    name: &'static str,
    summary: &'static str,
    params: &'static [ParamSpec],
    permission: &'static str,
    procedure: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Aws,
        name,
        summary,
        aliases: &[],
        params,
        risk: Risk::Read,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(procedure)),
    }
}

/// A reversible containment of this product, carried out by its procedure.
const fn contain(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    inverse: &'static str,
    permission: &'static str,
    procedure: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Aws,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: Some(inverse),
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(procedure)),
    }
}

/// Every Aws action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[
    read(
        "GetInstances",
        "EC2 instances (DescribeInstances): state, VPC, subnet, addresses and security groups",
        &[
            ParamSpec {
                name: "instanceIds",
                aliases: &["instanceId", "instances"],
                kind: ParamKind::ResourceIds { max: 100 },
                required: false,
                default: None,
                doc: "Only these instances",
            },
            VPC,
        ],
        "ec2:DescribeInstances",
        "aws.instances.list",
    ),
    read(
        "GetNetworkAcls",
        "Network ACLs (DescribeNetworkAcls) with their entries and subnets: of a VPC, of an instance's subnet, or all",
        &[VPC, instance(false, "Only the ACLs of this instance's subnets")],
        "ec2:DescribeNetworkAcls, ec2:DescribeInstances",
        "aws.network_acls.list",
    ),
    read(
        "GetSecurityGroups",
        "Security groups (DescribeSecurityGroups) with their ingress and egress rules: by id, of a VPC, of an instance, or all",
        &[GROUP_IDS, VPC, instance(false, "Only this instance's security groups")],
        "ec2:DescribeSecurityGroups, ec2:DescribeInstances",
        "aws.security_groups.list",
    ),
    contain(
        "BlockIPInNetworkAcl",
        "Deny an address or range in network ACLs (CreateNetworkAclEntry, RuleAction deny), inbound and/or outbound: \
         the ACLs of an instance's subnets, every ACL of a VPC, one ACL, or (no target) every ACL of the tenant's \
         region. The entry takes the lowest free rule \
         number below the ACL's allow rules, so it is evaluated first; a repeat finds the existing entry",
        &["BlockIP", "BlockIPAddress", "BlockIPInNacl", "DenyIPInNetworkAcl", "AddNetworkAclDenyEntry"],
        NACL_TARGETS,
        "UnblockIPInNetworkAcl",
        NACL_PERMISSION,
        "aws.network_acls.block",
    ),
    contain(
        "UnblockIPInNetworkAcl",
        "Remove the network ACL deny entries BlockIPInNetworkAcl added for an address or range (DeleteNetworkAclEntry): \
         only deny entries with exactly that range, direction and protocol, in Riposte's rule-number range",
        &["UnblockIP", "UnblockIPAddress", "UnblockIPInNacl", "RemoveNetworkAclDenyEntry"],
        NACL_TARGETS,
        "BlockIPInNetworkAcl",
        NACL_PERMISSION,
        "aws.network_acls.unblock",
    ),
    contain(
        "RevokeSecurityGroupIngressForIP",
        "Revoke the security-group ingress rules that admit an address (RevokeSecurityGroupIngress): the groups of an \
         instance, these groups, every group of a VPC, or (no target) every group of the tenant's region. Security groups cannot deny, so whole rules go and every \
         other source they admitted loses access too; rules wider than /16 (IPv6 /48) are kept and listed unless \
         includeBroadRules. The revoked rules are kept in the operation's result for RestoreSecurityGroupIngress",
        &["RevokeSecurityGroupIngress", "RevokeIPFromSecurityGroups"],
        &[
            IP,
            instance(false, "Revoke in this instance's security groups"),
            GROUP_IDS,
            VPC,
            ParamSpec {
                name: "includeBroadRules",
                aliases: &[],
                kind: ParamKind::Bool,
                required: false,
                default: Some("false"),
                doc: "Also revoke rules wider than /16 (IPv6 /48), such as 0.0.0.0/0: every source they admit loses access",
            },
        ],
        "RestoreSecurityGroupIngress",
        SG_PERMISSION,
        "aws.security_groups.revoke",
    ),
    contain(
        "RestoreSecurityGroupIngress",
        "Re-authorize the ingress rules a RevokeSecurityGroupIngressForIP operation revoked (AuthorizeSecurityGroupIngress), \
         read from that operation's result; a rule already present again is left as it is",
        &["RestoreSecurityGroupRules", "UndoRevokeSecurityGroupIngress"],
        &[ParamSpec {
            name: "operationId",
            aliases: &["revokeOperationId"],
            kind: ParamKind::Guid,
            required: true,
            default: None,
            doc: "The id of the RevokeSecurityGroupIngressForIP operation to undo",
        }],
        "RevokeSecurityGroupIngressForIP",
        SG_PERMISSION,
        "aws.security_groups.restore",
    ),
    contain(
        "IsolateInstance",
        "Isolate an EC2 instance: its security groups replaced (ModifyInstanceAttribute) by an isolation group with no \
         inbound and no outbound rules (riposte-isolation in its VPC, created when absent, or the one given), the previous \
         groups kept in the instance's riposte:isolated-from tag. Connections already tracked may live on until they \
         idle out; only the primary network interface is changed",
        &["IsolateEC2Instance", "QuarantineInstance"],
        &[
            instance(true, "The instance to isolate"),
            ParamSpec {
                name: "isolationGroupId",
                aliases: &["isolationSecurityGroupId"],
                kind: ParamKind::ResourceId,
                required: false,
                default: None,
                doc: "Use this security group instead of riposte-isolation",
            },
        ],
        "UnisolateInstance",
        ISOLATE_PERMISSION,
        "aws.instances.isolate",
    ),
    contain(
        "UnisolateInstance",
        "Give an isolated EC2 instance back the security groups it had (from its riposte:isolated-from tag) and remove the tag",
        &["ReleaseInstanceFromIsolation", "RestoreInstanceSecurityGroups"],
        &[instance(true, "The isolated instance")],
        "IsolateInstance",
        ISOLATE_PERMISSION,
        "aws.instances.unisolate",
    ),
    ActionSpec {
        product: Product::Aws,
        name: "AddSecurityGroupDenyRule",
        summary: "Deny an address with a security-group rule",
        aliases: &["BlockIPInSecurityGroup", "BlockIPInSG", "DenyIPInSecurityGroup"],
        params: &[IP, GROUP_IDS],
        risk: Risk::Contain,
        inverse: None,
        permission: "ec2:AuthorizeSecurityGroupIngress",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "AWS security groups are allow-lists: every rule admits traffic and none can deny, so no \
                     security-group rule blocks one address. A network ACL deny entry does",
            nearest: Some("BlockIPInNetworkAcl"),
        },
    },
];

/// Effect checks of this product's actions (`verify.rs`): none as GET templates, since EC2 is
/// not read by path; each procedure reads its effect back itself and reports it.
pub static CHECKS: &[verify::Check] = &[];
