//! TLS for unmodified clients: a local CA, a server certificate for Wix's host names, and the rustls
//! server configuration that serves it.
//!
//! `@wix/sdk` hard-codes `https://www.wixapis.com` (docs/fidelity.md F-01, F-02), so an unmodified app reaches the
//! mock only if those names resolve to it (`/etc/hosts`, `docker --add-host`) and its certificate is
//! trusted. This module makes that certificate with rcgen, never by hand:
//!
//! - by default from a CA whose key is derived from the seed ([`Ids::derived`]), so a fixed seed gives
//!   the same CA run after run and a client trusts it once (the default scenario's seed is fixed);
//! - or from a CA the user gives (`--tls-ca-cert/--tls-ca-key`, e.g. mkcert's);
//! - or it takes a ready server certificate and key as they are (`--tls-cert/--tls-key`).
//!
//! A seed-derived CA key is as public as the seed, so the generated CA carries **name constraints**:
//! it can only vouch for the Wix host names, `localhost`, loopback addresses and any `--tls-host`,
//! never for other sites. This module owns key material and certificates only: no sockets, no HTTP
//! (serving is `server::run_tls`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::ids::Ids;

/// The names the server certificate covers unless told otherwise: the hosts `@wix/sdk` calls
/// (docs/fidelity.md F-01) and the loopback names, so health checks and `curl https://localhost` work too.
pub const DEFAULT_HOSTS: &[&str] = &[
    "www.wixapis.com",
    "edge.wixapis.com",
    "www.wix.com",
    "localhost",
    "127.0.0.1",
    "::1",
];

/// Where the CA certificate is written when no `--tls-ca-out` is given (relative to the working dir).
pub const DEFAULT_CA_OUT: &str = "wix-mock-ca.pem";

/// Where the certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// A CA derived from the seed issues the server certificate.
    Generated,
    /// A CA from PEM files issues the server certificate.
    Ca { cert: PathBuf, key: PathBuf },
    /// A ready server certificate chain and key, used as they are.
    Server { cert: PathBuf, key: PathBuf },
}

/// What to serve HTTPS with.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Where the certificates come from.
    pub source: TlsSource,
    /// Names beyond [`DEFAULT_HOSTS`] the server certificate covers (host names or IP addresses).
    pub extra_hosts: Vec<String>,
}

/// A problem preparing TLS, said so that the user can fix it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A PEM file held nothing usable.
    #[error("{path}: {what}")]
    Pem { path: PathBuf, what: String },
    /// A `--tls-host` is neither a DNS name nor an IP address.
    #[error("--tls-host {0:?} is not a host name or IP address")]
    BadHost(String),
    /// rcgen refused the certificate.
    #[error("cannot make the certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Everything the HTTPS listener needs, and what to tell the user.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The rustls configuration (HTTP/1.1 over ALPN).
    pub config: Arc<rustls::ServerConfig>,
    /// The CA certificate PEM clients should trust; `None` when the user gave a ready server certificate.
    pub ca_pem: Option<String>,
    /// The names the server certificate was issued for (empty for a given certificate).
    pub hosts: Vec<String>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("TlsMaterial")
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

/// Makes (or loads) the certificates and the rustls configuration.
pub fn prepare(options: &TlsOptions, ids: &Ids) -> Result<TlsMaterial, TlsError> {
    let (chain, key, ca_pem, hosts) = certificates(options, ids)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // The listener speaks HTTP/1.1 only (as warp's own server does here); say so, so that no client
    // tries h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        ca_pem,
        hosts,
    })
}

/// The chain (server certificate first), its key, the CA PEM to trust and the names covered.
type Certificates = (
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    Option<String>,
    Vec<String>,
);

fn certificates(options: &TlsOptions, ids: &Ids) -> Result<Certificates, TlsError> {
    let hosts = host_list(&options.extra_hosts)?;
    Ok(match &options.source {
        TlsSource::Server { cert, key } => {
            let chain = read_certs(cert)?;
            let key = read_key(key)?;
            (chain, key, None, Vec::new())
        }
        TlsSource::Generated => {
            let ca_key = SeededKey::derive(ids, "tls/ca-key")?;
            let ca_params = ca_params(ids, &hosts)?;
            let ca_cert = ca_params.self_signed(&ca_key)?;
            let issuer = Issuer::new(ca_params, ca_key);
            let (leaf, key) = issue_leaf(ids, &hosts, &issuer)?;
            let ca_pem = ca_cert.pem();
            (vec![leaf, ca_cert.der().clone()], key, Some(ca_pem), hosts)
        }
        TlsSource::Ca { cert, key } => {
            let ca_pem = read_text(cert)?;
            let key_pem = read_text(key)?;
            let ca_key = KeyPair::from_pem(&key_pem).map_err(|e| TlsError::Pem {
                path: key.clone(),
                what: format!("not a private key rcgen can sign with: {e}"),
            })?;
            let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(|e| TlsError::Pem {
                path: cert.clone(),
                what: format!("not a CA certificate: {e}"),
            })?;
            let ca_der = read_certs(cert)?.remove(0);
            let (leaf, key) = issue_leaf(ids, &hosts, &issuer)?;
            (vec![leaf, ca_der], key, Some(ca_pem), hosts)
        }
    })
}

