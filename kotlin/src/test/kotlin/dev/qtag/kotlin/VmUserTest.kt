package dev.qtag.kotlin

import java.nio.ByteBuffer
import java.nio.channels.DatagramChannel
import java.nio.channels.SocketChannel
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test

/** Against the real module as an unprivileged uid (setpriv, scripts/vm/suites/55-kotlin). */
@Tag("vm-user")
class VmUserTest {
    @AfterEach
    fun clear() {
        clearThreadStatsTag()
        clearThreadStatsUid()
    }

    @Test
    fun `billing another uid is PermissionDenied`() {
        assertNotEquals(0, myUid())
        DatagramChannel.open().use { ch ->
            setThreadStatsUid(0)
            setThreadStatsTag(freshTag())
            val e = assertThrows<QtagException.PermissionDenied> { tagSocket(ch) }
            assertTrue(e.message!!.contains("MODIFY_NETWORK_ACCOUNTING"), e.message)
            clearThreadStatsUid()
            clearThreadStatsTag()
            assertThrows<QtagException.PermissionDenied> { withTag(freshTag(), 0) { tagSocket(ch) } }
            assertEquals(ThreadState(null, null), getThreadState())
            assertThrows<QtagException.PermissionDenied> { tagSocketWith(ch, 5, 0) }
        }
        SocketChannel.open().use { ch -> assertThrows<QtagException.PermissionDenied> { tagSocketWith(ch, 5, 0) } }
        assertThrows<QtagException.PermissionDenied> { setCounterSet(COUNTER_SET_FOREGROUND) }
    }

    @Test
    fun `own traffic is tagged and only own rows are visible`() {
        val me = myUid()
        val tag = freshTag()
        UdpEcho().use { echo ->
            withTag(tag) {
                DatagramChannel.open().use { ch ->
                    tagSocket(ch)
                    ch.connect(echo.address)
                    val back = ByteBuffer.allocate(1000)
                    repeat(4) {
                        ch.write(ByteBuffer.wrap(ByteArray(99)))
                        back.clear()
                        assertEquals(99, ch.read(back))
                    }
                }
            }
        }
        // The echo peer runs as this uid too: its untagged socket sees the same datagrams.
        assertEquals(udpExpect(4, 99), quiet { rawSum(me, tag) })
        Stats.read().use { s ->
            assertTrue(s.rows().all { it.uid == me }, "rows of other uids visible")
            assertEquals(udpExpect(4, 99), s.uidTags(me).single { it.tag == tag }.counters)
        }
        assertEquals(UNSUPPORTED, getUidRxBytes(0))
        assertTrue(getUidRxBytes(me) >= 2 * 4 * (99 + UDP4_HDR))
    }
}
