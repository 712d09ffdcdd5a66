//! TLS for server connections, with libpq's `sslmode` meanings (DESIGN
//! §11), through rustls and its `ring` provider: nothing outside Cargo is
//! needed to build it.
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked; checked as `verify-ca` when a root certificate is there (as libpq does) |
//! | `verify-ca` | always | signed by a root certificate |
//! | `verify-full` | always | signed by a root certificate, and issued for the host name |
//!
//! The root certificates come from `sslrootcert` (a PEM file, or `system`
//! for the machine's trusted roots, which implies `verify-full` as in
//! libpq), else from `~/.postgresql/root.crt`, where libpq looks. A mode
//! that needs TLS never falls back to plain text.

use crate::backend::location::Location;
use crate::error::{BackendError, RunError};
use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS parameters of a URL, taken out of it: the client library
/// knows only `disable`, `prefer` and `require`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsParameters {
    /// `sslmode`, as written (`None`: libpq's default, `prefer`).
    pub mode: Option<String>,
    /// `sslrootcert`, percent-decoded (libpq's default,
    /// `~/.postgresql/root.crt`, is filled in by `libpq_env::fill_tls`).
    pub root_cert: Option<String>,
    /// `sslcert` or `sslkey`, when the URL names either: client
    /// certificates, which this build does not send.
    pub client_certificate: Option<String>,
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing: the connection is encrypted, not authenticated.
    Nothing,
    /// The chain up to a root certificate.
    Chain,
    /// The chain, and the host name.
    ChainAndName,
}

/// What to connect with: the mode for the client library and the
/// connector that carries it out.
pub(crate) struct Tls {
    /// `disable`, `prefer` or `require`.
    pub mode: SslMode,
    /// The rustls connector.
    pub connector: MakeRustlsConnect,
}

/// Splits the TLS parameters off `url`'s query; the rest is returned for
/// the client library to parse.
pub(crate) fn take_parameters(url: &str) -> (String, TlsParameters) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), TlsParameters::default());
    };
    let mut parameters = TlsParameters::default();
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", value)) => parameters.mode = Some(decoded(value)),
            Some(("sslrootcert", value)) => parameters.root_cert = Some(decoded(value)),
            Some((name @ ("sslcert" | "sslkey"), _)) => {
                parameters.client_certificate = Some(name.to_owned());
            }
            _ => rest.push(pair),
        }
    }
    if rest.is_empty() {
        (base.to_owned(), parameters)
    } else {
        (format!("{base}?{}", rest.join("&")), parameters)
    }
}

fn decoded(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

impl TlsParameters {
    /// The connection's TLS, as libpq would make it for these parameters.
    pub(crate) fn resolve(&self, location: &Location) -> Result<Tls, RunError> {
        let problem = |problem: String| {
            RunError::Backend(BackendError::Tls {
                location: location.to_string(),
                problem,
            })
        };
        if let Some(name) = &self.client_certificate {
            return Err(problem(format!(
                "`{name}` asks for a client certificate, which this build does not send; let the server accept this user by password (scram-sha-256) over TLS, or connect through a proxy that holds the certificate"
            )));
        }
        let system = self.root_cert.as_deref() == Some("system");
        let mode = match self.mode.as_deref() {
            None if system => "verify-full",
            None => "prefer",
            Some(mode) => mode,
        };
        let root_file = self
            .root_cert
            .as_deref()
            .filter(|&root| root != "system")
            .map(PathBuf::from);
        let check = match mode {
            "disable" | "allow" | "prefer" => Check::Nothing,
            // libpq's rule: require checks against a root file that is there.
            "require" if root_file.as_ref().is_some_and(|f| f.exists()) => Check::Chain,
            "require" => Check::Nothing,
            "verify-ca" => Check::Chain,
            "verify-full" => Check::ChainAndName,
            other => {
                return Err(problem(format!(
                    "`sslmode={other}` is not a libpq mode; use disable, allow, prefer, require, verify-ca or verify-full"
                )))
            }
        };
        if system && mode != "verify-full" {
            return Err(problem(format!(
                "sslrootcert=system checks the server against the machine's trusted roots, which needs sslmode=verify-full (not {mode}); drop sslmode or set it to verify-full"
            )));
        }
        let roots = match check {
            Check::Nothing => RootCertStore::empty(),
            _ if system => system_roots().map_err(problem)?,
            _ => file_roots(root_file.as_deref(), mode).map_err(problem)?,
        };
        Ok(Tls {
            mode: match mode {
                "disable" => SslMode::Disable,
                // The client library has no `allow` (plain text first);
                // `prefer` falls back to plain text the same way.
                "allow" | "prefer" => SslMode::Prefer,
                _ => SslMode::Require,
            },
            connector: connector(check, roots).map_err(|e| problem(e.to_string()))?,
        })
    }
}

/// The certificates of a PEM file.
fn file_roots(file: Option<&std::path::Path>, mode: &str) -> Result<RootCertStore, String> {
    let Some(file) = file else {
        return Err(format!(
            "sslmode={mode} checks the server's certificate, and no root certificate was given (nor is HOME set, for ~/.postgresql/root.crt); give sslrootcert=/path/to/root.crt, or sslrootcert=system for the machine's trusted roots"
        ));
    };
    if !file.exists() {
        return Err(format!(
            "sslmode={mode} checks the server's certificate against {}, which does not exist; give the server's root certificate there or as sslrootcert=/path/to/root.crt, use sslrootcert=system for the machine's trusted roots, or lower sslmode to require to encrypt without checking",
            file.display()
        ));
    }
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read the root certificates in {}: {e}",
                file.display()
            )
        })?;
    let (_, rejected) = roots.add_parsable_certificates(certificates);
    if roots.is_empty() {
        return Err(format!(
            "{} holds no usable root certificate ({rejected} rejected); give a PEM file with the server's CA certificate",
            file.display()
        ));
    }
    Ok(roots)
}

