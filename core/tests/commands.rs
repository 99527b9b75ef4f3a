//! The bytes written to ctrl: libcutils' exact formats.

use qtag::Command;

fn s(c: Command) -> String {
    String::from_utf8(c.as_bytes().to_vec()).unwrap()
}

#[test]
fn formats() {
    assert_eq!(s(Command::tag(3, 0, None)), "t 3 0 -1");
    assert_eq!(s(Command::tag(3, 1, Some(1000))), "t 3 4294967296 1000");
    assert_eq!(s(Command::tag(2147483647, u32::MAX, Some(0))), "t 2147483647 18446744069414584320 0");
    assert_eq!(s(Command::tag(5, qtag::TAG_SYSTEM_DOWNLOAD, None)), format!("t 5 {} -1", 0xFFFF_FF01u64 << 32));
    assert_eq!(s(Command::untag(0)), "u 0");
    assert_eq!(s(Command::set_counter_set(1, Some(10001))), "s 1 10001");
    assert_eq!(s(Command::set_counter_set(0, None)), "s 0 -1");
    assert_eq!(s(Command::delete_tag_data(0, Some(1000))), "d 0 1000");
    assert_eq!(s(Command::delete_tag_data(0x1001, None)), "d 17596481011712 -1");
    // uid_t printed with %d, as libcutils does.
    assert_eq!(s(Command::tag(1, 0, Some(3_000_000_000))), "t 1 0 -1294967296");
    let longest = Command::tag(i32::MIN, u32::MAX, Some(0x8000_0000));
    assert_eq!(s(longest), "t -2147483648 18446744069414584320 -2147483648");
}

/// The hand-written digits agree with `format!` on the edges of every field's range.
#[test]
fn digits_agree_with_format() {
    let fds = [i32::MIN, i32::MIN + 1, -10, -9, -1, 0, 1, 9, 10, 99, 100, 65535, i32::MAX - 1, i32::MAX];
    let tags = [0, 1, 9, 10, 0x1001, 0x7FFF_FFFF, 0x8000_0000, u32::MAX - 1, u32::MAX];
    let uids = [None, Some(0), Some(9), Some(10), Some(10001), Some(0x7FFF_FFFF), Some(0x8000_0000), Some(u32::MAX)];
    for &fd in &fds {
        assert_eq!(s(Command::untag(fd)), format!("u {fd}"));
        for &tag in &tags {
            for &uid in &uids {
                let u = uid.map_or(-1, |u: u32| u as i32);
                assert_eq!(s(Command::tag(fd, tag, uid)), format!("t {fd} {} {u}", u64::from(tag) << 32));
                assert_eq!(s(Command::delete_tag_data(tag, uid)), format!("d {} {u}", u64::from(tag) << 32));
                assert_eq!(s(Command::set_counter_set(tag, uid)), format!("s {tag} {u}"));
            }
        }
    }
}
