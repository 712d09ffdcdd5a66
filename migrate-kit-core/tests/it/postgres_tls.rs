//! TLS on a real server, as libpq's `sslmode` values mean it: the server's
//! own certificate serves as the root, and a check that fails refuses the
//! connection instead of falling back to plain text.

use crate::pg::TestDb;
use migrate_kit_core::postgres::connect;
use migrate_kit_core::{BackendError, Location, Migrations, RunError};
use std::path::PathBuf;

/// The server's certificate, when the server offers TLS and the file is
/// readable here (a local server); otherwise the test says it skipped.
fn server_certificate(db: &TestDb, test: &str) -> Option<PathBuf> {
    let ssl = db.column("SHOW ssl");
    if ssl != ["on"] {
        eprintln!("skipped {test}: the test server has ssl off");
        return None;
    }
    let file = PathBuf::from(db.column("SHOW ssl_cert_file").remove(0));
    if std::fs::read(&file).is_err() {
        eprintln!(
            "skipped {test}: the server's certificate {} is not readable here",
            file.display()
        );
        return None;
    }
    Some(file)
}

/// The test database's URL with `query` appended, its host replaced when
/// `host` is given.
fn location(db: &TestDb, host: Option<&str>, query: &str) -> Location {
    let mut url = db.url().to_owned();
    if let Some(host) = host {
        url = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    }
    Location::parse(&format!("{url}?{query}")).unwrap()
}

/// Whether the connection is encrypted, as the server sees it.
fn encrypted(client: &mut postgres::Client) -> bool {
    let rows = client
        .simple_query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap();
    rows.iter().any(|m| match m {
        postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("true"),
        _ => false,
    })
}

fn one_table_set() -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::migration(
        "001",
        "none",
        "CREATE TABLE customers (id bigint PRIMARY KEY);",
        Some("DROP TABLE customers;"),
    );
    let folder = crate::support::write_folder(dir.path(), &[("001_customers.sql", file)]);
    let set = Migrations::from_dir(&folder).unwrap();
    (dir, set)
}

#[test]
fn prefer_and_require_encrypt_and_disable_does_not() {
    let Some(db) = TestDb::create("tls_modes") else {
        return;
    };
    let Some(_) = server_certificate(&db, "tls_modes") else {
        return;
    };
    // libpq's default is prefer: TLS when the server offers it.
    let mut client = connect(&location(&db, None, "application_name=bot")).unwrap();
    assert!(encrypted(&mut client));
    let mut client = connect(&location(&db, None, "sslmode=require")).unwrap();
    assert!(encrypted(&mut client));
    // A whole run over TLS.
    let (_dir, set) = one_table_set();
    set.upgrade(&mut client, "head").unwrap();
    assert_eq!(
        db.column("SELECT version_num FROM alembic_version"),
        ["001"]
    );
    let mut client = connect(&location(&db, None, "sslmode=disable")).unwrap();
    assert!(!encrypted(&mut client));
    let mut client = connect(&location(&db, None, "sslmode=allow")).unwrap();
    assert!(set.verify(&mut client).unwrap().is_clean());
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name_and_never_falls_back() {
    let Some(db) = TestDb::create("tls_verify") else {
        return;
    };
    let Some(root) = server_certificate(&db, "tls_verify") else {
        return;
    };
    if !db.url().contains("@127.0.0.1:") {
        eprintln!("skipped tls_verify: the host names below are those of a local server");
        return;
    }
    let root = root.display().to_string();
    // The certificate Debian's server makes is issued for localhost.
    let mut client = connect(&location(
        &db,
        Some("localhost"),
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ))
    .unwrap();
    assert!(encrypted(&mut client));
    // The same server by address: the chain holds, the name does not.
    let by_address = format!("sslmode=verify-full&sslrootcert={root}");
    let error = connect(&location(&db, None, &by_address)).err().unwrap();
    assert!(
        matches!(error, RunError::Backend(BackendError::Connect { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("certificate"), "{error}");
    // verify-ca checks the chain only.
    let mut client = connect(&location(
        &db,
        None,
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    ))
    .unwrap();
    assert!(encrypted(&mut client));
    // Roots that did not sign it: refused, for verify-ca and, as libpq
    // does with a root file given, for require.
    let public_roots = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(public_roots).exists() {
        for mode in ["verify-ca", "require"] {
            let query = format!("sslmode={mode}&sslrootcert={public_roots}");
            let error = connect(&location(&db, None, &query)).err().unwrap();
            assert!(error.to_string().contains("certificate"), "{mode}: {error}");
        }
    }
    // sslrootcert=system means verify-full against the machine's roots:
    // whatever they hold, the address is not the certificate's name.
    let error = connect(&location(&db, None, "sslrootcert=system"))
        .err()
        .unwrap();
    assert!(
        matches!(error, RunError::Backend(BackendError::Connect { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("certificate"), "{error}");
}
