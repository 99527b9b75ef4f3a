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

use jni::objects::JObject;
use jni::signature::{Primitive, ReturnType};
use jni::JNIEnv;

use crate::errors::Failure;

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

/// Call a method declared (perhaps non-public) in `class` on `obj`, an instance of it.
fn object<'l>(env: &mut JNIEnv<'l>, obj: &JObject, class: &str, name: &str, sig: &str) -> Result<JObject<'l>, Failure> {
    let id = env.get_method_id(class, name, sig)?;
    // SAFETY: the id comes from `class` with this signature, `obj` is an instance of
    // `class` (checked by the callers), and the method takes no arguments.
    Ok(unsafe { env.call_method_unchecked(obj, id, ReturnType::Object, &[]) }?.l()?)
}

/// [`object`] for a `()Z` method.
fn boolean(env: &mut JNIEnv, obj: &JObject, class: &str, name: &str) -> Result<bool, Failure> {
    let id = env.get_method_id(class, name, "()Z")?;
    // SAFETY: as in `object`.
    Ok(unsafe { env.call_method_unchecked(obj, id, ReturnType::Primitive(Primitive::Boolean), &[]) }?.z()?)
}

fn of_file_descriptor(env: &mut JNIEnv, fdo: &JObject) -> Result<RawFd, Failure> {
    let fd = env.get_field(fdo, "fd", "I")?.i()?;
    if fd < 0 {
        return Err(closed("the FileDescriptor"));
    }
    Ok(fd)
}

fn of_channel(env: &mut JNIEnv, ch: &JObject) -> Result<RawFd, Failure> {
    if !env.is_instance_of(ch, "sun/nio/ch/SelChImpl")? {
        return Err(unreachable(env, ch, "not a channel of the JDK's default provider"));
    }
    if !boolean(env, ch, "java/nio/channels/Channel", "isOpen")? {
        return Err(closed("the channel"));
    }
    let id = env.get_method_id("sun/nio/ch/SelChImpl", "getFDVal", "()I")?;
    // SAFETY: `ch` is a SelChImpl (checked above); getFDVal takes no arguments.
    Ok(unsafe { env.call_method_unchecked(ch, id, ReturnType::Primitive(Primitive::Int), &[]) }?.i()?)
}

fn of_socket(env: &mut JNIEnv, s: &JObject) -> Result<RawFd, Failure> {
    if boolean(env, s, "java/net/Socket", "isClosed")? {
        return Err(closed("the socket"));
    }
    // A TLS socket layered over another socket has an unused impl of its own: the
    // traffic flows through the socket underneath.
    if env.is_instance_of(s, "sun/security/ssl/BaseSSLSocketImpl")? {
        let under = env.get_field(s, "self", "Ljava/net/Socket;")?.l()?;
        if !under.is_null() && !env.is_same_object(&under, s)? {
            return of_socket(env, &under);
        }
    }
    let ch = object(env, s, "java/net/Socket", "getChannel", "()Ljava/nio/channels/SocketChannel;")?;
    if !ch.is_null() {
        return of_channel(env, &ch);
    }
    // getImpl() creates the OS socket if it does not exist yet (as connect does first).
    let imp = object(env, s, "java/net/Socket", "getImpl", "()Ljava/net/SocketImpl;")?;
    if imp.is_null() {
        return Err(unreachable(env, s, "it has no SocketImpl"));
    }
    let fdo = object(env, &imp, "java/net/SocketImpl", "getFileDescriptor", "()Ljava/io/FileDescriptor;")?;
    if fdo.is_null() {
        return Err(unreachable(env, s, "its SocketImpl has no descriptor"));
    }
    of_file_descriptor(env, &fdo)
}

fn of_datagram_socket(env: &mut JNIEnv, s: &JObject) -> Result<RawFd, Failure> {
    if boolean(env, s, "java/net/DatagramSocket", "isClosed")? {
        return Err(closed("the socket"));
    }
    let getter = "()Ljava/nio/channels/DatagramChannel;";
    let ch = object(env, s, "java/net/DatagramSocket", "getChannel", getter)?;
    if !ch.is_null() {
        return of_channel(env, &ch);
    }
    let delegate = env.get_field(s, "delegate", "Ljava/net/DatagramSocket;")?.l()?;
    if delegate.is_null() || env.is_same_object(&delegate, s)? {
        return Err(unreachable(env, s, "no channel behind it (a legacy DatagramSocketImpl?)"));
    }
    let ch = object(env, &delegate, "java/net/DatagramSocket", "getChannel", getter)?;
    if ch.is_null() {
        return Err(unreachable(env, s, "no channel behind it (a legacy DatagramSocketImpl?)"));
    }
    of_channel(env, &ch)
}

/// The descriptor of `obj` (a FileDescriptor, Socket, DatagramSocket or NIO channel; the
/// Java side has rejected null).
pub(crate) fn fd_of(env: &mut JNIEnv, obj: &JObject) -> Result<RawFd, Failure> {
    // A frame of our own: the lookups below make local references.
    env.with_local_frame(32, |env| {
        if env.is_instance_of(obj, "java/io/FileDescriptor")? {
            of_file_descriptor(env, obj)
        } else if env.is_instance_of(obj, "java/net/Socket")? {
            of_socket(env, obj)
        } else if env.is_instance_of(obj, "java/net/DatagramSocket")? {
            of_datagram_socket(env, obj)
        } else if env.is_instance_of(obj, "java/nio/channels/Channel")? {
            of_channel(env, obj)
        } else {
            Err(unreachable(env, obj, "not a socket, channel or FileDescriptor"))
        }
    })
}
