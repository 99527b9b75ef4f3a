//! Reserved tag values, Android's special numbers, and argument validation shared by
//! every binding.

use crate::error::{Error, Result};

/// What TrafficStats-style getters return when a statistic is not available.
///
/// ```
/// assert_eq!(qtag::UNSUPPORTED, -1);
/// ```
pub const UNSUPPORTED: i64 = -1;

/// First reserved tag; tags `0xFFFFFF00..=0xFFFFFFFF` are for system services.
///
/// ```
/// assert!(qtag::is_reserved_tag(qtag::TAG_SYSTEM_DOWNLOAD));
/// ```
pub const TAG_SYSTEM_RESERVED_START: u32 = 0xFFFF_FF00;
/// Download manager traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_DOWNLOAD, 0xFFFF_FF01);
/// ```
pub const TAG_SYSTEM_DOWNLOAD: u32 = 0xFFFF_FF01;
/// Media player traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_MEDIA, 0xFFFF_FF02);
/// ```
pub const TAG_SYSTEM_MEDIA: u32 = 0xFFFF_FF02;
/// Backup traffic (device to storage backend).
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_BACKUP, 0xFFFF_FF03);
/// ```
pub const TAG_SYSTEM_BACKUP: u32 = 0xFFFF_FF03;
/// Restore traffic (storage backend to device).
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_RESTORE, 0xFFFF_FF04);
/// ```
pub const TAG_SYSTEM_RESTORE: u32 = 0xFFFF_FF04;
/// Code (typically packages) downloaded by an app store on behalf of an app.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_APP, 0xFFFF_FF05);
/// ```
pub const TAG_SYSTEM_APP: u32 = 0xFFFF_FF05;
/// DHCP client traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_DHCP, 0xFFFF_FF40);
/// ```
pub const TAG_SYSTEM_DHCP: u32 = 0xFFFF_FF40;
/// NTP traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_NTP, 0xFFFF_FF41);
/// ```
pub const TAG_SYSTEM_NTP: u32 = 0xFFFF_FF41;
/// Connectivity probes.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_PROBE, 0xFFFF_FF42);
/// ```
pub const TAG_SYSTEM_PROBE: u32 = 0xFFFF_FF42;
/// Neighbor discovery.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_NEIGHBOR, 0xFFFF_FF43);
/// ```
pub const TAG_SYSTEM_NEIGHBOR: u32 = 0xFFFF_FF43;
/// GPS assistance traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_GPS, 0xFFFF_FF44);
/// ```
pub const TAG_SYSTEM_GPS: u32 = 0xFFFF_FF44;
/// Proxy auto-config (PAC) traffic.
///
/// ```
/// assert_eq!(qtag::TAG_SYSTEM_PAC, 0xFFFF_FF45);
/// ```
pub const TAG_SYSTEM_PAC: u32 = 0xFFFF_FF45;

/// Every named reserved tag with its Android constant name, for display.
///
/// ```
/// assert!(qtag::TAG_SYSTEM_NAMES.iter().any(|&(t, n)| t == 0xFFFF_FF41 && n == "TAG_SYSTEM_NTP"));
/// ```
pub const TAG_SYSTEM_NAMES: &[(u32, &str)] = &[
    (TAG_SYSTEM_DOWNLOAD, "TAG_SYSTEM_DOWNLOAD"),
    (TAG_SYSTEM_MEDIA, "TAG_SYSTEM_MEDIA"),
    (TAG_SYSTEM_BACKUP, "TAG_SYSTEM_BACKUP"),
    (TAG_SYSTEM_RESTORE, "TAG_SYSTEM_RESTORE"),
    (TAG_SYSTEM_APP, "TAG_SYSTEM_APP"),
    (TAG_SYSTEM_DHCP, "TAG_SYSTEM_DHCP"),
    (TAG_SYSTEM_NTP, "TAG_SYSTEM_NTP"),
    (TAG_SYSTEM_PROBE, "TAG_SYSTEM_PROBE"),
    (TAG_SYSTEM_NEIGHBOR, "TAG_SYSTEM_NEIGHBOR"),
    (TAG_SYSTEM_GPS, "TAG_SYSTEM_GPS"),
    (TAG_SYSTEM_PAC, "TAG_SYSTEM_PAC"),
];