/// The default names plus the extra ones, each checked, without duplicates.
fn host_list(extra: &[String]) -> Result<Vec<String>, TlsError> {
    let mut hosts: Vec<String> = DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect();
    for h in extra {
        let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        let ok = h.parse::<IpAddr>().is_ok()
            || (!h.is_empty()
                && h.len() <= 253
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'*')
                }));
        if !ok {
            return Err(TlsError::BadHost(h));
        }
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    Ok(hosts)
}

/// A P-256 key that depends only on the seed and `label` (see [`Ids::derived`]). It signs with
/// RFC 6979 deterministic ECDSA (ring's ECDSA draws a random nonce), so a seed's certificates are the
/// same bytes run after run.
pub struct SeededKey {
    signing: p256::ecdsa::SigningKey,
    public: Vec<u8>,
}

impl SeededKey {
    fn derive(ids: &Ids, label: &str) -> Result<SeededKey, TlsError> {
        // A 32-byte string is a valid P-256 scalar unless it is zero or ≥ the group order (odds
        // about 2^-32); the counter only guards that case.
        for n in 0u32..64 {
            let bytes = ids.derived(&format!("{label}/{n}"));
            if let Ok(signing) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                let public = signing
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                return Ok(SeededKey { signing, public });
            }
        }
        Err(rcgen::Error::RingKeyRejected("no valid P-256 scalar".into()).into())
    }

    /// The private key as PKCS#8 DER, for rustls.
    fn pkcs8(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        use p256::pkcs8::EncodePrivateKey;
        let der = p256::SecretKey::from(self.signing.as_nonzero_scalar())
            .to_pkcs8_der()
            .map_err(|e| rcgen::Error::PemError(e.to_string()))?;
        Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            der.as_bytes().to_vec(),
        )))
    }
}

impl rcgen::PublicKeyData for SeededKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for SeededKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = self.signing.sign(msg);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// Validity of generated certificates. Fixed, not read from any clock: TLS clients check it against
/// the real time (the virtual clock may be anywhere), and a fixed window keeps a seed's certificates
/// identical run after run. INFERRED (docs/fidelity.md I-35): local-CA certificates are exempt from the public 398-day limit.
fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
}

fn serial(ids: &Ids, label: &str) -> SerialNumber {
    let mut bytes = ids.derived(label)[..16].to_vec();
    bytes[0] &= 0x7f; // positive
    SerialNumber::from_slice(&bytes)
}

/// The seed-derived CA: may sign only for `hosts`' domains and loopback addresses.
fn ca_params(ids: &Ids, hosts: &[String]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    validity(&mut params);
    params.serial_number = Some(serial(ids, "tls/ca-serial"));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "wix-oauth-mock");
    dn.push(
        DnType::CommonName,
        format!("wix-oauth-mock local CA (seed-derived, {:08x})", {
            let d = ids.derived("tls/ca-name");
            u32::from_be_bytes([d[0], d[1], d[2], d[3]])
        }),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut permitted = Vec::new();
    for h in hosts {
        match h.parse::<IpAddr>() {
            Ok(ip) => permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                ip,
                if ip.is_ipv4() { 32 } else { 128 },
            ))),
            Err(_) => {
                // `www.wixapis.com` → `wixapis.com`: the CA may serve the domain's other hosts
                // (`edge.`, a future `manage.`), but nothing outside it.
                let domain = registrable(h);
                if !permitted.contains(&GeneralSubtree::DnsName(domain.clone())) {
                    permitted.push(GeneralSubtree::DnsName(domain));
                }
            }
        }
    }
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    Ok(params)
}

