//! The 16 counters of a stats row (and of an `iface_stat_fmt` line), in file order.

use std::ops::{Add, AddAssign};

/// Byte and packet counters, total and by protocol, in the order of the `stats` and
/// `iface_stat_fmt` columns.
///
/// ```
/// let mut a = qtag::Counters { rx_bytes: 10, ..Default::default() };
/// a += qtag::Counters { rx_bytes: 5, tx_bytes: 1, ..Default::default() };
/// assert_eq!((a.rx_bytes, a.tx_bytes, a.total_bytes()), (15, 1, 16));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Counters {
    /// Received bytes (IP layer).
    pub rx_bytes: u64,
    /// Received packets.
    pub rx_packets: u64,
    /// Sent bytes (IP layer).
    pub tx_bytes: u64,
    /// Sent packets.
    pub tx_packets: u64,
    /// Received TCP bytes.
    pub rx_tcp_bytes: u64,
    /// Received TCP packets.
    pub rx_tcp_packets: u64,
    /// Received UDP bytes.
    pub rx_udp_bytes: u64,
    /// Received UDP packets.
    pub rx_udp_packets: u64,
    /// Received bytes of other protocols.
    pub rx_other_bytes: u64,
    /// Received packets of other protocols.
    pub rx_other_packets: u64,
    /// Sent TCP bytes.
    pub tx_tcp_bytes: u64,
    /// Sent TCP packets.
    pub tx_tcp_packets: u64,
    /// Sent UDP bytes.
    pub tx_udp_bytes: u64,
    /// Sent UDP packets.
    pub tx_udp_packets: u64,
    /// Sent bytes of other protocols.
    pub tx_other_bytes: u64,
    /// Sent packets of other protocols.
    pub tx_other_packets: u64,
}

impl Counters {
    /// The column names, in file order (the `stats` header's last 16 words).
    ///
    /// ```
    /// assert_eq!(qtag::Counters::NAMES[0], "rx_bytes");
    /// assert_eq!(qtag::Counters::NAMES.len(), 16);
    /// ```
    pub const NAMES: [&'static str; 16] = [
        "rx_bytes", "rx_packets", "tx_bytes", "tx_packets",
        "rx_tcp_bytes", "rx_tcp_packets", "rx_udp_bytes", "rx_udp_packets",
        "rx_other_bytes", "rx_other_packets", "tx_tcp_bytes", "tx_tcp_packets",
        "tx_udp_bytes", "tx_udp_packets", "tx_other_bytes", "tx_other_packets",
    ];

    /// Build from the 16 values in file order.
    ///
    /// ```
    /// let c = qtag::Counters::from_array([1; 16]);
    /// assert_eq!(c.tx_other_packets, 1);
    /// ```
    pub fn from_array(a: [u64; 16]) -> Counters {
        Counters {
            rx_bytes: a[0], rx_packets: a[1], tx_bytes: a[2], tx_packets: a[3],
            rx_tcp_bytes: a[4], rx_tcp_packets: a[5], rx_udp_bytes: a[6], rx_udp_packets: a[7],
            rx_other_bytes: a[8], rx_other_packets: a[9], tx_tcp_bytes: a[10],
            tx_tcp_packets: a[11], tx_udp_bytes: a[12], tx_udp_packets: a[13],
            tx_other_bytes: a[14], tx_other_packets: a[15],
        }
    }

    /// The 16 values in file order.
    ///
    /// ```
    /// let c = qtag::Counters { tx_bytes: 3, ..Default::default() };
    /// assert_eq!(c.to_array()[2], 3);
    /// ```
    pub fn to_array(&self) -> [u64; 16] {
        [
            self.rx_bytes, self.rx_packets, self.tx_bytes, self.tx_packets,
            self.rx_tcp_bytes, self.rx_tcp_packets, self.rx_udp_bytes, self.rx_udp_packets,
            self.rx_other_bytes, self.rx_other_packets, self.tx_tcp_bytes, self.tx_tcp_packets,
            self.tx_udp_bytes, self.tx_udp_packets, self.tx_other_bytes, self.tx_other_packets,
        ]
    }

    /// `rx_bytes + tx_bytes` (saturating).
    ///
    /// ```
    /// assert_eq!(qtag::Counters { rx_bytes: 2, tx_bytes: 3, ..Default::default() }.total_bytes(), 5);
    /// ```
    pub fn total_bytes(&self) -> u64 {
        self.rx_bytes.saturating_add(self.tx_bytes)
    }

    /// `rx_packets + tx_packets` (saturating).
    ///
    /// ```
    /// assert_eq!(qtag::Counters { rx_packets: 1, tx_packets: 1, ..Default::default() }.total_packets(), 2);
    /// ```
    pub fn total_packets(&self) -> u64 {
        self.rx_packets.saturating_add(self.tx_packets)
    }

    /// Whether every counter is zero.
    ///
    /// ```
    /// assert!(qtag::Counters::default().is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        self.to_array().iter().all(|&v| v == 0)
    }

    /// Counter-wise `self - earlier`, clamped at 0 (counters reset by `d` or a module
    /// reload give 0, not a wrap-around).
    ///
    /// ```
    /// let a = qtag::Counters { rx_bytes: 10, ..Default::default() };
    /// let b = qtag::Counters { rx_bytes: 4, ..Default::default() };
    /// assert_eq!(a.delta_since(&b).rx_bytes, 6);
    /// assert_eq!(b.delta_since(&a).rx_bytes, 0);
    /// ```
    pub fn delta_since(&self, earlier: &Counters) -> Counters {
        let (a, b) = (self.to_array(), earlier.to_array());
        Counters::from_array(std::array::from_fn(|i| a[i].saturating_sub(b[i])))
    }
}

impl AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        let (a, b) = (self.to_array(), o.to_array());
        *self = Counters::from_array(std::array::from_fn(|i| a[i].wrapping_add(b[i])));
    }
}

impl Add for Counters {
    type Output = Counters;
    fn add(mut self, o: Counters) -> Counters {
        self += o;
        self
    }
}

impl std::iter::Sum for Counters {
    fn sum<I: Iterator<Item = Counters>>(iter: I) -> Counters {
        iter.fold(Counters::default(), Add::add)
    }
}

impl<'a> std::iter::Sum<&'a Counters> for Counters {
    fn sum<I: Iterator<Item = &'a Counters>>(iter: I) -> Counters {
        iter.copied().sum()
    }
}
