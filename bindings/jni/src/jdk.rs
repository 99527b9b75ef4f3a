//! The JDK classes and member ids `fd.rs` uses, looked up once per process: FindClass
//! and Get*ID on every call made tagging a socket some 20 times slower than the write
//! to the kernel (scripts/bench). Bootstrap classes are never unloaded, so the ids stay
//! valid; the classes are held by global references.
//!
//! The private fields of `sun.nio.ch` (the `fdVal` of the channel implementations, the
//! channel behind a `DatagramSocket`) are optional: a JDK without them takes the slower
//! path through public and SelChImpl methods.

use std::sync::OnceLock;

use jni::objects::{GlobalRef, JClass, JFieldID, JMethodID};
use jni::JNIEnv;

pub(crate) struct Jdk {
    pub file_descriptor: GlobalRef,
    pub socket: GlobalRef,
    pub datagram_socket: GlobalRef,
    pub channel: GlobalRef,
    pub sel_ch_impl: GlobalRef,
    /// `sun.security.ssl.BaseSSLSocketImpl` and its `self` field (the layered socket).
    pub ssl_socket: Option<(GlobalRef, JFieldID)>,
    /// `DatagramSocket.delegate` (JDK 15+).
    pub datagram_delegate: Option<JFieldID>,
    /// `sun.nio.ch.DatagramSocketAdaptor` (the usual delegate) and its `dc` field, a
    /// `sun.nio.ch.DatagramChannelImpl`.
    pub datagram_adaptor: Option<(GlobalRef, JFieldID)>,
    /// `sun.nio.ch.DatagramChannelImpl` and its `int fdVal`.
    pub datagram_channel_fd: Option<(GlobalRef, JFieldID)>,
    /// `sun.nio.ch.SocketChannelImpl` and its `int fdVal`.
    pub socket_channel_fd: Option<(GlobalRef, JFieldID)>,
    pub fd: JFieldID,
    pub channel_is_open: JMethodID,
    pub get_fd_val: JMethodID,
    pub socket_is_closed: JMethodID,
    pub socket_get_channel: JMethodID,
    pub socket_get_impl: JMethodID,
    pub impl_get_file_descriptor: JMethodID,
    pub datagram_is_closed: JMethodID,
    pub datagram_get_channel: JMethodID,
}

static JDK: OnceLock<Jdk> = OnceLock::new();

pub(crate) fn jdk(env: &mut JNIEnv) -> jni::errors::Result<&'static Jdk> {
    if let Some(j) = JDK.get() {
        return Ok(j);
    }
    // A frame of its own: FindClass makes a local reference per class, more than the
    // caller's native frame should hold on top of its own (16 are guaranteed).
    let j = env.with_local_frame(32, lookup)?;
    Ok(JDK.get_or_init(|| j)) // a racing thread's copy is dropped: same ids
}

/// A global reference's class, to pass where JNI wants a class.
pub(crate) fn class(g: &GlobalRef) -> &JClass<'static> {
    <&JClass>::from(g.as_obj())
}

fn find(env: &mut JNIEnv, name: &str) -> jni::errors::Result<GlobalRef> {
    let c = env.find_class(name)?;
    env.new_global_ref(c)
}

/// A lookup that may fail on some JDKs: None, with the pending exception cleared.
fn optional<T>(env: &mut JNIEnv, r: jni::errors::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(_) => {
            let _ = env.exception_clear();
            None
        }
    }
}

/// An optional class and one of its fields, both looked up by name.
fn class_field(env: &mut JNIEnv, class_name: &str, name: &str, sig: &str) -> Option<(GlobalRef, JFieldID)> {
    let c = find(env, class_name);
    let c = optional(env, c)?;
    let f = env.get_field_id(class(&c), name, sig);
    optional(env, f).map(|f| (c, f))
}

fn lookup(env: &mut JNIEnv) -> jni::errors::Result<Jdk> {
    let file_descriptor = find(env, "java/io/FileDescriptor")?;
    let socket = find(env, "java/net/Socket")?;
    let datagram_socket = find(env, "java/net/DatagramSocket")?;
    let channel = find(env, "java/nio/channels/Channel")?;
    let sel_ch_impl = find(env, "sun/nio/ch/SelChImpl")?;
    let socket_impl = find(env, "java/net/SocketImpl")?;
    let ssl = find(env, "sun/security/ssl/BaseSSLSocketImpl");
    let ssl = optional(env, ssl);
    let ssl_socket = match ssl {
        Some(c) => {
            let f = env.get_field_id(class(&c), "self", "Ljava/net/Socket;");
            optional(env, f).map(|f| (c, f))
        }
        None => None,
    };
    let delegate = env.get_field_id(class(&datagram_socket), "delegate", "Ljava/net/DatagramSocket;");
    let datagram_delegate = optional(env, delegate);
    let datagram_adaptor = class_field(env, "sun/nio/ch/DatagramSocketAdaptor", "dc", "Lsun/nio/ch/DatagramChannelImpl;");
    let datagram_channel_fd = class_field(env, "sun/nio/ch/DatagramChannelImpl", "fdVal", "I");
    let socket_channel_fd = class_field(env, "sun/nio/ch/SocketChannelImpl", "fdVal", "I");
    Ok(Jdk {
        fd: env.get_field_id(class(&file_descriptor), "fd", "I")?,
        channel_is_open: env.get_method_id(class(&channel), "isOpen", "()Z")?,
        get_fd_val: env.get_method_id(class(&sel_ch_impl), "getFDVal", "()I")?,
        socket_is_closed: env.get_method_id(class(&socket), "isClosed", "()Z")?,
        socket_get_channel: env.get_method_id(class(&socket), "getChannel", "()Ljava/nio/channels/SocketChannel;")?,
        socket_get_impl: env.get_method_id(class(&socket), "getImpl", "()Ljava/net/SocketImpl;")?,
        impl_get_file_descriptor: env.get_method_id(class(&socket_impl), "getFileDescriptor", "()Ljava/io/FileDescriptor;")?,
        datagram_is_closed: env.get_method_id(class(&datagram_socket), "isClosed", "()Z")?,
        datagram_get_channel: env.get_method_id(class(&datagram_socket), "getChannel", "()Ljava/nio/channels/DatagramChannel;")?,
        file_descriptor,
        socket,
        datagram_socket,
        channel,
        sel_ch_impl,
        ssl_socket,
        datagram_delegate,
        datagram_adaptor,
        datagram_channel_fd,
        socket_channel_fd,
    })
}
