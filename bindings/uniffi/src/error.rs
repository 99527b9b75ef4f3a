//! The one conversion from [`qtag::Error`]: a flat uniffi error, so Kotlin gets a sealed
//! `QtagException` with one subclass per kind, each carrying the core's message.

/// Kotlin: `sealed class QtagException`, e.g. `QtagException.BadFd`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum QtagError {
    /// The xt_qtaguid module is not loaded (the message says how to load it).
    #[error("{0}")]
    ModuleNotLoaded(String),
    /// MODIFY_NETWORK_ACCOUNTING or stats privilege missing (the message says which).
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotASocket(String),
    /// A closed or negative descriptor.
    #[error("{0}")]
    BadFd(String),
    /// `untagSocket` on a socket without a tag.
    #[error("{0}")]
    NotTagged(String),
    /// The module's per-uid limit of tagged sockets (`max_sock_tags`).
    #[error("{0}")]
    TagLimitReached(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// A /proc/net/xt_qtaguid file not in the expected format.
    #[error("{0}")]
    Format(String),
    /// Any other I/O error.
    #[error("{0}")]
    Io(String),
}

impl From<qtag::Error> for QtagError {
    fn from(e: qtag::Error) -> Self {
        use qtag::Error as E;
        let kind = match &e {
            E::ModuleNotLoaded { .. } => QtagError::ModuleNotLoaded,
            E::PermissionDenied { .. } => QtagError::PermissionDenied,
            E::NotASocket { .. } => QtagError::NotASocket,
            E::BadFd { .. } => QtagError::BadFd,
            E::NotTagged { .. } => QtagError::NotTagged,
            E::TagLimitReached => QtagError::TagLimitReached,
            E::InvalidArgument { .. } => QtagError::InvalidArgument,
            E::Format { .. } => QtagError::Format,
            _ => QtagError::Io,
        };
        kind(e.to_string())
    }
}
