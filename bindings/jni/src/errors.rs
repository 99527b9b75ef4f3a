//! Failures of a native call and the Java exception each becomes. The one place where
//! [`qtag::Error`] variants meet `dev.qtag` exception classes.

use jni::objects::{JThrowable, JValue};
use jni::JNIEnv;

/// Why a native call did not return normally.
pub(crate) enum Failure {
    /// A core error, optionally with a message that says more than the core's.
    Qtag(qtag::Error, Option<String>),
    /// A JNI call failed; a Java exception may already be pending.
    Jni(jni::errors::Error),
    /// The object handed in has no descriptor qtag can reach (a SocketException).
    Unreachable(String),
}

impl From<qtag::Error> for Failure {
    fn from(e: qtag::Error) -> Self {
        Failure::Qtag(e, None)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

/// The `dev.qtag` exception class for each core variant (all extend `QtagException`, a
/// `java.net.SocketException`).
fn class_of(e: &qtag::Error) -> &'static str {
    use qtag::Error::*;
    match e {
        ModuleNotLoaded { .. } => "dev/qtag/ModuleNotLoadedException",
        PermissionDenied { .. } => "dev/qtag/QtagPermissionException",
        NotASocket { .. } => "dev/qtag/NotASocketException",
        BadFd { .. } => "dev/qtag/BadFileDescriptorException",
        NotTagged { .. } => "dev/qtag/NotTaggedException",
        TagLimitReached => "dev/qtag/TagLimitException",
        InvalidArgument { .. } => "dev/qtag/QtagInvalidArgumentException",
        _ => "dev/qtag/QtagException",
    }
}

fn throw_qtag(env: &mut JNIEnv, e: &qtag::Error, message: Option<String>) -> jni::errors::Result<()> {
    let message = env.new_string(message.unwrap_or_else(|| e.to_string()))?;
    let code = env.new_string(e.code())?;
    let exc = env.new_object(
        class_of(e),
        "(Ljava/lang/String;ILjava/lang/String;)V",
        &[JValue::Object(&message), JValue::Int(e.errno()), JValue::Object(&code)],
    )?;
    env.throw(JThrowable::from(exc))
}

/// Raise `f` in Java. A Java exception that is already pending wins: it is the cause.
pub(crate) fn throw(env: &mut JNIEnv, f: Failure) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    let thrown = match f {
        Failure::Qtag(e, message) => throw_qtag(env, &e, message),
        Failure::Unreachable(message) => env.throw_new("java/net/SocketException", message),
        Failure::Jni(e) => env.throw_new("java/lang/IllegalStateException", format!("qtag JNI: {e}")),
    };
    // Building the exception failed: whatever JNI left pending (e.g. OutOfMemoryError)
    // propagates; if nothing is, say so rather than return silently.
    if thrown.is_err() && !env.exception_check().unwrap_or(true) {
        let _ = env.throw_new("java/lang/IllegalStateException", "qtag JNI: could not raise an exception");
    }
}
