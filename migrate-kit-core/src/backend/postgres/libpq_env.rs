//! What libpq takes from the environment when the URL leaves it out:
//! `PGPASSWORD`, the password file (`PGPASSFILE`, else `~/.pgpass`),
//! `PGSSLMODE` and `PGSSLROOTCERT`. A deployment that runs psql, psycopg or
//! Alembic that way runs this tool the same way. What the URL says wins.

use super::tls::TlsParameters;
use postgres::config::Host;
use std::path::PathBuf;

/// Reads one environment variable; tests pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (an empty variable counts as unset).
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// `PGSSLMODE` and `PGSSLROOTCERT` where the URL has no `sslmode` or
/// `sslrootcert`, and then libpq's default root file,
/// `~/.postgresql/root.crt` (used only when it exists or a mode checks).
pub(crate) fn fill_tls(parameters: &mut TlsParameters, env: Env<'_>) {
    if parameters.mode.is_none() {
        parameters.mode = env("PGSSLMODE");
    }
    if parameters.root_cert.is_none() {
        parameters.root_cert = env("PGSSLROOTCERT")
            .or_else(|| env("HOME").map(|home| format!("{home}/.postgresql/root.crt")));
    }
}

/// `PGPASSWORD`, else the password file's first matching line, where the
/// URL has no password.
pub(crate) fn fill_password(config: &mut postgres::Config, env: Env<'_>) {
    if config.get_password().is_some() {
        return;
    }
    if let Some(password) = env("PGPASSWORD") {
        config.password(password);
        return;
    }
    let Some(file) = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".pgpass")))
    else {
        return;
    };
    if !private(&file) {
        return;
    }
    let Ok(text) = std::fs::read_to_string(&file) else {
        return;
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a socket directory as localhost.
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let database = config.get_dbname().unwrap_or(&user).to_owned();
    if let Some(password) = lookup(&text, [&host, &port, &database, &user]) {
        config.password(password);
    }
}

/// libpq skips a password file that its group or others may read.
fn private(file: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        file.exists()
    }
}

/// The password of the first line whose host, port, database and user
/// match `wanted` (`*` matches anything; `\:` and `\\` are escapes).
fn lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(fields)
        .find(|fields| {
            fields.len() == 5
                && fields
                    .iter()
                    .zip(wanted)
                    .all(|(field, value)| field == "*" || field == value)
        })
        .map(|mut fields| fields.remove(4))
}

/// The colon-separated fields of a password file line, unescaped.
fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(pairs: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let file = "# comment\n\
                    db.internal:5432:other:bot:wrong\n\
                    *:5432:shop:bot:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            lookup(file, ["db.internal", "5432", "shop", "bot"]).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            lookup(file, ["db.internal", "5432", "other", "bot"]).as_deref(),
            Some("wrong")
        );
        assert_eq!(
            lookup(file, ["h", "6432", "x", "y"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(lookup("h:1:d:u\n", ["h", "1", "d", "u"]), None);
    }

    #[test]
    fn the_url_wins_then_pgpassword_then_a_private_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "127.0.0.1:5432:shop:bot:from-file\n").unwrap();
        let config = |url: &str| url.parse::<postgres::Config>().unwrap();
        let with_file = [("PGPASSFILE", file.display().to_string())];

        let mut given = config("postgresql://bot:in-url@127.0.0.1/shop");
        fill_password(&mut given, &env_of(&with_file));
        assert_eq!(given.get_password(), Some(&b"in-url"[..]));

        let mut from_env = config("postgresql://bot@127.0.0.1/shop");
        let both = [with_file[0].clone(), ("PGPASSWORD", "from-env".to_owned())];
        fill_password(&mut from_env, &env_of(&both));
        assert_eq!(from_env.get_password(), Some(&b"from-env"[..]));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mut open = config("postgresql://bot@127.0.0.1/shop");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            fill_password(&mut open, &env_of(&with_file));
            assert_eq!(open.get_password(), None, "a readable file is skipped");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut from_file = config("postgresql://bot@127.0.0.1/shop");
        fill_password(&mut from_file, &env_of(&with_file));
        assert_eq!(from_file.get_password(), Some(&b"from-file"[..]));

        // The database defaults to the user's name, the port to 5432.
        std::fs::write(&file, "127.0.0.1:5432:bot:bot:same-name\n").unwrap();
        let mut default_db = config("postgresql://bot@127.0.0.1");
        fill_password(&mut default_db, &env_of(&with_file));
        assert_eq!(default_db.get_password(), Some(&b"same-name"[..]));
    }

    #[test]
    fn pgsslmode_and_pgsslrootcert_fill_only_what_the_url_leaves_out() {
        let env = [
            ("PGSSLMODE", "verify-full".to_owned()),
            ("PGSSLROOTCERT", "/etc/root.crt".to_owned()),
        ];
        let mut empty = TlsParameters::default();
        fill_tls(&mut empty, &env_of(&env));
        assert_eq!(empty.mode.as_deref(), Some("verify-full"));
        assert_eq!(empty.root_cert.as_deref(), Some("/etc/root.crt"));
        let mut default_root = TlsParameters::default();
        fill_tls(
            &mut default_root,
            &env_of(&[("HOME", "/home/bot".to_owned())]),
        );
        assert_eq!(
            default_root.root_cert.as_deref(),
            Some("/home/bot/.postgresql/root.crt")
        );
        let mut given = TlsParameters {
            mode: Some("disable".into()),
            ..TlsParameters::default()
        };
        fill_tls(&mut given, &env_of(&env));
        assert_eq!(given.mode.as_deref(), Some("disable"));
        assert_eq!(given.root_cert.as_deref(), Some("/etc/root.crt"));
    }
}
