//! Every native method runs through [`entry`]: no panic unwinds into the JVM and every
//! failure leaves exactly one pending Java exception.

use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::JNIEnv;

use crate::errors::{throw, Failure};

/// Run `f`; on failure or panic raise a Java exception and return `fallback` (which Java
/// never sees, as the exception is pending).
pub(crate) fn entry<'l, T>(
    env: &mut JNIEnv<'l>,
    fallback: T,
    f: impl FnOnce(&mut JNIEnv<'l>) -> Result<T, Failure>,
) -> T {
    match catch_unwind(AssertUnwindSafe(|| f(env))) {
        Ok(Ok(v)) => v,
        Ok(Err(failure)) => {
            throw(env, failure);
            fallback
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", format!("qtag native code panicked: {what}"));
            }
            fallback
        }
    }
}
