//! `dev.qtag.Stats`: a core [`qtag::Stats`] snapshot that Java holds as an opaque handle
//! (a boxed pointer as a `long`), so parsing, deltas and sums stay the core's. The Java
//! side frees each handle exactly once and never uses it afterwards.

use jni::objects::{JByteArray, JClass, JObjectArray, JString};
use jni::sys::{jint, jlong, jlongArray, jobjectArray};
use jni::JNIEnv;

use crate::entry::entry;
use crate::errors::Failure;

fn into_handle(stats: qtag::Stats) -> jlong {
    Box::into_raw(Box::new(stats)) as jlong
}

/// The snapshot behind a live handle.
fn snapshot<'a>(handle: jlong) -> &'a qtag::Stats {
    // SAFETY: handles come from `into_handle` and Java stops using them before freeing.
    unsafe { &*(handle as *const qtag::Stats) }
}

/// `-1` matches anything, as in the Java API.
fn any(v: jint) -> Option<u32> {
    (v != -1).then_some(v as u32)
}

fn long_array(env: &mut JNIEnv, values: &[i64]) -> Result<jlongArray, Failure> {
    let array = env.new_long_array(values.len() as i32)?;
    env.set_long_array_region(&array, 0, values)?;
    Ok(array.into_raw())
}

fn counters(c: &qtag::Counters) -> [i64; 16] {
    c.to_array().map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

/// `Native.statsRead()`: the module's stats file, parsed.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsRead<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>) -> jlong {
    entry(&mut env, 0, |_| Ok(into_handle(qtag::Stats::read()?)))
}

/// `Native.statsParse(byte[] text)`: a stats file's contents, parsed.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsParse<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    text: JByteArray<'l>,
) -> jlong {
    entry(&mut env, 0, |env| {
        let bytes = env.convert_byte_array(&text)?;
        Ok(into_handle(qtag::Stats::parse(&bytes)?))
    })
}

/// `Native.statsDelta(long later, long earlier)`: the traffic between two snapshots.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsDelta<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    later: jlong,
    earlier: jlong,
) -> jlong {
    entry(&mut env, 0, |_| Ok(into_handle(snapshot(later).delta_since(snapshot(earlier)))))
}

/// `Native.statsFree(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsFree<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, handle: jlong) {
    entry(&mut env, (), |_| {
        // SAFETY: see `snapshot`; Java frees each handle once.
        drop(unsafe { Box::from_raw(handle as *mut qtag::Stats) });
        Ok(())
    })
}

/// `Native.statsSum(long handle, int uid, int tag, String iface, int set)`: the 16
/// counters of the matching rows added up (`-1` / null: any).
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsSum<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    handle: jlong,
    uid: jint,
    tag: jint,
    iface: JString<'l>,
    set: jint,
) -> jlongArray {
    entry(&mut env, std::ptr::null_mut(), |env| {
        let iface: Option<String> = if iface.is_null() { None } else { Some(env.get_string(&iface)?.into()) };
        let filter = qtag::Filter { uid: any(uid), tag: any(tag), iface: iface.as_deref(), set: any(set) };
        long_array(env, &counters(&snapshot(handle).sum(&filter)))
    })
}

/// `Native.statsRows(long handle)`: every row as 20 longs (interface index into
/// `statsIfaces`, tag, uid, set, then the 16 counters).
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsRows<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, handle: jlong) -> jlongArray {
    entry(&mut env, std::ptr::null_mut(), |env| {
        let rows = snapshot(handle).rows();
        let mut flat = Vec::with_capacity(rows.len() * 20);
        for r in rows {
            flat.extend([r.iface.index() as i64, i64::from(r.tag), i64::from(r.uid), i64::from(r.set)]);
            flat.extend(counters(&r.counters));
        }
        long_array(env, &flat)
    })
}

fn string_array<'a>(env: &mut JNIEnv, items: impl ExactSizeIterator<Item = &'a str>) -> Result<jobjectArray, Failure> {
    let array: JObjectArray = env.new_object_array(items.len() as i32, "java/lang/String", jni::objects::JObject::null())?;
    for (i, s) in items.enumerate() {
        let js = env.new_string(s)?;
        env.set_object_array_element(&array, i as i32, &js)?;
        env.delete_local_ref(js)?;
    }
    Ok(array.into_raw())
}

/// `Native.statsIfaces(long handle)`: the interface names the rows refer to by index.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_statsIfaces<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, handle: jlong) -> jobjectArray {
    entry(&mut env, std::ptr::null_mut(), |env| string_array(env, snapshot(handle).ifaces()))
}

/// `Native.counterNames()`: the 16 counters' names, in the order of every counter array.
#[no_mangle]
pub extern "system" fn Java_dev_qtag_Native_counterNames<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>) -> jobjectArray {
    entry(&mut env, std::ptr::null_mut(), |env| string_array(env, qtag::Counters::NAMES.iter().copied()))
}
