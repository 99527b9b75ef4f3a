//! Thread tag state and scope guards: Android semantics, per thread.

use qtag::*;

#[test]
fn set_get_clear() {
    assert_eq!(get_thread_stats_tag(), None);
    assert_eq!(get_thread_stats_uid(), None);
    set_thread_stats_tag(0x42);
    set_thread_stats_uid(1000);
    assert_eq!(thread_state(), ThreadState { tag: Some(0x42), uid: Some(1000) });
    clear_thread_stats_tag();
    assert_eq!(thread_state(), ThreadState { tag: None, uid: Some(1000) });
    clear_thread_stats_uid();
    assert_eq!(thread_state(), ThreadState::default());
}

#[test]
fn minus_one_clears_like_android() {
    set_thread_stats_tag(5);
    set_thread_stats_tag(u32::MAX); // Java's -1
    assert_eq!(get_thread_stats_tag(), None);
    set_thread_stats_uid(7);
    set_thread_stats_uid(u32::MAX);
    assert_eq!(get_thread_stats_uid(), None);
    // Tag 0 is a real value, not "none".
    set_thread_stats_tag(0);
    assert_eq!(get_thread_stats_tag(), Some(0));
    clear_thread_stats_tag();
}

#[test]
fn get_and_set() {
    assert_eq!(get_and_set_thread_stats_tag(1), None);
    assert_eq!(get_and_set_thread_stats_tag(TAG_SYSTEM_BACKUP), Some(1));
    assert_eq!(get_and_set_thread_stats_tag(u32::MAX), Some(TAG_SYSTEM_BACKUP));
    assert_eq!(get_thread_stats_tag(), None);
}

#[test]
fn guards_restore_tag_and_uid_nested() {
    set_thread_stats_tag(1);
    {
        let g = tag_scope(2);
        assert_eq!(g.previous(), ThreadState { tag: Some(1), uid: None });
        assert_eq!(get_thread_stats_tag(), Some(2));
        {
            let _u = uid_scope(1000);
            assert_eq!(thread_state(), ThreadState { tag: Some(2), uid: Some(1000) });
            {
                let _s = scope(None, Some(2000));
                assert_eq!(thread_state(), ThreadState { tag: None, uid: Some(2000) });
                // Changes made inside a scope are undone by its guard too.
                set_thread_stats_tag(99);
            }
            assert_eq!(thread_state(), ThreadState { tag: Some(2), uid: Some(1000) });
        }
        assert_eq!(thread_state(), ThreadState { tag: Some(2), uid: None });
    }
    assert_eq!(thread_state(), ThreadState { tag: Some(1), uid: None });
    clear_thread_stats_tag();
}

#[test]
fn guard_restores_on_panic_unwind() {
    let r = std::panic::catch_unwind(|| {
        let _g = tag_scope(7);
        panic!("boom");
    });
    assert!(r.is_err());
    assert_eq!(get_thread_stats_tag(), None);
}

#[test]
fn threads_are_independent() {
    set_thread_stats_tag(10);
    let handles: Vec<_> = (0..4u32)
        .map(|i| {
            std::thread::spawn(move || {
                assert_eq!(get_thread_stats_tag(), None, "a new thread starts clear");
                let _g = scope(Some(100 + i), Some(i));
                std::thread::yield_now();
                thread_state()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let i = i as u32;
        assert_eq!(h.join().unwrap(), ThreadState { tag: Some(100 + i), uid: Some(i) });
    }
    assert_eq!(get_thread_stats_tag(), Some(10));
    clear_thread_stats_tag();
}

#[test]
fn validation_of_binding_arguments() {
    assert_eq!(validate_tag(0).unwrap(), 0);
    assert_eq!(validate_tag(0xFFFF_FFFF).unwrap(), u32::MAX);
    assert_eq!(validate_tag(-1).unwrap(), u32::MAX);
    assert_eq!(validate_tag(i64::from(i32::MIN)).unwrap(), 0x8000_0000);
    for bad in [1i64 << 32, i64::from(i32::MIN) - 1, i64::MAX, i64::MIN] {
        match validate_tag(bad) {
            Err(Error::InvalidArgument { which: "tag", .. }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(validate_uid(-1).unwrap(), None);
    assert_eq!(validate_uid(0).unwrap(), Some(0));
    for bad in [-2i64, 1 << 32, 0xFFFF_FFFF] {
        assert!(matches!(validate_uid(bad), Err(Error::InvalidArgument { which: "uid", .. })));
    }
    assert!(matches!(validate_counter_set(2), Err(Error::InvalidArgument { which: "set", .. })));
    assert!(validate_counter_set(-1).is_err());
    let e = validate_uid(-5).unwrap_err();
    assert!(e.to_string().starts_with("invalid argument `uid`"), "{e}");
}

#[test]
fn reserved_tags_have_android_values() {
    assert_eq!(TAG_SYSTEM_DOWNLOAD, 0xFFFF_FF01);
    assert_eq!(TAG_SYSTEM_MEDIA, 0xFFFF_FF02);
    assert_eq!(TAG_SYSTEM_BACKUP, 0xFFFF_FF03);
    assert_eq!(TAG_SYSTEM_RESTORE, 0xFFFF_FF04);
    assert_eq!(TAG_SYSTEM_APP, 0xFFFF_FF05);
    assert_eq!(TAG_SYSTEM_DHCP, 0xFFFF_FF40);
    assert_eq!(TAG_SYSTEM_NTP, 0xFFFF_FF41);
    assert_eq!(TAG_SYSTEM_PROBE, 0xFFFF_FF42);
    assert_eq!(TAG_SYSTEM_NEIGHBOR, 0xFFFF_FF43);
    assert_eq!(TAG_SYSTEM_GPS, 0xFFFF_FF44);
    assert_eq!(TAG_SYSTEM_PAC, 0xFFFF_FF45);
    assert_eq!(UNSUPPORTED, -1);
    assert!(TAG_SYSTEM_NAMES.iter().all(|(t, _)| is_reserved_tag(*t)));
}