/// The Android constant name of a reserved tag, if it has one.
///
/// ```
/// assert_eq!(qtag::tag_name(qtag::TAG_SYSTEM_MEDIA), Some("TAG_SYSTEM_MEDIA"));
/// assert_eq!(qtag::tag_name(7), None);
/// ```
pub fn tag_name(tag: u32) -> Option<&'static str> {
    TAG_SYSTEM_NAMES.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n)
}

/// Whether `tag` lies in the range Android reserves for system services.
///
/// ```
/// assert!(qtag::is_reserved_tag(0xFFFF_FF00));
/// assert!(!qtag::is_reserved_tag(0x1234));
/// ```
pub fn is_reserved_tag(tag: u32) -> bool {
    tag >= TAG_SYSTEM_RESERVED_START
}

/// Validate a tag given as a wide integer by a binding (Java `int`, JS `number`, Python
/// `int`). Accepts `0..=0xFFFFFFFF` and, like Java, negative `i32` values, which are
/// read as their two's-complement `u32` (so `-255` is `0xFFFFFF01`).
///
/// ```
/// assert_eq!(qtag::validate_tag(-255).unwrap(), qtag::TAG_SYSTEM_DOWNLOAD);
/// assert_eq!(qtag::validate_tag(5).unwrap(), 5);
/// assert!(qtag::validate_tag(1 << 40).is_err());
/// ```
pub fn validate_tag(tag: i64) -> Result<u32> {
    if (i64::from(i32::MIN)..0).contains(&tag) {
        Ok(tag as i32 as u32)
    } else {
        u32::try_from(tag).map_err(|_| {
            Error::invalid("tag", format!("{tag} is outside 0..=0xFFFFFFFF (or a Java int)"))
        })
    }
}

/// Validate a uid given as a wide integer by a binding. `-1` means "the caller's own
/// uid" and gives `None`; other values must be valid Linux uids (`0..=0xFFFFFFFE`).
///
/// ```
/// assert_eq!(qtag::validate_uid(-1).unwrap(), None);
/// assert_eq!(qtag::validate_uid(1000).unwrap(), Some(1000));
/// assert!(qtag::validate_uid(-2).is_err());
/// assert!(qtag::validate_uid(0xFFFF_FFFF).is_err());
/// ```
pub fn validate_uid(uid: i64) -> Result<Option<u32>> {
    match uid {
        -1 => Ok(None),
        0..=0xFFFF_FFFE => Ok(Some(uid as u32)),
        _ => Err(Error::invalid("uid", format!("{uid} is not a uid (0..=4294967294, or -1 for self)"))),
    }
}

/// Validate a counter set: `0` (default, background) or `1` (foreground).
///
/// ```
/// assert_eq!(qtag::validate_counter_set(1).unwrap(), 1);
/// assert!(qtag::validate_counter_set(2).is_err());
/// ```
pub fn validate_counter_set(set: i64) -> Result<u32> {
    match set {
        0 | 1 => Ok(set as u32),
        _ => Err(Error::invalid("set", format!("{set} is not a counter set (0 = default, 1 = foreground)"))),
    }
}

/// Counter set 0: the default (background) set.
///
/// ```
/// assert_eq!(qtag::COUNTER_SET_DEFAULT, 0);
/// ```
pub const COUNTER_SET_DEFAULT: u32 = 0;
/// Counter set 1: foreground.
///
/// ```
/// assert_eq!(qtag::COUNTER_SET_FOREGROUND, 1);
/// ```
pub const COUNTER_SET_FOREGROUND: u32 = 1;
