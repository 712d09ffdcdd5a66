//! How messages name commands. A message that suggests a command carries
//! it as a [`Cmd`]: the words after the program's name (`repair --accept
//! 001`). The face that prints the message supplies the program: the
//! `migrate` binary, or a bot's embedded command line (`repair_bot
//! migrate`). A face renders messages through [`Commands::render`] (or runs
//! its whole command inside [`Commands::scope`]); elsewhere a command is
//! spelled as the `migrate` binary takes it.

use std::cell::RefCell;
use std::fmt;

thread_local! {
    /// The program of the face rendering on this thread, while it renders.
    static PROGRAM: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The program name a command is spelled with outside any face's scope.
const DEFAULT_PROGRAM: &str = "migrate";

/// A suggested command, printed in backticks with the program of the face
/// that renders it: `` `migrate repair --accept 001` ``.
pub(crate) struct Cmd<W: fmt::Display>(pub(crate) W);

impl<W: fmt::Display> fmt::Display for Cmd<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        PROGRAM.with(|program| {
            let program = program.borrow();
            let program = program.as_deref().unwrap_or(DEFAULT_PROGRAM);
            write!(f, "`{program} {}`", self.0)
        })
    }
}

/// How the face printing a message is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    program: String,
}

impl Default for Commands {
    fn default() -> Self {
        Commands::new(DEFAULT_PROGRAM)
    }
}

impl Commands {
    /// Commands run as `program` (`migrate`, or `repair_bot migrate`).
    pub fn new(program: impl Into<String>) -> Self {
        Commands {
            program: program.into(),
        }
    }

    /// `message` (an error of this crate, a report) as text whose hints
    /// name this face's commands.
    pub fn render(&self, message: &dyn fmt::Display) -> String {
        self.scope(|| message.to_string())
    }

    /// Runs `work` with every message rendered on this thread naming this
    /// face's commands; the previous face's name comes back afterwards,
    /// also when `work` panics.
    pub fn scope<T>(&self, work: impl FnOnce() -> T) -> T {
        struct Restore(Option<String>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                PROGRAM.with(|program| *program.borrow_mut() = previous);
            }
        }
        let previous = PROGRAM.with(|program| program.replace(Some(self.program.clone())));
        let _restore = Restore(previous);
        work()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("revision `{revision}` is dirty; run {}", Cmd(format!("repair --clear-dirty {}", .revision)))]
    struct Dirty {
        revision: String,
    }

    #[test]
    fn hints_name_the_face_that_renders_them() {
        let error = Dirty {
            revision: "001".into(),
        };
        assert_eq!(
            error.to_string(),
            "revision `001` is dirty; run `migrate repair --clear-dirty 001`"
        );
        let bot = Commands::new("repair_bot migrate");
        assert_eq!(
            bot.render(&error),
            "revision `001` is dirty; run `repair_bot migrate repair --clear-dirty 001`"
        );
        // Outside the scope, and after a nested one, the names come back.
        assert_eq!(
            bot.scope(|| Commands::default().render(&error) + " / " + &error.to_string()),
            "revision `001` is dirty; run `migrate repair --clear-dirty 001` / revision `001` is dirty; run `repair_bot migrate repair --clear-dirty 001`"
        );
        assert!(error.to_string().contains("`migrate repair"));
    }
}
