//! The descriptor behind a Java socket object, read through JNI (which needs no
//! `--add-opens` for the JDK's non-public fields and methods).
//!
//! - `java.io.FileDescriptor`: its `fd` field.
//! - NIO channels of the JDK (`sun.nio.ch.SelChImpl`: SocketChannel, DatagramChannel,
//!   ServerSocketChannel): the `fdVal` field of SocketChannelImpl and
//!   DatagramChannelImpl, else `getFDVal()`; after `isOpen()`.
//! - `java.net.Socket`: its channel if it has one, else its `SocketImpl`'s
//!   `getFileDescriptor()`. A socket that is not connected yet has no descriptor: it is
//!   created here, as `connect` would do first, so the tag covers the whole connection.
//!   A TLS socket layered over another one (`SSLSocketFactory.createSocket(Socket, ..)`)
//!   stands for the socket underneath.
//! - `java.net.DatagramSocket`: its channel, or the channel of the JDK's delegate
//!   (JDK 15+ builds DatagramSocket on DatagramChannel), read from the fields
//!   `delegate` and `DatagramSocketAdaptor.dc` where the JDK has them.
//!
//! A closed object gives a `BadFileDescriptorException` saying so, never a stale number.
//!
//! Calls from Java into the JDK's methods (`CallXMethod`) cost far more than the write
//! to the kernel, field reads (`GetXField`) a few nanoseconds; so the Java side makes
//! the public checks (`isClosed`, `isOpen`, `getChannel`, which the JIT inlines) and
//! says what it established by the native method it calls (a [`Kind`]), and the usual
//! objects need no call back into Java at all. [`Kind::Any`] checks everything here.

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

/// Read an object field. Straight through the function table: the jni crate's
/// `get_field_unchecked` asks `ExceptionCheck` after each object read, a second call
/// into the JVM on the fast path, though GetObjectField throws nothing.
fn field<'l>(env: &mut JNIEnv<'l>, obj: &JObject, id: JFieldID) -> Result<JObject<'l>, Failure> {
    if obj.is_null() {
        return Err(jni::errors::Error::NullPtr("field: obj").into());
    }
    let raw = env.get_raw();
    // SAFETY: `raw` is the JNIEnv of this native call (valid, this thread's); `obj` is a
    // live non-null reference of a class that declares the object field `id` (the
    // callers' contract). GetObjectField raises no exception for such arguments; it
    // returns a new local reference or null, owned by the frame like any other.
    unsafe {
        let get = (**raw).GetObjectField.ok_or(jni::errors::Error::JNIEnvMethodNotFound("GetObjectField"))?;
        Ok(JObject::from_raw(get(raw, obj.as_raw(), id.into_raw())))
    }
}

fn of_file_descriptor(env: &mut JNIEnv, jdk: &Jdk, fdo: &JObject) -> Result<RawFd, Failure> {
    // SAFETY: `fdo` is a java.io.FileDescriptor, whose `fd` is an int.
    let fd = env.get_field_unchecked(fdo, jdk.fd, ReturnType::Primitive(Primitive::Int))?.i()?;
    if fd < 0 {
        return Err(closed("the FileDescriptor"));
    }
    Ok(fd)
}

/// Read an int field.
fn int_field(env: &mut JNIEnv, obj: &JObject, id: JFieldID) -> Result<i32, Failure> {
    // SAFETY: callers pass an id of an int field of `obj`'s class.
    Ok(env.get_field_unchecked(obj, id, ReturnType::Primitive(Primitive::Int))?.i()?)
}

/// The `fdVal` of a channel of the JDK's two socket channel classes that have the field,
/// without calling into Java; None for other channels (and JDKs without the fields).
fn fd_val_field(env: &mut JNIEnv, jdk: &Jdk, ch: &JObject) -> Result<Option<RawFd>, Failure> {
    for (impl_class, fd_val) in [&jdk.datagram_channel_fd, &jdk.socket_channel_fd].into_iter().flatten() {
        if env.is_instance_of(ch, class(impl_class))? {
            return Ok(Some(int_field(env, ch, *fd_val)?));
        }
    }
    Ok(None)
}

/// The descriptor of a channel that the caller has found open.
fn of_open_channel(env: &mut JNIEnv, jdk: &Jdk, ch: &JObject) -> Result<RawFd, Failure> {
    if let Some(fd) = fd_val_field(env, jdk, ch)? {
        return Ok(fd);
    }
    if !env.is_instance_of(ch, class(&jdk.sel_ch_impl))? {
        return Err(unreachable(env, ch, "not a channel of the JDK's default provider"));
    }
    // SAFETY: `ch` is a SelChImpl (checked above); getFDVal takes no arguments.
    Ok(unsafe { env.call_method_unchecked(ch, jdk.get_fd_val, ReturnType::Primitive(Primitive::Int), &[]) }?.i()?)
}

