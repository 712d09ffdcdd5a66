//! `{:?}` of the errors a bot returns from `main` (or boxes into
//! `Box<dyn Error>`): the message and its hint, then each cause the
//! message does not already include, as anyhow prints an error. `{:#?}`
//! shows the data, which the types keep for code that matches on them.

use std::error::Error;
use std::fmt;

/// Writes `error` as its message and causes, or, with `{:#?}`, as `data`
/// writes it.
pub(crate) fn message_or_data(
    error: &dyn Error,
    f: &mut fmt::Formatter<'_>,
    data: impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    if f.alternate() {
        return data(f);
    }
    let message = error.to_string();
    write!(f, "{message}")?;
    let mut heading = false;
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !heading {
                write!(f, "\n\nCaused by:")?;
                heading = true;
            }
            write!(f, "\n    {text}")?;
        }
        source = cause.source();
    }
    Ok(())
}

/// `impl Debug` for an error type through [`message_or_data`]; the data
/// arm writes the value as a derived `Debug` would.
macro_rules! debug_as_message {
    ($type:ty, |$this:ident, $f:ident| $data:expr) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $this = self;
                $crate::message::message_or_data(self, f, |$f| $data)
            }
        }
    };
}
pub(crate) use debug_as_message;
