//! The descriptor behind a Java socket object, read through JNI (which needs no
//! `--add-opens` for the JDK's non-public fields and methods).
//!
//! - `java.io.FileDescriptor`: its `fd` field.
//! - NIO channels of the JDK (`sun.nio.ch.SelChImpl`: SocketChannel, DatagramChannel,
//!   ServerSocketChannel): `getFDVal()`, after `isOpen()`.
//! - `java.net.Socket`: its channel if it has one, else its `SocketImpl`'s
//!   `getFileDescriptor()`. A socket that is not connected yet has no descriptor: it is
//!   created here, as `connect` would do first, so the tag covers the whole connection.
//!   A TLS socket layered over another one (`SSLSocketFactory.createSocket(Socket, ..)`)
//!   stands for the socket underneath.
//! - `java.net.DatagramSocket`: its channel, or the channel of the JDK's delegate
//!   (JDK 15+ builds DatagramSocket on DatagramChannel).
//!
//! A closed object gives a `BadFileDescriptorException` saying so, never a stale number.

use std::os::fd::RawFd;

use jni::objects::{JFieldID, JMethodID, JObject};
use jni::signature::{Primitive, ReturnType};
use jni::JNIEnv;

use crate::errors::Failure;
use crate::jdk::{class, jdk, Jdk};

fn closed(what: &str) -> Failure {
    Failure::Qtag(qtag::Error::BadFd { fd: -1 }, Some(format!("{what} is closed")))
}

fn unreachable(env: &mut JNIEnv, obj: &JObject, why: &str) -> Failure {
    let name = class_name(env, obj).unwrap_or_else(|_| "?".into());
    Failure::Unreachable(format!("qtag cannot reach the descriptor of a {name}: {why}"))
}

fn class_name(env: &mut JNIEnv, obj: &JObject) -> jni::errors::Result<String> {
    let class = env.get_object_class(obj)?;
    let name = env.call_method(&class, "getName", "()Ljava/lang/String;", &[])?.l()?;
    Ok(env.get_string(&name.into())?.into())
}

/// Call a no-argument method returning an object.
fn object<'l>(env: &mut JNIEnv<'l>, obj: &JObject, id: JMethodID) -> Result<JObject<'l>, Failure> {
    // SAFETY: callers pass an id of a method of `obj`'s class (checked by is_instance_of)
    // that takes no arguments and returns an object.
    Ok(unsafe { env.call_method_unchecked(obj, id, ReturnType::Object, &[]) }?.l()?)
}

/// Call a no-argument method returning a boolean.
fn boolean(env: &mut JNIEnv, obj: &JObject, id: JMethodID) -> Result<bool, Failure> {
    // SAFETY: as in `object`, for a `()Z` method.
    Ok(unsafe { env.call_method_unchecked(obj, id, ReturnType::Primitive(Primitive::Boolean), &[]) }?.z()?)
}

/// Read an object field.
fn field<'l>(env: &mut JNIEnv<'l>, obj: &JObject, id: JFieldID) -> Result<JObject<'l>, Failure> {
    // SAFETY: callers pass an id of an object field of `obj`'s class.
    Ok(env.get_field_unchecked(obj, id, ReturnType::Object)?.l()?)
}

fn of_file_descriptor(env: &mut JNIEnv, jdk: &Jdk, fdo: &JObject) -> Result<RawFd, Failure> {
    // SAFETY: `fdo` is a java.io.FileDescriptor, whose `fd` is an int.
    let fd = env.get_field_unchecked(fdo, jdk.fd, ReturnType::Primitive(Primitive::Int))?.i()?;
    if fd < 0 {
        return Err(closed("the FileDescriptor"));
    }
    Ok(fd)
}

fn of_channel(env: &mut JNIEnv, jdk: &Jdk, ch: &JObject) -> Result<RawFd, Failure> {
    if !env.is_instance_of(ch, class(&jdk.sel_ch_impl))? {
        return Err(unreachable(env, ch, "not a channel of the JDK's default provider"));
    }
    if !boolean(env, ch, jdk.channel_is_open)? {
        return Err(closed("the channel"));
    }
    // SAFETY: `ch` is a SelChImpl (checked above); getFDVal takes no arguments.
    Ok(unsafe { env.call_method_unchecked(ch, jdk.get_fd_val, ReturnType::Primitive(Primitive::Int), &[]) }?.i()?)
}

fn of_socket(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<RawFd, Failure> {
    if boolean(env, s, jdk.socket_is_closed)? {
        return Err(closed("the socket"));
    }
    // A TLS socket layered over another socket has an unused impl of its own: the
    // traffic flows through the socket underneath.
    if let Some((ssl, self_field)) = &jdk.ssl_socket {
        if env.is_instance_of(s, class(ssl))? {
            let under = field(env, s, *self_field)?;
            if !under.is_null() && !env.is_same_object(&under, s)? {
                return of_socket(env, jdk, &under);
            }
        }
    }
    let ch = object(env, s, jdk.socket_get_channel)?;
    if !ch.is_null() {
        return of_channel(env, jdk, &ch);
    }
    // getImpl() creates the OS socket if it does not exist yet (as connect does first).
    let imp = object(env, s, jdk.socket_get_impl)?;
    if imp.is_null() {
        return Err(unreachable(env, s, "it has no SocketImpl"));
    }
    let fdo = object(env, &imp, jdk.impl_get_file_descriptor)?;
    if fdo.is_null() {
        return Err(unreachable(env, s, "its SocketImpl has no descriptor"));
    }
    of_file_descriptor(env, jdk, &fdo)
}

fn of_datagram_socket(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<RawFd, Failure> {
    if boolean(env, s, jdk.datagram_is_closed)? {
        return Err(closed("the socket"));
    }
    let ch = object(env, s, jdk.datagram_get_channel)?;
    if !ch.is_null() {
        return of_channel(env, jdk, &ch);
    }
    let no_channel = "no channel behind it (a legacy DatagramSocketImpl?)";
    let Some(delegate_field) = jdk.datagram_delegate else {
        return Err(unreachable(env, s, no_channel));
    };
    let delegate = field(env, s, delegate_field)?;
    if delegate.is_null() || env.is_same_object(&delegate, s)? {
        return Err(unreachable(env, s, no_channel));
    }
    let ch = object(env, &delegate, jdk.datagram_get_channel)?;
    if ch.is_null() {
        return Err(unreachable(env, s, no_channel));
    }
    of_channel(env, jdk, &ch)
}

/// The descriptor of `obj` (a FileDescriptor, Socket, DatagramSocket or NIO channel; the
/// Java side has rejected null).
pub(crate) fn fd_of(env: &mut JNIEnv, obj: &JObject) -> Result<RawFd, Failure> {
    let jdk = jdk(env)?;
    // A frame of our own: the calls below make local references.
    env.with_local_frame(16, |env| {
        if env.is_instance_of(obj, class(&jdk.file_descriptor))? {
            of_file_descriptor(env, jdk, obj)
        } else if env.is_instance_of(obj, class(&jdk.socket))? {
            of_socket(env, jdk, obj)
        } else if env.is_instance_of(obj, class(&jdk.datagram_socket))? {
            of_datagram_socket(env, jdk, obj)
        } else if env.is_instance_of(obj, class(&jdk.channel))? {
            of_channel(env, jdk, obj)
        } else {
            Err(unreachable(env, obj, "not a socket, channel or FileDescriptor"))
        }
    })
}
