#!/usr/bin/env python3
"""Proves Microsoft's own Python SDKs work against the Riposte sandbox.

Usage: python ci/sdk_check.py DESCRIBE_JSON

The describe file comes from `riposte sandbox --tls --describe FILE` (or, before that command
exists, `cargo run -p sandbox --example serve -- --tls --describe FILE`). TLS is required:
azure-identity refuses a non-https authority.

Needs: pip install azure-identity==1.27.0 msgraph-sdk==1.65.0 azure-mgmt-network==33.1.0 azure-mgmt-compute==39.0.0

Checks, for the first tenant:
  1. azure-identity ClientSecretCredential gets a Graph token from the sandbox authority.
  2. msgraph-sdk GraphServiceClient lists users (and pages with $top / @odata.nextLink).
  3. msgraph-sdk PATCHes a user's accountEnabled to false; the sandbox state shows it disabled.
  4. msgraph-sdk revokeSignInSessions returns true; the sandbox state records it.
  5. An unknown user surfaces as ODataError with code Request_ResourceNotFound.
  6. A wrong client secret raises azure.core.exceptions.ClientAuthenticationError.
     Then msgraph-sdk's BatchRequestContent posts a $batch with dependsOn; the failed
     dependency answers 424.
  7. (only if azure-mgmt-network / azure-mgmt-compute are installed, else skipped)
     the ARM SDKs read an NSG with its rules and list / get VMs.
  8. azure-mgmt-network creates an NSG rule with begin_create_or_update(...).result() (a
     long-running operation polled through Azure-AsyncOperation), gets and lists it, is refused a
     conflicting priority (SecurityRuleConflict), and deletes it with begin_delete(...).result();
     the sandbox state shows each step. It moves a NIC to another NSG and back with
     network_interfaces.begin_create_or_update (the NSG lists the NIC while it is bound).
  9. azure-mgmt-compute powers a VM off with begin_power_off(...).result(); the instance view
     and the sandbox state show PowerState/stopped; begin_start brings it back.
 10. azure-mgmt-compute snapshots the VM's OS disk with snapshots.begin_create_or_update.
 11. PyJWT (what MSAL validates with) finds the signing key of a user token for api://riposte
     (`/_sandbox/users/{tenant}/token`) through the v2.0 openid-configuration's jwks_uri and
     verifies it, before and after `/_sandbox/keys/rotate`.
 12. msal's PublicClientApplication signs a registered analyst in with the password grant
     (`/_sandbox/users/{tenant}` registers them) for api://riposte; a wrong password is
     invalid_grant AADSTS50126.
Prints "N passed, M failed" and exits non-zero on any failure.
"""

import asyncio
import json
import os
import ssl
import sys
import traceback
import urllib.request

results = []


def check(name):
    def wrap(fn):
        async def run(*args):
            try:
                await fn(*args)
                results.append((name, True, ""))
                print(f"PASS {name}")
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                results.append((name, False, repr(e)))
                print(f"FAIL {name}: {e!r}")
                traceback.print_exc()

        return run

    return wrap


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
    ca = d.get("ca_pem")
    if not ca:
        print("describe file has no ca_pem: start the sandbox with --tls")
        return 2
    # This machine (and CI) exports SSL_CERT_FILE / REQUESTS_CA_BUNDLE pointing at the system
    # bundle. Point them at the sandbox CA so nothing silently uses the wrong roots; the explicit
    # kwargs below are what we really rely on.
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ[var] = ca
    os.environ.pop("SSL_CERT_DIR", None)
    return asyncio.run(run_checks(d, ca))


