//! `libqtag_jni`: the JNI glue between the `qtag` core crate and the Java package in
//! `java/` (class `dev.qtag.Native`).
//!
//! Thin on purpose: it reads descriptors out of Java socket objects ([`fd`]), converts
//! Java ints, and turns [`qtag::Error`] into `dev.qtag` exceptions ([`errors`]). The tag
//! state lives in a Java ThreadLocal and arrives explicitly with each call, so virtual
//! threads never depend on the carrier thread's state. Every entry point runs through
//! [`entry::entry`]: panics and failures become Java exceptions.

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jint, jlong, jstring};
use jni::JNIEnv;

mod entry;
mod errors;
mod fd;
mod jdk;
mod stats;

use entry::entry;
use fd::Kind;

/// A Java uid argument: `-1` is "none" (the caller's own uid), any other int is the uid
/// with the same 32 bits.
fn uid_arg(uid: jint) -> Option<u32> {
    (uid != -1).then_some(uid as u32)
}

/// Tag `socket` with an explicit tag and uid (-1: none), with the core's rules for
/// "none" (neither: the descriptor is only checked).
fn tag<'l>(env: &mut JNIEnv<'l>, socket: JObject<'l>, kind: Kind, tag: jint, uid: jint) {
    entry(env, (), |env| {
        let fd = fd::fd_of(env, &socket, kind)?;
        // The state Java keeps, handed to the core as is (no swap of the core's
        // thread-local state around the call).
        let state = qtag::ThreadState { tag: Some(tag as u32), uid: uid_arg(uid) };
        Ok(qtag::tag_socket_in_state_raw(fd, state)?)
    })
}

fn untag<'l>(env: &mut JNIEnv<'l>, socket: JObject<'l>, kind: Kind) {
    entry(env, (), |env| {
        let fd = fd::fd_of(env, &socket, kind)?;
        Ok(qtag::untag_socket_raw(fd)?)
    })
}

/// The native methods `Native.tagX(X socket, int tag, int uid)` and `Native.untagX(X
/// socket)` for one [`Kind`]: Java picks the method, whose parameter type is `X`.
macro_rules! tag_methods {
    ($tag:ident, $untag:ident, $kind:expr) => {
        #[no_mangle]
        pub extern "system" fn $tag<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, socket: JObject<'l>, t: jint, uid: jint) {
            tag(&mut env, socket, $kind, t, uid)
        }

        #[no_mangle]
        pub extern "system" fn $untag<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, socket: JObject<'l>) {
            untag(&mut env, socket, $kind)
        }
    };
}

// Native.tag(Object, ..): anything, checked here.
tag_methods!(Java_dev_qtag_Native_tag, Java_dev_qtag_Native_untag, Kind::Any);
// Native.tagChannel(Channel, ..): open.
tag_methods!(Java_dev_qtag_Native_tagChannel, Java_dev_qtag_Native_untagChannel, Kind::OpenChannel);
// Native.tagDatagramSocket(DatagramSocket, ..): open, getChannel() null.
tag_methods!(Java_dev_qtag_Native_tagDatagramSocket, Java_dev_qtag_Native_untagDatagramSocket, Kind::OpenDatagramSocket);
// Native.tagSocket(Socket, ..): open, getChannel() null.
tag_methods!(Java_dev_qtag_Native_tagSocket, Java_dev_qtag_Native_untagSocket, Kind::OpenSocket);
// Native.tagFileDescriptor(FileDescriptor, ..).
tag_methods!(Java_dev_qtag_Native_tagFileDescriptor, Java_dev_qtag_Native_untagFileDescriptor, Kind::FileDescriptor);

/// `Native.setCounterSet(int counterSet, int uid)` (libcutils' argument order).
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_setCounterSet<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, set: jint, uid: jint) {
    entry(&mut env, (), |_| {
        let set = qtag::validate_counter_set(i64::from(set))?;
        Ok(qtag::set_counter_set(uid_arg(uid), set)?)
    })
}

/// `Native.deleteTagData(int tag, int uid)`.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_deleteTagData<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, tag: jint, uid: jint) {
    entry(&mut env, (), |_| Ok(qtag::delete_tag_data(tag as u32, uid_arg(uid))?))
}

/// The four counters of the getters, in the order of `Native.RX_BYTES` .. `TX_PACKETS`.
fn counter(which: jint) -> Result<usize, qtag::Error> {
    usize::try_from(which)
        .ok()
        .filter(|&w| w < 4)
        .ok_or_else(|| qtag::Error::InvalidArgument { which: "counter", reason: format!("{which} is not 0..=3") })
}

/// `Native.uidStat(int uid, int which)`: getUidRxBytes & co.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_uidStat<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, uid: jint, which: jint) -> jlong {
    const F: [fn(u32) -> i64; 4] = [qtag::uid_rx_bytes, qtag::uid_rx_packets, qtag::uid_tx_bytes, qtag::uid_tx_packets];
    entry(&mut env, qtag::UNSUPPORTED, |_| Ok(F[counter(which)?](uid as u32)))
}

/// `Native.totalStat(int which)`: getTotalRxBytes & co.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_totalStat<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, which: jint) -> jlong {
    const F: [fn() -> i64; 4] = [qtag::total_rx_bytes, qtag::total_rx_packets, qtag::total_tx_bytes, qtag::total_tx_packets];
    entry(&mut env, qtag::UNSUPPORTED, |_| Ok(F[counter(which)?]()))
}

/// `Native.ifaceStat(String iface, int which)`: getRxBytes(iface) & co.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_ifaceStat<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    iface: JString<'l>,
    which: jint,
) -> jlong {
    const F: [fn(&str) -> i64; 4] = [qtag::iface_rx_bytes, qtag::iface_rx_packets, qtag::iface_tx_bytes, qtag::iface_tx_packets];
    entry(&mut env, qtag::UNSUPPORTED, |env| {
        let f = F[counter(which)?];
        let iface: String = env.get_string(&iface)?.into();
        Ok(f(&iface))
    })
}

/// `Native.tagName(int tag)`: the core's name of a reserved tag, or null.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_tagName<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, tag: jint) -> jstring {
    entry(&mut env, std::ptr::null_mut(), |env| match qtag::tag_name(tag as u32) {
        Some(name) => Ok(env.new_string(name)?.into_raw()),
        None => Ok(std::ptr::null_mut()),
    })
}

/// `Native.panicForTest(String message)`: panics, so the tests can see that a panic
/// becomes an IllegalStateException instead of crossing into the JVM.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_panicForTest<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, message: JString<'l>) {
    entry(&mut env, (), |env| {
        let message: String = env.get_string(&message)?.into();
        panic!("{message}");
    })
}
