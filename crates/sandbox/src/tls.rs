//! A throwaway CA and a server certificate for `localhost` / `127.0.0.1`, generated at start
//! (dependencies.md §4.7), so real SDKs can connect over https by trusting the CA.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// `extra_hosts` adds SANs (e.g. the listen IP when it is not loopback).
pub fn generate(extra_hosts: &[String]) -> anyhow::Result<TlsMaterial> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Riposte Sandbox Test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    for h in extra_hosts {
        if !names.contains(h) {
            names.push(h.clone());
        }
    }
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    // Stricter verifiers (Python 3.13+, rustls) want the authority key identifier.
    leaf.use_authority_key_identifier_extension = true;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca)?;
    Ok(TlsMaterial { ca_pem: ca.pem(), cert_pem: leaf_cert.pem(), key_pem: leaf_key.serialize_pem() })
}
