package dev.qtag.kotlin

import java.io.File
import java.io.RandomAccessFile
import java.net.Socket
import java.nio.channels.DatagramChannel
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test

/** Each core error as its QtagException subclass, against the real module, as root. */
@Tag("vm")
class VmErrorsTest {
    @AfterEach
    fun clear() {
        clearThreadStatsTag()
        clearThreadStatsUid()
    }

    @Test
    fun `a closed descriptor is BadFd`() {
        val closed = Socket().apply { close() }
        withTag(freshTag()) {
            assertThrows<QtagException.BadFd> { tagSocket(closed) }
            // A number no descriptor has: the kernel's own EBADF.
            assertThrows<QtagException.BadFd> { tagSocket(1 shl 20) }
        }
        assertThrows<QtagException.BadFd> { untagSocket(closed) }
    }

    @Test
    fun `a file is NotASocket`() {
        RandomAccessFile("/proc/self/stat", "r").use { f ->
            val e = assertThrows<QtagException.NotASocket> { tagSocketWith(fileFd(f), freshTag()) }
            assertTrue(e.message!!.contains("not a socket"), e.message)
            assertThrows<QtagException.NotASocket> { untagSocket(fileFd(f)) }
        }
    }

    @Test
    fun `withTag restores the state when tagging throws`() {
        setThreadStatsUid(1234)
        assertThrows<QtagException.BadFd> { withTag(freshTag(), 0) { tagSocket(-1) } }
        assertEquals(ThreadState(null, 1234), getThreadState())
    }

    @Test
    fun `without the module everything is ModuleNotLoaded`() {
        val ko = System.getenv("QTAG_KO") ?: error("QTAG_KO not set")
        DatagramChannel.open().use { ch ->
            run("rmmod", "xt_qtaguid")
            try {
                assertFalse(File(PROC).exists())
                val e = assertThrows<QtagException.ModuleNotLoaded> { withTag(freshTag()) { tagSocket(ch) } }
                assertTrue(e.message!!.contains("insmod"), e.message)
                assertThrows<QtagException.ModuleNotLoaded> { Stats.read() }
                assertThrows<QtagException.ModuleNotLoaded> { taggedSockets() }
                assertEquals(UNSUPPORTED, getUidRxBytes(0))
                assertEquals(UNSUPPORTED, getTotalRxBytes())
            } finally {
                run("insmod", ko)
            }
            // Back: the same process tags again (the core reopens ctrl).
            tagSocketWith(ch, freshTag())
        }
    }

    private fun run(vararg cmd: String) {
        val rc = ProcessBuilder(*cmd).inheritIO().start().waitFor()
        check(rc == 0) { "${cmd.joinToString(" ")}: exit $rc" }
    }
}
