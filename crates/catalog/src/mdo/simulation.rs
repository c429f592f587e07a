//! Attack simulation and training (Graph `security/attackSimulation`): the seed's
//! `SimulatePhishing` posted a body Graph does not know; the row sends the documented simulation
//! (`displayName`, `attackTechnique`, `attackType`, `payloadDeliveryPlatform`, `status`,
//! `includedAccountTarget` of address-book targets, `payload@odata.bind`). Graph answers 202 with
//! a `Location` on an `attackSimulationOperation` (`notStarted`, `running`, `succeeded`,
//! `failed`), which the engine follows (`Completion::GraphAccepted`). A simulation needs a
//! payload: `GetSimulationPayloads` lists them.
use super::*;

const TECHNIQUES: &[&str] =
    &["credentialHarvesting", "attachmentMalware", "driveByUrl", "linkInAttachment", "linkToMalwareFile"];

const NAME: ParamSpec = ParamSpec {
    name: "displayName",
    aliases: &["campaignName", "simulationName"],
    kind: ParamKind::Text { max: 256 },
    required: true,
    default: None,
    doc: "Name of the simulation campaign",
};
const TARGETS: ParamSpec = ParamSpec {
    name: "targetUsers",
    aliases: &["accountTargetEmails", "targets"],
    kind: ParamKind::EmailAddresses { max: 500 },
    required: true,
    default: None,
    doc: "Addresses of the users the simulated phish is sent to",
};
const PAYLOAD: ParamSpec = ParamSpec {
    name: "payloadId",
    aliases: &["payload"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The simulated phish to send, from GetSimulationPayloads",
};
const TECHNIQUE: ParamSpec = ParamSpec {
    name: "attackTechnique",
    aliases: &["technique"],
    kind: ParamKind::Enum { values: TECHNIQUES },
    required: false,
    default: Some("credentialHarvesting"),
    doc: "credentialHarvesting, attachmentMalware, driveByUrl, linkInAttachment or linkToMalwareFile",
};
const DAYS: ParamSpec = ParamSpec {
    name: "durationInDays",
    aliases: &["durationDays"],
    kind: ParamKind::Int { min: 1, max: 30 },
    required: false,
    default: Some("2"),
    doc: "How many days the simulation runs (1-30)",
};
const LAUNCH: ParamSpec = ParamSpec {
    name: "launchDateTime",
    aliases: &["launchDate"],
    kind: ParamKind::DateTime,
    required: false,
    default: None,
    doc: "When to launch it (RFC 3339); now when absent",
};
const SOURCE: ParamSpec = ParamSpec {
    name: "source",
    aliases: &[],
    kind: ParamKind::Enum { values: &["global", "tenant"] },
    required: false,
    default: Some("global"),
    doc: "Microsoft's payloads (global) or the tenant's own (tenant); Graph requires the filter",
};

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::Mdo,
        "GetSimulationPayloads",
        "List the attack simulation payloads (Microsoft's or the tenant's)",
        &["ListSimulationPayloads"],
        &[SOURCE],
        "AttackSimulation.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/security/attackSimulation/payloads")
            .filter_eq(&[("source", "source")])
            .paged(),
    ),
    ActionSpec {
        product: Product::Mdo,
        name: "SimulatePhishing",
        summary: "Launch a phishing simulation (attack simulation training) against the given users",
        aliases: &["CreatePhishingSimulation", "CreateAttackSimulation"],
        params: &[NAME, TARGETS, PAYLOAD, TECHNIQUE, DAYS, LAUNCH],
        risk: Risk::Contain,
        inverse: None,
        permission: "AttackSimulation.ReadWrite.All",
        completion: Completion::GraphAccepted,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Post, "/v1.0/security/attackSimulation/simulations").body(&[
            ("displayName", BodyValue::Param("displayName")),
            ("attackTechnique", BodyValue::Param("attackTechnique")),
            ("attackType", BodyValue::Literal("\"social\"")),
            ("payloadDeliveryPlatform", BodyValue::Literal("\"email\"")),
            ("status", BodyValue::Literal("\"scheduled\"")),
            ("durationInDays", BodyValue::Param("durationInDays")),
            ("launchDateTime", BodyValue::Param("launchDateTime")),
            (
                "payload@odata.bind",
                BodyValue::Format("https://graph.microsoft.com/v1.0/security/attackSimulation/payloads/{payloadId}"),
            ),
            (
                "includedAccountTarget/@odata.type",
                BodyValue::Literal("\"#microsoft.graph.addressBookAccountTargetContent\""),
            ),
            ("includedAccountTarget/type", BodyValue::Literal("\"addressBook\"")),
            ("includedAccountTarget/accountTargetEmails", BodyValue::Param("targetUsers")),
            ("trainingSetting/settingType", BodyValue::Literal("\"noTraining\"")),
        ])),
    },
];
