package dev.qtag.kotlin

import java.io.File
import java.net.Socket
import java.nio.ByteBuffer
import java.nio.channels.DatagramChannel
import java.nio.channels.SocketChannel
import java.util.concurrent.CyclicBarrier
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import kotlin.concurrent.thread

/**
 * Against the real module, as root, in a network namespace of the suite's own with TCP
 * made deterministic (scripts/vm/suites/55-kotlin): exact bytes per tag against the
 * kernel's stats file, parsed here without the binding.
 */
@Tag("vm")
class VmAccountingTest {
    @AfterEach
    fun clear() {
        clearThreadStatsTag()
        clearThreadStatsUid()
    }

    /** [n] datagrams of [size] bytes through [echo] and back on a DatagramChannel. */
    private fun udpExchange(ch: DatagramChannel, echo: UdpEcho, n: Int, size: Int) {
        ch.connect(echo.address)
        val back = ByteBuffer.allocate(65536)
        repeat(n) {
            ch.write(ByteBuffer.wrap(ByteArray(size) { 'a'.code.toByte() }))
            back.clear()
            assertEquals(size, ch.read(back))
        }
    }

    @Test
    fun `withTag and a UDP exchange bill exact bytes to the tag`() {
        val tag = freshTag()
        UdpEcho().use { echo ->
            withTag(tag) {
                DatagramChannel.open().use { ch ->
                    tagSocket(ch)
                    udpExchange(ch, echo, 7, 333)
                }
            }
        }
        assertEquals(-1, getThreadStatsTag())
        val got = quiet { rawSum(0, tag) }
        assertEquals(udpExpect(7, 333), got)
        Stats.read().use { s -> assertEquals(got, s.uidTags(0).single { it.tag == tag }.counters) }
    }

    /** A TCP exchange on [s] (connected): send [sent] bytes, read the peer's answer to the end. */
    private fun tcpExchange(s: Socket, sent: Int): Int {
        s.getOutputStream().write(ByteArray(sent) { 'x'.code.toByte() })
        s.shutdownOutput()
        return s.getInputStream().readAllBytes().size
    }

    private fun assertTcpPayload(tag: Int, sent: Int, received: Int) {
        val c = quiet { rawSum(0, tag) }
        assertEquals(sent.toLong(), c.txBytes - TCP4_HDR * c.txPackets, "payload sent under $tag: $c")
        assertEquals(received.toLong(), c.rxBytes - TCP4_HDR * c.rxPackets, "payload received under $tag: $c")
        assertEquals(c.txBytes, c.txTcpBytes)
        assertEquals(c.rxBytes, c.rxTcpBytes)
        assertEquals(0L, c.rxUdpBytes + c.txUdpBytes + c.rxOtherBytes + c.txOtherBytes)
    }

    @Test
    fun `withTag and a TCP exchange on a Socket bill the exact payload to the tag`() {
        val tag = freshTag()
        TcpPeer { n -> 3 * n + 11 }.use { peer ->
            val received = withTag(tag) {
                Socket().use { s ->
                    // Tagged once connected: the handshake's segments carry other options.
                    s.connect(peer.address)
                    tagSocket(s)
                    tcpExchange(s, 20000)
                }
            }
            assertEquals(20000, peer.received.take())
            assertEquals(60011, received)
            assertTcpPayload(tag, 20000, received)
        }
    }

    @Test
    fun `explicit tag on a SocketChannel, and untag`() {
        val (tagged, after) = freshTag() to freshTag()
        TcpPeer { 500 }.use { peer ->
            SocketChannel.open(peer.address).use { ch ->
                tagSocketWith(ch, tagged)
                val mine = taggedSockets().filter { it.tag == tagged }
                assertEquals(listOf(0 to ProcessHandle.current().pid()), mine.map { it.uid to it.pid })
                untagSocket(ch)
                assertTrue(taggedSockets().none { it.tag == tagged })
                assertThrows<QtagException.NotTagged> { untagSocket(ch) }
                tagSocketWith(ch, after, 0)
                val received = tcpExchange(ch.socket(), 1234)
                assertEquals(500, received)
                assertTcpPayload(after, 1234, 500)
            }
        }
        assertEquals(ZERO, rawSum(0, tagged))
    }

    @Test
    fun `threads with different tags bill their own sockets`() {
        val jobs = listOf(3 to 100, 5 to 1200, 2 to 20, 4 to 555).map { (n, size) -> Triple(freshTag(), n, size) }
        val start = CyclicBarrier(jobs.size)
        val seen = IntArray(jobs.size)
        UdpEcho().use { echo ->
            jobs.mapIndexed { i, (tag, n, size) ->
                thread {
                    withTag(tag) {
                        start.await()
                        DatagramChannel.open().use { ch ->
                            tagSocket(ch)
                            start.await() // every thread has tagged before any sends
                            udpExchange(ch, echo, n, size)
                        }
                        seen[i] = getThreadStatsTag()
                    }
                }
            }.forEach { it.join() }
        }
        jobs.forEachIndexed { i, (tag, n, size) ->
            assertEquals(tag, seen[i])
            assertEquals(udpExpect(n, size), quiet { rawSum(0, tag) }, "tag $tag")
        }
    }

    @Test
    fun `Stats data classes match the stats file`() {
        val tag = freshTag()
        UdpEcho().use { echo ->
            DatagramChannel.open().use { ch ->
                tagSocketWith(ch, tag)
                udpExchange(ch, echo, 2, 64)
            }
        }
        quiet { rawSum(0, tag) }
        val text = File("$PROC/stats").readText()
        Stats.parse(text).use { s -> assertEquals(parseStatsFile(text), s.rows()) }
        Stats.read().use { s ->
            val rows = s.matching(StatsFilter(uid = 0, tag = tag))
            assertEquals(rawStats().filter { it.uid == 0 && it.tag == tag }, rows)
            assertEquals(udpExpect(2, 64), rows.fold(ZERO) { a, r -> a + r.counters })
            assertEquals(udpExpect(2, 64), s.sum(StatsFilter(tag = tag)))
        }
        // The getters read the same file: bracketed by reads before and after.
        val before = rawSum(0, 0)
        val rx = getUidRxBytes(0)
        val after = rawSum(0, 0)
        assertTrue(rx in before.rxBytes..after.rxBytes, "$rx not in ${before.rxBytes}..${after.rxBytes}")
        assertTrue(getTotalTxBytes() > 0)
        assertTrue(getTxPackets("lo") > 0)
        assertEquals(UNSUPPORTED, getTxBytes("nope0"))
    }

    @Test
    fun `counter sets and deleteTagData`() {
        val tag = freshTag()
        setCounterSet(COUNTER_SET_FOREGROUND)
        try {
            UdpEcho().use { echo ->
                withTag(tag) { DatagramChannel.open().use { ch -> tagSocket(ch); udpExchange(ch, echo, 3, 10) } }
            }
        } finally {
            setCounterSet(COUNTER_SET_DEFAULT)
        }
        assertEquals(udpExpect(3, 10), quiet { rawSum(0, tag, set = 1) })
        assertEquals(ZERO, rawSum(0, tag, set = 0))
        deleteTagData(tag)
        assertEquals(emptyList<StatsRow>(), rawStats().filter { it.tag == tag })
    }
}

inline fun <reified E : Throwable> assertThrows(noinline block: () -> Unit): E =
    org.junit.jupiter.api.Assertions.assertThrows(E::class.java, block)
