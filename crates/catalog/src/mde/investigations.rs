//! Automated investigations (upstream-apis.md §2.4): `startInvestigation` answers an
//! Investigation entity, not a MachineAction, and has its own budget of 50 calls per hour.
use super::*;

const INVESTIGATION_ID: ParamSpec =
    resource_id("investigationId", &["id"], "Investigation id, as StartInvestigation or GetInvestigations returned it");

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mde,
        name: "StartInvestigation",
        summary: "Start an automated investigation on devices (50 per hour per tenant)",
        aliases: &["StartAutomatedInvestigation", "InitiateInvestigation", "StartAutoIR"],
        params: &[DEVICE_IDS, comment("Automated investigation started by Riposte")],
        // Remediate: depending on the device group's automation level, the investigation may
        // quarantine files or stop processes on its own.
        risk: Risk::Remediate,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/startInvestigation").budget(Budget::Investigation)),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetInvestigations",
        summary: "List automated investigations, optionally filtered",
        aliases: &["ListInvestigations", "GetAllInvestigations"],
        params: &[FILTER, TOP],
        risk: Risk::Read,
        inverse: None,
        permission: "Alert.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(list("/api/investigations")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetInvestigation",
        summary: "Get one automated investigation and its state",
        aliases: &["GetInvestigationStatus"],
        params: &[INVESTIGATION_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Alert.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/investigations/{investigationId}")),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// startInvestigation has its own documented limit (50 per hour), not MDE's 100 per minute.
    #[test]
    fn start_investigation_draws_from_the_investigation_budget() {
        let Plan::Call(call) = ACTIONS[0].plan else { panic!("a call") };
        assert_eq!(
            (ACTIONS[0].name, call.budget, call.each),
            ("StartInvestigation", Budget::Investigation, Some("deviceIds"))
        );
        assert!(ACTIONS[1..].iter().all(|a| matches!(a.plan, Plan::Call(c) if c.budget == Budget::Default)));
    }
}
