//! Per-thread tag state, as Android's `TrafficStats` keeps it.
//!
//! A thread has an optional tag and an optional uid. They only matter when
//! [`tag_socket`](crate::tag_socket) runs: the kernel stores what is in force then.
//! `u32::MAX` (Java's `-1`) passed to a setter means "none", like Android's clear calls.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<ThreadState> = const { Cell::new(ThreadState { tag: None, uid: None }) };
}

/// A thread's tag and uid, as [`thread_state`] returns it.
///
/// ```
/// let s = qtag::thread_state();
/// assert_eq!(s, qtag::ThreadState { tag: None, uid: None });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ThreadState {
    /// The tag `tag_socket` applies, if any.
    pub tag: Option<u32>,
    /// The uid `tag_socket` bills, if any (`None`: the caller's own).
    pub uid: Option<u32>,
}

pub(crate) fn none_if_max(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

/// The calling thread's tag and uid.
///
/// ```
/// qtag::set_thread_stats_tag(3);
/// assert_eq!(qtag::thread_state().tag, Some(3));
/// qtag::clear_thread_stats_tag();
/// ```
pub fn thread_state() -> ThreadState {
    STATE.with(Cell::get)
}

/// Replace the calling thread's tag and uid at once; returns the previous state.
///
/// ```
/// let old = qtag::set_thread_state(qtag::ThreadState { tag: Some(1), uid: Some(1000) });
/// assert_eq!(qtag::get_thread_stats_uid(), Some(1000));
/// qtag::set_thread_state(old);
/// ```
pub fn set_thread_state(state: ThreadState) -> ThreadState {
    STATE.with(|s| s.replace(state))
}

/// Set the tag that later [`tag_socket`](crate::tag_socket) calls on this thread apply.
/// `u32::MAX` clears it.
///
/// ```
/// qtag::set_thread_stats_tag(0x42);
/// assert_eq!(qtag::get_thread_stats_tag(), Some(0x42));
/// qtag::clear_thread_stats_tag();
/// ```
pub fn set_thread_stats_tag(tag: u32) {
    get_and_set_thread_stats_tag(tag);
}

/// Set this thread's tag and return the previous one (for restoring after a nested
/// operation).
///
/// ```
/// let prev = qtag::get_and_set_thread_stats_tag(7);
/// assert_eq!(prev, None);
/// assert_eq!(qtag::get_and_set_thread_stats_tag(8), Some(7));
/// qtag::clear_thread_stats_tag();
/// ```
pub fn get_and_set_thread_stats_tag(tag: u32) -> Option<u32> {
    STATE.with(|s| {
        let mut st = s.get();
        let prev = st.tag;
        st.tag = none_if_max(tag);
        s.set(st);
        prev
    })
}

/// This thread's tag, `None` when cleared (Android returns `-1` then).
///
/// ```
/// assert_eq!(qtag::get_thread_stats_tag(), None);
/// ```
pub fn get_thread_stats_tag() -> Option<u32> {
    thread_state().tag
}

/// Clear this thread's tag.
///
/// ```
/// qtag::set_thread_stats_tag(1);
/// qtag::clear_thread_stats_tag();
/// assert_eq!(qtag::get_thread_stats_tag(), None);
/// ```
pub fn clear_thread_stats_tag() {
    get_and_set_thread_stats_tag(u32::MAX);
}

/// Set the uid that later [`tag_socket`](crate::tag_socket) calls on this thread bill.
/// Billing a uid other than your own needs MODIFY_NETWORK_ACCOUNTING when the socket is
/// tagged. `u32::MAX` clears it.
///
/// ```
/// qtag::set_thread_stats_uid(1000);
/// assert_eq!(qtag::get_thread_stats_uid(), Some(1000));
/// qtag::clear_thread_stats_uid();
/// ```
pub fn set_thread_stats_uid(uid: u32) {
    STATE.with(|s| {
        let mut st = s.get();
        st.uid = none_if_max(uid);
        s.set(st);
    })
}

/// This thread's uid, `None` when cleared (Android returns `-1` then).
///
/// ```
/// assert_eq!(qtag::get_thread_stats_uid(), None);
/// ```
pub fn get_thread_stats_uid() -> Option<u32> {
    thread_state().uid
}

/// Clear this thread's uid.
///
/// ```
/// qtag::set_thread_stats_uid(5);
/// qtag::clear_thread_stats_uid();
/// assert_eq!(qtag::get_thread_stats_uid(), None);
/// ```
pub fn clear_thread_stats_uid() {
    set_thread_stats_uid(u32::MAX);
}

/// Restores the thread's previous tag and uid when dropped. Made by [`tag_scope`],
/// [`uid_scope`] or [`scope`].
///
/// Guards must be dropped on the thread that made them, in reverse order of creation
/// (which Rust scoping gives you); the type is `!Send` to enforce the first rule.
///
/// ```
/// {
///     let _g = qtag::tag_scope(0x10);
///     assert_eq!(qtag::get_thread_stats_tag(), Some(0x10));
/// }
/// assert_eq!(qtag::get_thread_stats_tag(), None);
/// ```
#[must_use = "the previous tag is restored when the guard is dropped"]
#[derive(Debug)]
pub struct ScopeGuard {
    prev: ThreadState,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ScopeGuard {
    /// The state that will be restored.
    ///
    /// ```
    /// let g = qtag::tag_scope(1);
    /// assert_eq!(g.previous().tag, None);
    /// ```
    pub fn previous(&self) -> ThreadState {
        self.prev
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        set_thread_state(self.prev);
    }
}

/// Set this thread's tag and uid until the guard drops. `None` clears.
///
/// ```
/// {
///     let _g = qtag::scope(Some(2), Some(1000));
///     assert_eq!(qtag::thread_state(), qtag::ThreadState { tag: Some(2), uid: Some(1000) });
/// }
/// assert_eq!(qtag::thread_state(), qtag::ThreadState::default());
/// ```
pub fn scope(tag: Option<u32>, uid: Option<u32>) -> ScopeGuard {
    let prev = set_thread_state(ThreadState {
        tag: tag.and_then(none_if_max),
        uid: uid.and_then(none_if_max),
    });
    ScopeGuard { prev, _not_send: std::marker::PhantomData }
}

/// Set this thread's tag (keeping its uid) until the guard drops.
///
/// ```
/// let _g = qtag::tag_scope(qtag::TAG_SYSTEM_BACKUP);
/// assert_eq!(qtag::get_thread_stats_tag(), Some(qtag::TAG_SYSTEM_BACKUP));
/// ```
pub fn tag_scope(tag: u32) -> ScopeGuard {
    scope(Some(tag), thread_state().uid)
}

/// Set this thread's uid (keeping its tag) until the guard drops.
///
/// ```
/// let _g = qtag::uid_scope(1000);
/// assert_eq!(qtag::get_thread_stats_uid(), Some(1000));
/// ```
pub fn uid_scope(uid: u32) -> ScopeGuard {
    scope(thread_state().tag, Some(uid))
}