/// The machine's trusted roots (`sslrootcert=system`).
fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(format!(
            "sslrootcert=system found no trusted roots on this machine{}; install the CA certificates (ca-certificates) or give sslrootcert=/path/to/root.crt",
            found
                .errors
                .first()
                .map_or_else(String::new, |e| format!(" ({e})"))
        ));
    }
    Ok(roots)
}

fn connector(check: Check, roots: RootCertStore) -> Result<MakeRustlsConnect, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let chain = match check {
        Check::ChainAndName => {
            return Ok(MakeRustlsConnect::new(
                builder.with_root_certificates(roots).with_no_client_auth(),
            ))
        }
        Check::Chain => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| Error::General(e.to_string()))?,
        ),
        Check::Nothing => None,
    };
    let verifier = Arc::new(Short { chain, provider });
    Ok(MakeRustlsConnect::new(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// The checks short of `verify-full`: the chain only (`verify-ca`), or
/// nothing (`prefer`, `require`). The handshake's own signatures are
/// always checked.
#[derive(Debug)]
struct Short {
    /// The chain's verifier, for `verify-ca`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Short {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // The name is checked after the chain, so a name error means the
        // chain held.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(query: &str) -> Result<Tls, RunError> {
        let location = Location::parse(&format!("postgresql://bot:pw@db/shop?{query}")).unwrap();
        let (_, parameters) = take_parameters(&location.postgres_url().unwrap());
        parameters.resolve(&location)
    }

    #[test]
    fn the_tls_parameters_leave_the_url_and_are_decoded() {
        let (rest, parameters) = take_parameters(
            "postgresql://db/shop?application_name=bot&sslmode=verify-full&sslrootcert=%2Fetc%2Froot%20ca.pem",
        );
        assert_eq!(rest, "postgresql://db/shop?application_name=bot");
        assert_eq!(parameters.mode.as_deref(), Some("verify-full"));
        assert_eq!(parameters.root_cert.as_deref(), Some("/etc/root ca.pem"));
        let (rest, parameters) = take_parameters("postgresql://db/shop?sslmode=disable");
        assert_eq!(rest, "postgresql://db/shop");
        assert_eq!(parameters.root_cert, None);
    }

    #[test]
    fn each_mode_maps_to_what_the_client_library_does() {
        for (query, mode) in [
            ("sslmode=disable", SslMode::Disable),
            ("sslmode=allow", SslMode::Prefer),
            ("sslmode=prefer", SslMode::Prefer),
            ("application_name=bot", SslMode::Prefer),
            (
                "sslmode=require&sslrootcert=/nonexistent/root.crt",
                SslMode::Require,
            ),
        ] {
            let tls = resolved(query).unwrap_or_else(|e| panic!("{query}: {e}"));
            assert_eq!(tls.mode, mode, "{query}");
        }
    }

    #[test]
    fn a_check_without_its_root_certificate_says_where_it_looked_and_what_to_do() {
        for mode in ["verify-ca", "verify-full"] {
            let error = resolved(&format!("sslmode={mode}&sslrootcert=/nonexistent/root.crt"))
                .err()
                .unwrap();
            let text = error.to_string();
            assert!(
                matches!(error, RunError::Backend(BackendError::Tls { .. })),
                "{text}"
            );
            assert!(text.contains("/nonexistent/root.crt"), "{text}");
            assert!(text.contains("sslrootcert=system"), "{text}");
            assert!(!text.contains("pw@"), "{text}");
        }
    }

    #[test]
    fn a_mode_libpq_lacks_a_weak_mode_with_system_roots_and_client_certificates_are_refused() {
        let error = resolved("sslmode=required").err().unwrap().to_string();
        assert!(
            error.contains("`sslmode=required` is not a libpq mode"),
            "{error}"
        );
        let error = resolved("sslmode=require&sslrootcert=system")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("needs sslmode=verify-full"), "{error}");
        let error = resolved("sslmode=verify-full&sslcert=/home/bot/bot.crt")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("`sslcert` asks for a client certificate"),
            "{error}"
        );
    }

    #[test]
    fn a_root_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("root.crt");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let error = resolved(&format!(
            "sslmode=verify-full&sslrootcert={}",
            file.display()
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(
            error.contains("holds no usable root certificate"),
            "{error}"
        );
        assert!(error.contains(&file.display().to_string()), "{error}");
    }
}
