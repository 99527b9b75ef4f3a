//! Questions asked of a [`Stats`] snapshot.
//!
//! The rows of tag 0 are each uid's totals (tagged traffic included); tagged rows are
//! sub-categories of them. Sums over "all tags" therefore count tagged bytes twice:
//! the helpers below use tag 0 for totals and tags ≠ 0 for breakdowns.

use std::collections::BTreeMap;

use crate::counters::Counters;
use crate::stats::{Stats, StatsRow};

/// Which rows to look at; `None` fields match anything.
///
/// ```
/// let f = qtag::Filter { uid: Some(1000), tag: Some(0), ..Default::default() };
/// assert!(f.iface.is_none());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter<'a> {
    /// Only this uid.
    pub uid: Option<u32>,
    /// Only this tag (0: the uids' totals).
    pub tag: Option<u32>,
    /// Only this interface.
    pub iface: Option<&'a str>,
    /// Only this counter set.
    pub set: Option<u32>,
}

impl Stats {
    fn matches(&self, f: &Filter<'_>, r: &StatsRow) -> bool {
        f.uid.is_none_or(|u| r.uid == u)
            && f.tag.is_none_or(|t| r.tag == t)
            && f.set.is_none_or(|s| r.set == s)
            && f.iface.is_none_or(|i| self.iface_name(r.iface) == i)
    }

    /// The rows matching `filter`, in file order.
    ///
    /// ```
    /// let s = qtag::Stats::default();
    /// assert_eq!(s.matching(&qtag::Filter::default()).count(), 0);
    /// ```
    pub fn matching<'s>(&'s self, filter: &Filter<'s>) -> impl Iterator<Item = &'s StatsRow> + 's {
        let filter = *filter;
        self.rows().iter().filter(move |r| self.matches(&filter, r))
    }

    /// The counters of the rows matching `filter`, added up. Leave `tag` at `None` only if
    /// double counting is what you want; `Some(0)` gives totals.
    ///
    /// ```
    /// let s = qtag::Stats::default();
    /// assert!(s.sum(&qtag::Filter { tag: Some(0), ..Default::default() }).is_zero());
    /// ```
    pub fn sum(&self, filter: &Filter<'_>) -> Counters {
        self.matching(filter).map(|r| r.counters).sum()
    }

    /// Group the rows matching `filter` by `key`, adding counters; sorted by key.
    ///
    /// ```
    /// let s = qtag::Stats::default();
    /// let per_uid = s.aggregate(&qtag::Filter { tag: Some(0), ..Default::default() }, |r| r.uid);
    /// assert!(per_uid.is_empty());
    /// ```
    pub fn aggregate<K: Ord>(&self, filter: &Filter<'_>, key: impl Fn(&StatsRow) -> K) -> Vec<(K, Counters)> {
        let mut m: BTreeMap<K, Counters> = BTreeMap::new();
        for r in self.matching(filter) {
            *m.entry(key(r)).or_default() += r.counters;
        }
        m.into_iter().collect()
    }

    /// Everything billed to `uid` (its tag-0 rows over all interfaces and sets).
    ///
    /// ```
    /// assert!(qtag::Stats::default().uid_total(1000).is_zero());
    /// ```
    pub fn uid_total(&self, uid: u32) -> Counters {
        self.sum(&Filter { uid: Some(uid), tag: Some(0), ..Default::default() })
    }

    /// `uid`'s traffic per tag (tags ≠ 0), sorted by tag.
    ///
    /// ```
    /// assert!(qtag::Stats::default().uid_tags(1000).is_empty());
    /// ```
    pub fn uid_tags(&self, uid: u32) -> Vec<(u32, Counters)> {
        let f = Filter { uid: Some(uid), ..Default::default() };
        self.aggregate(&f, |r| r.tag).into_iter().filter(|(t, _)| *t != 0).collect()
    }

    /// Totals per interface (all uids, or only `uid`), sorted by name.
    ///
    /// ```
    /// assert!(qtag::Stats::default().by_iface(None).is_empty());
    /// ```
    pub fn by_iface(&self, uid: Option<u32>) -> Vec<(&str, Counters)> {
        let f = Filter { uid, tag: Some(0), ..Default::default() };
        let mut v: Vec<(&str, Counters)> =
            self.aggregate(&f, |r| r.iface).into_iter().map(|(i, c)| (self.iface_name(i), c)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Totals per counter set (all uids, or only `uid`), sorted by set.
    ///
    /// ```
    /// assert!(qtag::Stats::default().by_set(Some(0)).is_empty());
    /// ```
    pub fn by_set(&self, uid: Option<u32>) -> Vec<(u32, Counters)> {
        self.aggregate(&Filter { uid, tag: Some(0), ..Default::default() }, |r| r.set)
    }

    /// Totals per uid, sorted by uid.
    ///
    /// ```
    /// assert!(qtag::Stats::default().by_uid().is_empty());
    /// ```
    pub fn by_uid(&self) -> Vec<(u32, Counters)> {
        self.aggregate(&Filter { tag: Some(0), ..Default::default() }, |r| r.uid)
    }

    /// Everything this reader can see, added up (the tag-0 rows of every uid).
    ///
    /// ```
    /// assert!(qtag::Stats::default().total().is_zero());
    /// ```
    pub fn total(&self) -> Counters {
        self.sum(&Filter { tag: Some(0), ..Default::default() })
    }
}