async def run_checks(d, ca) -> int:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.user import User
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph_core import GraphClientFactory

    ep = d["endpoints"]
    tenant = d["tenants"][0]
    tid, cid, secret = tenant["tenantId"], tenant["clientId"], tenant["clientSecret"]
    ssl_ctx = ssl.create_default_context(cafile=ca)
    host = ep["graph"].split("://", 1)[1].split(":")[0].split("/")[0]

    def credential(sec):
        return ClientSecretCredential(
            tid,
            cid,
            sec,
            authority=ep["login"],
            disable_instance_discovery=True,
            connection_verify=ca,
        )

    cred = credential(secret)
    auth = AzureIdentityAuthenticationProvider(
        cred, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=[host]
    )
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=ssl_ctx))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = ep["graph"].rstrip("/") + "/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)

    def sandbox_state():
        url = f"{ep['graph'].rstrip('/')}/_sandbox/state/{tid}"
        with urllib.request.urlopen(url, context=ssl_ctx, timeout=10) as r:
            return json.load(r)

    picked = {}

    @check("azure-identity gets a Graph token")
    async def token():
        t = cred.get_token("https://graph.microsoft.com/.default")
        assert t.token.count(".") == 2, "a JWT"
        import time

        assert t.expires_on > time.time() + 3000, f"expires_on {t.expires_on}"

    @check("msgraph-sdk lists users")
    async def list_users():
        page = await graph.users.get()
        assert page.value, "no users"
        assert all(u.id and u.user_principal_name for u in page.value)
        # paging: $top=15 then follow @odata.nextLink
        config = RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                top=15, select=["id", "userPrincipalName", "accountEnabled"]
            )
        )
        first = await graph.users.get(request_configuration=config)
        assert len(first.value) == 15, len(first.value)
        assert first.odata_next_link, "nextLink expected"
        seen = [u.id for u in first.value]
        nxt = first.odata_next_link
        while nxt:
            p = await graph.users.with_url(nxt).get()
            seen += [u.id for u in p.value]
            nxt = p.odata_next_link
        assert len(seen) == len(set(seen)) == len(page.value), (len(seen), len(page.value))
        enabled = [u for u in first.value if u.account_enabled]
        assert enabled, "an enabled user to disable"
        picked["user"] = enabled[0]

    @check("msgraph-sdk PATCH accountEnabled=false disables the user")
    async def disable():
        u = picked["user"]
        await graph.users.by_user_id(u.id).patch(User(account_enabled=False))
        cfg = RequestConfiguration(
            query_parameters=graph.users.by_user_id(u.id).UserItemRequestBuilderGetQueryParameters(
                select=["id", "accountEnabled"]
            )
        )
        again = await graph.users.by_user_id(u.id).get(request_configuration=cfg)
        assert again.account_enabled is False, again.account_enabled
        state = sandbox_state()
        su = next(x for x in state["users"] if x["id"] == u.id)
        assert su["accountEnabled"] is False, su

    @check("msgraph-sdk revokeSignInSessions returns true")
    async def revoke():
        u = picked["user"]
        res = await graph.users.by_user_id(u.user_principal_name).revoke_sign_in_sessions.post()
        value = getattr(res, "value", res)
        assert value is True, res
        su = next(x for x in sandbox_state()["users"] if x["id"] == u.id)
        assert su["sessionsRevokedAt"], su

    @check("unknown user is ODataError Request_ResourceNotFound")
    async def not_found():
        try:
            await graph.users.by_user_id("nobody@example.invalid").get()
        except ODataError as e:
            assert e.response_status_code == 404, e.response_status_code
            assert e.error and e.error.code == "Request_ResourceNotFound", e.error
            return
        raise AssertionError("expected ODataError")

    @check("wrong secret raises ClientAuthenticationError")
    async def wrong_secret():
        try:
            credential("definitely-wrong").get_token("https://graph.microsoft.com/.default")
        except ClientAuthenticationError as e:
            assert "AADSTS7000215" in str(e), str(e)[:300]
            return
        raise AssertionError("expected ClientAuthenticationError")

    @check("msgraph-sdk BatchRequestContent runs requests with dependsOn")
    async def batch():
        from msgraph_core.requests.batch_request_content import BatchRequestContent
        from msgraph_core.requests.batch_request_item import BatchRequestItem

        u = picked["user"]
        first = BatchRequestItem(request_information=graph.users.by_user_id(u.id).to_get_request_information())
        missing = BatchRequestItem(
            request_information=graph.users.by_user_id("nobody@example.invalid").to_get_request_information()
        )
        second = BatchRequestItem(request_information=graph.users.to_get_request_information())
        second.set_depends_on([missing])
        content = BatchRequestContent()
        for item in (first, missing, second):
            content.add_request(item.id, item)
        result = await graph.batch.post(batch_request_content=content)
        codes = result.get_response_status_codes()
        assert codes[first.id] == 200, codes
        assert codes[missing.id] == 404, codes
        assert codes[second.id] == 424, codes
        # msgraph-core 1.x's response_body() hands a BytesIO to a parser that wants bytes (a
        # client bug, also against Graph itself), so the body is not read through it here.
        assert result.get_response_by_id(first.id) is not None

    def sandbox_admin(path, body):
        req = urllib.request.Request(
            f"{ep['graph'].rstrip('/')}/_sandbox/{path}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, context=ssl_ctx, timeout=10) as r:
            return json.load(r)

    @check("PyJWT (MSAL's validator) verifies a user token by OIDC discovery and JWKS, also after a key rotation")
    async def user_token():
        import jwt

        issuer = f"{ep['login'].rstrip('/')}/{tid}/v2.0"
        with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", context=ssl_ctx, timeout=10) as r:
            config = json.load(r)
        assert config["issuer"] == issuer, config["issuer"]
        for rotated in (False, True):
            issued = sandbox_admin(f"users/{tid}/token", {"username": "alice@contoso.com", "roles": ["Riposte.Responder"]})
            keys = jwt.PyJWKClient(config["jwks_uri"], cache_keys=False, ssl_context=ssl_ctx)
            key = keys.get_signing_key_from_jwt(issued["access_token"])
            claims = jwt.decode(
                issued["access_token"], key.key, algorithms=["RS256", "ES256"], audience="api://riposte", issuer=issuer
            )
            assert (claims["preferred_username"], claims["roles"], claims["tid"]) == (
                "alice@contoso.com",
                ["Riposte.Responder"],
                tid,
            ), claims
            if not rotated:
                sandbox_admin("keys/rotate", {})

    @check("msal PublicClientApplication signs an analyst in with the password grant for api://riposte")
    async def password_grant():
        import jwt
        import msal

        sandbox_admin(f"users/{tid}", {"username": "bob@contoso.com", "password": "correct horse", "roles": ["Riposte.Reader"]})
        # MSAL asks https://{host}/common/userrealm/... without the authority's port (Entra is on
        # 443), so against the sandbox's port it would reach nothing; the sandbox serves that route,
        # but here the host is marked as one without realm discovery, which MSAL answers "Managed".
        msal.authority.Authority._domains_without_user_realm_discovery.add(host)
        app = msal.PublicClientApplication(
            "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            authority=f"{ep['login'].rstrip('/')}/{tid}",
            instance_discovery=False,
            verify=ca,
        )
        got = app.acquire_token_by_username_password("bob@contoso.com", "correct horse", scopes=["api://riposte/.default"])
        assert "access_token" in got, got
        claims = jwt.decode(got["access_token"], options={"verify_signature": False})
        assert (claims["preferred_username"], claims["roles"], claims["aud"]) == (
            "bob@contoso.com",
            ["Riposte.Reader"],
            "api://riposte",
        ), claims
        bad = app.acquire_token_by_username_password("bob@contoso.com", "wrong", scopes=["api://riposte/.default"])
        assert bad.get("error") == "invalid_grant" and 50126 in bad.get("error_codes", []), bad

    steps = [token, list_users, disable, revoke, not_found, wrong_secret, batch, user_token, password_grant]

    try:
        from azure.mgmt.compute import ComputeManagementClient
        from azure.mgmt.network import NetworkManagementClient
    except ImportError:
        print("SKIP ARM checks (pip install azure-mgmt-network==33.1.0 azure-mgmt-compute==39.0.0)")
    else:
        mgmt = dict(
            base_url=ep["arm"],
            credential_scopes=["https://management.azure.com/.default"],
            connection_verify=ca,
        )
        sub = tenant["subscriptionId"]

        @check("azure-mgmt-network reads NSGs and rules")
        async def arm_network():
            net = NetworkManagementClient(cred, sub, **mgmt)
            names = [n.name for n in net.network_security_groups.list_all()]
            assert names, "no NSGs"
            rg = next(net.network_security_groups.list_all()).id.split("/")[4]
            nsg = net.network_security_groups.get(rg, names[0])
            assert nsg.security_rules and len(nsg.default_security_rules) == 6
            rule = net.security_rules.get(rg, nsg.name, nsg.security_rules[0].name)
            assert 100 <= rule.priority <= 4096, rule.priority

        @check("azure-mgmt-compute lists and gets VMs")
        async def arm_compute():
            from azure.core.exceptions import ResourceNotFoundError

            cmp = ComputeManagementClient(cred, sub, **mgmt)
            vms = list(cmp.virtual_machines.list_all())
            assert vms, "no VMs"
            rg = vms[0].id.split("/")[4]
            vm = cmp.virtual_machines.get(rg, vms[0].name, expand="instanceView")
            assert vm.vm_id and vm.instance_view.statuses, vm
            try:
                cmp.virtual_machines.get(rg, "no-such-vm")
            except ResourceNotFoundError:
                return
            raise AssertionError("expected ResourceNotFoundError")

        def arm_state():
            return sandbox_state()["arm"]

        @check("azure-mgmt-network creates, lists and deletes an NSG rule (LRO)")
        async def arm_rule_lifecycle():
            from azure.core.exceptions import HttpResponseError
            from azure.mgmt.network.models import SecurityRule

            net = NetworkManagementClient(cred, sub, **mgmt)
            nsg = next(net.network_security_groups.list_all())
            rg = nsg.id.split("/")[4]
            used = {r.priority for r in nsg.security_rules if r.direction == "Inbound"}
            prio = next(p for p in range(300, 4096) if p not in used)
            rule = SecurityRule(
                protocol="*", source_address_prefix="198.51.100.7", destination_address_prefix="*",
                access="Deny", source_port_range="*", destination_port_range="*",
                priority=prio, direction="Inbound", description="riposte sdk check",
            )
            made = net.security_rules.begin_create_or_update(rg, nsg.name, "SdkCheckBlock", rule).result()
            assert made.provisioning_state == "Succeeded", made.provisioning_state
            assert made.priority == prio
            names = [r.name for r in net.security_rules.list(rg, nsg.name)]
            assert "SdkCheckBlock" in names, names
            got = net.security_rules.get(rg, nsg.name, "SdkCheckBlock")
            assert (got.access, got.source_address_prefix, got.priority) == ("Deny", "198.51.100.7", prio), got
            ids = [r["id"] for r in arm_state()["resources"]]
            assert any(i.endswith("/securityRules/SdkCheckBlock") for i in ids)
            try:
                net.security_rules.begin_create_or_update(rg, nsg.name, "SdkCheckClash", rule).result()
            except HttpResponseError as e:
                assert e.error and e.error.code == "SecurityRuleConflict", e.error
            else:
                raise AssertionError("expected SecurityRuleConflict")
            net.security_rules.begin_delete(rg, nsg.name, "SdkCheckBlock").result()
            names = [r.name for r in net.security_rules.list(rg, nsg.name)]
            assert "SdkCheckBlock" not in names, names
            ids = [r["id"] for r in arm_state()["resources"]]
            assert not any(i.endswith("/securityRules/SdkCheckBlock") for i in ids)

        @check("azure-mgmt-network moves a NIC to another NSG and back (LRO)")
        async def arm_nic_nsg():
            net = NetworkManagementClient(cred, sub, **mgmt)
            nic = next(n for n in net.network_interfaces.list_all() if n.network_security_group)
            rg = nic.id.split("/")[4]
            before = nic.network_security_group.id
            other = next(g for g in net.network_security_groups.list_all() if g.id.lower() != before.lower())
            nic.network_security_group = other
            moved = net.network_interfaces.begin_create_or_update(rg, nic.name, nic).result()
            assert moved.network_security_group.id.lower() == other.id.lower(), moved.network_security_group
            nsg = net.network_security_groups.get(other.id.split("/")[4], other.name)
            assert any(n.id.lower() == nic.id.lower() for n in nsg.network_interfaces), nsg.network_interfaces
            nic.network_security_group = net.network_security_groups.get(before.split("/")[4], before.split("/")[-1])
            back = net.network_interfaces.begin_create_or_update(rg, nic.name, nic).result()
            assert back.network_security_group.id.lower() == before.lower()

        @check("azure-mgmt-compute powers a VM off and on (LRO) with instance view")
        async def arm_power():
            cmp = ComputeManagementClient(cred, sub, **mgmt)
            vm = next(iter(cmp.virtual_machines.list_all()))
            rg = vm.id.split("/")[4]
            cmp.virtual_machines.begin_power_off(rg, vm.name).result()
            view = cmp.virtual_machines.instance_view(rg, vm.name)
            codes = [s.code for s in view.statuses]
            assert "PowerState/stopped" in codes, codes
            sv = next(v for v in sandbox_state()["vms"] if v["id"] == vm.id)
            assert sv["powerState"] == "stopped" and sv["provisioningState"] == "Succeeded", sv
            cmp.virtual_machines.begin_start(rg, vm.name).result()
            codes = [s.code for s in cmp.virtual_machines.instance_view(rg, vm.name).statuses]
            assert "PowerState/running" in codes, codes

        @check("azure-mgmt-compute snapshots a VM's OS disk (LRO)")
        async def arm_snapshot():
            from azure.mgmt.compute.models import CreationData, Snapshot

            cmp = ComputeManagementClient(cred, sub, **mgmt)
            vm = next(iter(cmp.virtual_machines.list_all()))
            rg = vm.id.split("/")[4]
            disk = vm.storage_profile.os_disk.managed_disk.id
            snap = Snapshot(location=vm.location, creation_data=CreationData(create_option="Copy", source_resource_id=disk))
            made = cmp.snapshots.begin_create_or_update(rg, "sdk-check-evidence", snap).result()
            assert made.provisioning_state == "Succeeded", made.provisioning_state
            assert made.disk_size_gb, made

        steps += [arm_network, arm_compute, arm_rule_lifecycle, arm_nic_nsg, arm_power, arm_snapshot]

    for step in steps:
        await step()

    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