fn of_channel(env: &mut JNIEnv, jdk: &Jdk, ch: &JObject) -> Result<RawFd, Failure> {
    if !env.is_instance_of(ch, class(&jdk.sel_ch_impl))? {
        return Err(unreachable(env, ch, "not a channel of the JDK's default provider"));
    }
    if !boolean(env, ch, jdk.channel_is_open)? {
        return Err(closed("the channel"));
    }
    of_open_channel(env, jdk, ch)
}

fn of_socket(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<RawFd, Failure> {
    if boolean(env, s, jdk.socket_is_closed)? {
        return Err(closed("the socket"));
    }
    let ch = object(env, s, jdk.socket_get_channel)?;
    if !ch.is_null() {
        return of_channel(env, jdk, &ch);
    }
    of_socket_without_channel(env, jdk, s)
}

/// A socket the caller has found open and without a channel.
fn of_socket_without_channel(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<RawFd, Failure> {
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
    of_datagram_socket_without_channel(env, jdk, s)
}

/// A datagram socket the caller has found open and without a channel of its own: the
/// channel of its delegate.
fn of_datagram_socket_without_channel(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<RawFd, Failure> {
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

/// The fast path of [`of_datagram_socket_without_channel`]: `delegate.dc.fdVal`, three
/// field reads, when the delegate is the JDK's DatagramSocketAdaptor. Makes at most two
/// local references, which the caller's native frame holds.
fn datagram_fd_val(env: &mut JNIEnv, jdk: &Jdk, s: &JObject) -> Result<Option<RawFd>, Failure> {
    let (Some(delegate_field), Some((adaptor, dc_field)), Some((_, fd_val))) =
        (jdk.datagram_delegate, &jdk.datagram_adaptor, &jdk.datagram_channel_fd)
    else {
        return Ok(None);
    };
    let delegate = field(env, s, delegate_field)?;
    if delegate.is_null() || !env.is_instance_of(&delegate, class(adaptor))? {
        return Ok(None);
    }
    // `dc` is declared a DatagramChannelImpl, so `fd_val` is a field of what it holds.
    let dc = field(env, &delegate, *dc_field)?;
    if dc.is_null() {
        return Ok(None);
    }
    Ok(Some(int_field(env, &dc, *fd_val)?))
}

/// What the Java side has established about the object it passes, by the native method
/// it calls. The class is the Java parameter's type, so the JVM guarantees it; "open"
/// was true when Java checked (a socket that another thread closes meanwhile is the
/// caller's race, as with any descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Anything (`Native.tag`); everything is checked here.
    Any,
    /// A `java.nio.channels.Channel` that was open (`Native.tagChannel`).
    OpenChannel,
    /// A `java.net.DatagramSocket` that was open and whose `getChannel()` was null
    /// (`Native.tagDatagramSocket`).
    OpenDatagramSocket,
    /// A `java.net.Socket` that was open and whose `getChannel()` was null
    /// (`Native.tagSocket`).
    OpenSocket,
    /// A `java.io.FileDescriptor` (`Native.tagFileDescriptor`).
    FileDescriptor,
}

/// The descriptor of `obj` (a FileDescriptor, Socket, DatagramSocket or NIO channel; the
/// Java side has rejected null), of which Java has established `kind`.
pub(crate) fn fd_of(env: &mut JNIEnv, obj: &JObject, kind: Kind) -> Result<RawFd, Failure> {
    let jdk = jdk(env)?;
    // The usual objects first, without calling into Java and without a frame of their
    // own (at most two local references).
    let fast = match kind {
        Kind::OpenChannel => fd_val_field(env, jdk, obj)?,
        Kind::OpenDatagramSocket => datagram_fd_val(env, jdk, obj)?,
        Kind::FileDescriptor => return of_file_descriptor(env, jdk, obj),
        Kind::Any | Kind::OpenSocket => None,
    };
    if let Some(fd) = fast {
        return Ok(fd);
    }
    // A frame of our own: the calls below make local references.
    env.with_local_frame(16, |env| match kind {
        Kind::OpenChannel => of_open_channel(env, jdk, obj),
        Kind::OpenDatagramSocket => of_datagram_socket_without_channel(env, jdk, obj),
        Kind::OpenSocket => of_socket_without_channel(env, jdk, obj),
        Kind::Any | Kind::FileDescriptor => of_any(env, jdk, obj),
    })
}

/// Whatever `obj` is, checked here.
fn of_any(env: &mut JNIEnv, jdk: &Jdk, obj: &JObject) -> Result<RawFd, Failure> {
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
}
