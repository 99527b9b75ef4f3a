// Hand-written Kotlin over the generated binding (qtag_uniffi.kt, same package): Android's
// constants and scoped thread tags.
package dev.qtag.kotlin

/** What the `get*Bytes`/`get*Packets` getters return when the number cannot be had. */
const val UNSUPPORTED: Long = -1

/** Counter sets for [setCounterSet]. */
const val COUNTER_SET_DEFAULT: Int = 0
const val COUNTER_SET_FOREGROUND: Int = 1

// Android's reserved tags (0xFFFFFF00 and up; negative as Kotlin Ints, as in Java).
const val TAG_SYSTEM_DOWNLOAD: Int = 0xFFFFFF01.toInt()
const val TAG_SYSTEM_MEDIA: Int = 0xFFFFFF02.toInt()
const val TAG_SYSTEM_BACKUP: Int = 0xFFFFFF03.toInt()
const val TAG_SYSTEM_RESTORE: Int = 0xFFFFFF04.toInt()
const val TAG_SYSTEM_APP: Int = 0xFFFFFF05.toInt()
const val TAG_SYSTEM_DHCP: Int = 0xFFFFFF40.toInt()
const val TAG_SYSTEM_NTP: Int = 0xFFFFFF41.toInt()
const val TAG_SYSTEM_PROBE: Int = 0xFFFFFF42.toInt()
const val TAG_SYSTEM_NEIGHBOR: Int = 0xFFFFFF43.toInt()
const val TAG_SYSTEM_GPS: Int = 0xFFFFFF44.toInt()
const val TAG_SYSTEM_PAC: Int = 0xFFFFFF45.toInt()

/**
 * Runs [block] with this thread's tag set to [tag] (its uid kept), then restores the
 * previous tag and uid, also when [block] throws. Sockets tagged inside (by [tagSocket])
 * are billed to [tag].
 *
 * The tag is the calling thread's: [block] is deliberately not inline, so it cannot
 * suspend and resume on another thread. Coroutines and virtual threads should pass the tag
 * explicitly ([tagSocketWith]) or tag within one such block.
 */
fun <T> withTag(tag: Int, block: () -> T): T = withState(ThreadState(tag, getThreadState().uid), block)

/** [withTag] that also bills to [uid] (another uid needs MODIFY_NETWORK_ACCOUNTING). */
fun <T> withTag(tag: Int, uid: Int, block: () -> T): T = withState(ThreadState(tag, uid), block)

private fun <T> withState(state: ThreadState, block: () -> T): T {
    val previous = setThreadState(state)
    try {
        return block()
    } finally {
        setThreadState(previous)
    }
}