/// The last two labels of a host name (`www.wixapis.com` → `wixapis.com`); shorter names as they are.
/// INFERRED (docs/fidelity.md I-36): good enough for the names a mock serves; not a public-suffix lookup.
fn registrable(host: &str) -> String {
    let host = host.trim_start_matches("*.");
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() <= 2 {
        host.to_string()
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

/// Issues the server certificate for `hosts` with a seed-derived key.
fn issue_leaf(
    ids: &Ids,
    hosts: &[String],
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let key = SeededKey::derive(ids, "tls/server-key")?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    validity(&mut params);
    params.serial_number = Some(serial(ids, "tls/server-serial"));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "wix-oauth-mock");
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.der().clone(), key.pkcs8()?))
}

fn read_text(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read_text(path)?;
    let certs = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            what: format!("bad PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_path_buf(),
            what: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = read_text(path)?;
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        what: format!("no usable private key: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(seed: u64) -> TlsMaterial {
        let options = TlsOptions {
            source: TlsSource::Generated,
            extra_hosts: vec!["api.example.test".into()],
        };
        prepare(&options, &Ids::new(Some(seed))).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_ca() {
        let (a, b, c) = (generated(7), generated(7), generated(8));
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_ne!(a.ca_pem, c.ca_pem);
        assert!(a.hosts.contains(&"www.wixapis.com".to_string()));
        assert!(a.hosts.contains(&"api.example.test".to_string()));
    }

    /// Whether `chain[0]` is valid for `name` under the CA in `ca_pem` (at a fixed time in 2030).
    fn verifies(chain: &[CertificateDer<'static>], ca_pem: &str, name: &str) -> bool {
        use rustls::client::danger::ServerCertVerifier;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let at = rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            1_900_000_000,
        ));
        let name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], at)
            .is_ok()
    }

    #[test]
    fn a_ca_or_a_certificate_from_files_is_used() {
        // Arrange: the seed-derived CA and its key, written as PEM files, as mkcert's would be.
        use p256::pkcs8::EncodePrivateKey;
        let dir = std::env::temp_dir().join(format!("wix-mock-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ids = Ids::new(Some(7));
        let generated = TlsOptions {
            source: TlsSource::Generated,
            extra_hosts: Vec::new(),
        };
        let (chain, _, ca_pem, _) = certificates(&generated, &ids).unwrap();
        let ca_pem = ca_pem.unwrap();
        let ca_key = SeededKey::derive(&ids, "tls/ca-key").unwrap();
        let key_pem = p256::SecretKey::from(ca_key.signing.as_nonzero_scalar())
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        std::fs::write(&cert_path, &ca_pem).unwrap();
        std::fs::write(&key_path, key_pem.as_bytes()).unwrap();
        let from_ca = TlsOptions {
            source: TlsSource::Ca {
                cert: cert_path.clone(),
                key: key_path.clone(),
            },
            extra_hosts: vec!["manage.wixapis.com".into()],
        };
        // Act
        let (ca_chain, _, ca_out, hosts) = certificates(&from_ca, &Ids::new(Some(8))).unwrap();
        // Assert
        assert!(verifies(&chain, &ca_pem, "www.wixapis.com"));
        assert!(!verifies(&chain, &ca_pem, "www.example.com"));
        assert!(verifies(&ca_chain, &ca_pem, "edge.wixapis.com"));
        assert_eq!(ca_out.as_deref(), Some(ca_pem.as_str()));
        assert!(hosts.contains(&"manage.wixapis.com".to_string()));
        // A ready certificate is served as it is; nothing to trust is written.
        let given = TlsOptions {
            source: TlsSource::Server {
                cert: cert_path.clone(),
                key: key_path.clone(),
            },
            extra_hosts: Vec::new(),
        };
        let material = prepare(&given, &ids).unwrap();
        assert!(material.ca_pem.is_none());
        // Missing and empty files say which file.
        std::fs::write(dir.join("empty.pem"), "").unwrap();
        let bad = TlsOptions {
            source: TlsSource::Ca {
                cert: dir.join("empty.pem"),
                key: key_path,
            },
            extra_hosts: Vec::new(),
        };
        let err = prepare(&bad, &ids).unwrap_err().to_string();
        assert!(err.contains("empty.pem"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_extra_hosts_are_refused() {
        for bad in ["", "a b", "x/y", "user@host"] {
            assert!(host_list(&[bad.to_string()]).is_err(), "{bad:?}");
        }
        assert_eq!(host_list(&["WWW.WIX.COM.".into()]).unwrap().len(), 6);
    }

    #[test]
    fn registrable_keeps_the_last_two_labels() {
        assert_eq!(registrable("www.wixapis.com"), "wixapis.com");
        assert_eq!(registrable("localhost"), "localhost");
        assert_eq!(registrable("*.a.b.c"), "b.c");
    }
}
