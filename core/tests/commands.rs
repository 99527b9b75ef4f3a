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
