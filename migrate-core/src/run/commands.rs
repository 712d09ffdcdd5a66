//! How messages name commands. Every hint of this crate and of the command
//! line names a command as the `migrate` binary spells it, in backticks
//! ("`migrate verify`"). A face that runs under another name, such as a
//! bot's embedded command line (`repair_bot migrate verify`), prints
//! messages through [`Commands::name_in`], so that a hint names a command
//! the operator can type there.

use std::borrow::Cow;

/// The name of the binary every hint is written with.
const WRITTEN_AS: &str = "`migrate ";

/// How the face printing a message is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    program: String,
}

impl Default for Commands {
    fn default() -> Self {
        Commands::new("migrate")
    }
}

impl Commands {
    /// Commands run as `program` (`migrate`, or `repair_bot migrate`).
    pub fn new(program: impl Into<String>) -> Self {
        Commands {
            program: program.into(),
        }
    }

    /// `message` with every hint naming this face's commands.
    pub fn name_in<'m>(&self, message: &'m str) -> Cow<'m, str> {
        if self.program == "migrate" || !message.contains(WRITTEN_AS) {
            return Cow::Borrowed(message);
        }
        Cow::Owned(message.replace(WRITTEN_AS, &format!("`{} ", self.program)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_face_that_prints_them() {
        let message = "run `migrate verify`, then `migrate repair --accept 001`";
        assert_eq!(Commands::default().name_in(message), message);
        assert_eq!(
            Commands::new("repair_bot migrate").name_in(message),
            "run `repair_bot migrate verify`, then `repair_bot migrate repair --accept 001`"
        );
        // Only commands in backticks are hints; prose keeps the tool's name.
        assert_eq!(
            Commands::new("bot migrate").name_in("migrate refused"),
            "migrate refused"
        );
    }
}
