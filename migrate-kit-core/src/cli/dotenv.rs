//! `.env` in the working directory, read as sqlx-cli and diesel read it:
//! `DATABASE_URL`, `MIGRATE_DIR` and `MIGRATE_DEV_URL` come from it when the
//! process environment and the flags leave them unset. The process
//! environment is never changed (an embedded command line runs inside a
//! bot that may have threads), and a line that cannot be read is reported
//! by its number, never echoed: it may hold a password.

use super::CliError;
use std::path::Path;

/// The file's name, in the working directory.
pub(crate) const FILE: &str = ".env";

/// The variables this tool takes from `.env`.
const KEYS: [&str; 3] = ["DATABASE_URL", "MIGRATE_DIR", "MIGRATE_DEV_URL"];

/// What `.env` says about this tool's variables.
#[derive(Debug, Default)]
pub(crate) struct DotEnv {
    values: Vec<(String, String)>,
}

impl DotEnv {
    /// Reads `.env` from the working directory; no file reads as empty.
    pub(crate) fn read() -> Result<DotEnv, CliError> {
        DotEnv::read_from(Path::new(FILE))
    }

    fn read_from(path: &Path) -> Result<DotEnv, CliError> {
        let lines = match dotenvy::from_path_iter(path) {
            Ok(lines) => lines,
            Err(error) if error.not_found() => return Ok(DotEnv::default()),
            Err(error) => return Err(unreadable(path, &error, None)),
        };
        let mut values = Vec::new();
        for (number, line) in lines.enumerate() {
            let (key, value) = line.map_err(|error| unreadable(path, &error, Some(number)))?;
            if KEYS.contains(&key.as_str()) && !value.is_empty() {
                values.retain(|(k, _)| k != &key);
                values.push((key, value));
            }
        }
        Ok(DotEnv { values })
    }

    /// The value `.env` gives `key`, when it gives one.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The error for a `.env` that cannot be read, without its text.
fn unreadable(path: &Path, error: &dotenvy::Error, entry: Option<usize>) -> CliError {
    let reason = match error {
        dotenvy::Error::LineParse(_, at) => format!(
            "a line is not KEY=VALUE (entry {}, character {at}); fix or remove it",
            entry.map_or(1, |n| n + 1)
        ),
        dotenvy::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    CliError::Config {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_tools_variables_are_taken_with_dotenv_quoting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# the bot's settings\nBOT_TOKEN=123:abc\nexport DATABASE_URL=\"sqlite+aiosqlite:///data/bot.db\"\nMIGRATE_DIR='db/migrations'\nMIGRATE_DEV_URL=\n",
        )
        .unwrap();
        let env = DotEnv::read_from(&path).unwrap();
        assert_eq!(
            env.get("DATABASE_URL"),
            Some("sqlite+aiosqlite:///data/bot.db")
        );
        assert_eq!(env.get("MIGRATE_DIR"), Some("db/migrations"));
        assert_eq!(env.get("MIGRATE_DEV_URL"), None);
        assert_eq!(env.get("BOT_TOKEN"), None);
        assert!(DotEnv::read_from(&dir.path().join("none"))
            .unwrap()
            .get("DATABASE_URL")
            .is_none());
    }

    #[test]
    fn a_line_that_cannot_be_read_is_named_without_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "DATABASE_URL=postgresql://u:'s3cret@h/db\n").unwrap();
        let error = DotEnv::read_from(&path).unwrap_err().to_string();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(error.contains("KEY=VALUE"), "{error}");
    }
}
