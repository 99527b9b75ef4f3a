package dev.qtag.kotlin

import java.io.File
import java.io.RandomAccessFile
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Socket
import java.nio.channels.DatagramChannel
import java.nio.channels.SocketChannel
import java.nio.file.Files
import java.nio.file.Paths
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assumptions.assumeFalse
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import kotlin.concurrent.thread

/** What needs no kernel module: thread state, withTag, parsing, descriptors, errors. */
@Tag("host")
class HostTest {
    @AfterEach
    fun clear() {
        clearThreadStatsTag()
        clearThreadStatsUid()
    }

    @Test
    fun `thread tag and uid use Android's -1 for none`() {
        assertEquals(-1, getThreadStatsTag())
        assertEquals(-1, getThreadStatsUid())
        setThreadStatsTag(0x1001)
        assertEquals(0x1001, getAndSetThreadStatsTag(TAG_SYSTEM_DOWNLOAD))
        assertEquals(TAG_SYSTEM_DOWNLOAD, getThreadStatsTag())
        setThreadStatsTag(-1)
        assertEquals(-1, getThreadStatsTag())
        setThreadStatsUid(1000)
        assertEquals(ThreadState(null, 1000), getThreadState())
        clearThreadStatsUid()
        assertEquals(ThreadState(null, null), getThreadState())
        assertEquals(ThreadState(null, null), setThreadState(ThreadState(-1, 7)))
        assertEquals(ThreadState(null, 7), getThreadState())
    }

    @Test
    fun `withTag sets the tag, keeps the uid and restores both`() {
        setThreadStatsUid(1000)
        val seen = withTag(0x42) { getThreadState() }
        assertEquals(ThreadState(0x42, 1000), seen)
        withTag(0x43, 2000) {
            assertEquals(ThreadState(0x43, 2000), getThreadState())
            withTag(0x44) { assertEquals(ThreadState(0x44, 2000), getThreadState()) }
            assertEquals(ThreadState(0x43, 2000), getThreadState())
        }
        assertEquals(ThreadState(null, 1000), getThreadState())
    }

    @Test
    fun `withTag restores the previous tag and uid when the block throws`() {
        setThreadStatsTag(5)
        val e = assertThrows(IllegalStateException::class.java) {
            withTag(6, 3000) {
                setThreadStatsTag(7) // changed inside too: still restored
                throw IllegalStateException("boom")
            }
        }
        assertEquals("boom", e.message)
        assertEquals(ThreadState(5, null), getThreadState())
    }

    @Test
    fun `the tag is per thread`() {
        withTag(0x77) {
            var other = 0
            thread { other = getThreadStatsTag() }.join()
            assertEquals(-1, other)
            assertEquals(0x77, getThreadStatsTag())
        }
    }

    @Test
    fun `constants are the core's reserved tags`() {
        val named = mapOf(
            "TAG_SYSTEM_DOWNLOAD" to TAG_SYSTEM_DOWNLOAD, "TAG_SYSTEM_MEDIA" to TAG_SYSTEM_MEDIA,
            "TAG_SYSTEM_BACKUP" to TAG_SYSTEM_BACKUP, "TAG_SYSTEM_RESTORE" to TAG_SYSTEM_RESTORE,
            "TAG_SYSTEM_APP" to TAG_SYSTEM_APP, "TAG_SYSTEM_DHCP" to TAG_SYSTEM_DHCP,
            "TAG_SYSTEM_NTP" to TAG_SYSTEM_NTP, "TAG_SYSTEM_PROBE" to TAG_SYSTEM_PROBE,
            "TAG_SYSTEM_NEIGHBOR" to TAG_SYSTEM_NEIGHBOR, "TAG_SYSTEM_GPS" to TAG_SYSTEM_GPS,
            "TAG_SYSTEM_PAC" to TAG_SYSTEM_PAC,
        )
        for ((name, tag) in named) {
            assertEquals(name, tagName(tag))
            assertTrue(isReservedTag(tag))
        }
        assertNull(tagName(0x1001))
        assertFalse(isReservedTag(0x1001))
        assertEquals(0xFFFFFF01L, TAG_SYSTEM_DOWNLOAD.toUInt().toLong())
    }

    private val fixture = """
        idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets
        2 lo 0x0 1000 0 100 2 200 4 0 0 100 2 0 0 0 0 200 4 0 0
        3 lo 0x0 1000 1 10 1 20 1 0 0 10 1 0 0 0 0 20 1 0 0
        4 eth0 0x0 1000 0 1 1 2 1 1 1 0 0 0 0 2 1 0 0 0 0
        5 lo 0x100100000000 1000 0 60 1 120 2 0 0 60 1 0 0 0 0 120 2 0 0
        6 lo 0xffffff0100000000 1000 0 3 1 4 1 0 0 3 1 0 0 0 0 4 1 0 0
        7 lo 0x0 0 0 5 1 5 1 5 1 0 0 0 0 5 1 0 0 0 0
    """.trimIndent() + "\n"

    @Test
    fun `Stats parse gives rows as data classes equal to an independent parse`() {
        Stats.parse(fixture).use { s ->
            assertEquals(parseStatsFile(fixture), s.rows())
            val download = s.rows()[4]
            assertEquals(StatsRow("lo", TAG_SYSTEM_DOWNLOAD, 1000, 0, listOf(3L, 1, 4, 1, 0, 0, 3, 1, 0, 0, 0, 0, 4, 1, 0, 0).asCounters()), download)
            assertEquals(listOf("lo", "eth0"), s.ifaces())
        }
    }

    @Test
    fun `Stats queries are the core's`() {
        Stats.parse(fixture).use { s ->
            val rows = parseStatsFile(fixture)
            fun sumOf(p: (StatsRow) -> Boolean) = rows.filter(p).fold(ZERO) { a, r -> a + r.counters }
            assertEquals(sumOf { it.uid == 1000 && it.tag == 0 }, s.uidTotal(1000))
            assertEquals(
                listOf(TagCounters(0x1001, sumOf { it.tag == 0x1001 }), TagCounters(TAG_SYSTEM_DOWNLOAD, sumOf { it.tag == TAG_SYSTEM_DOWNLOAD })),
                s.uidTags(1000),
            )
            assertEquals(listOf("eth0", "lo"), s.byIface().map { it.iface })
            assertEquals(sumOf { it.uid == 1000 && it.tag == 0 && it.iface == "lo" }, s.byIface(1000).single { it.iface == "lo" }.counters)
            assertEquals(listOf(SetCounters(0, sumOf { it.uid == 1000 && it.tag == 0 && it.set == 0 }), SetCounters(1, sumOf { it.uid == 1000 && it.tag == 0 && it.set == 1 })), s.bySet(1000))
            assertEquals(listOf(0, 1000), s.byUid().map { it.uid })
            assertEquals(sumOf { it.tag == 0 }, s.total())
            assertEquals(rows.filter { it.iface == "lo" && it.set == 0 }, s.matching(StatsFilter(iface = "lo", set = 0)))
            assertEquals(sumOf { it.tag == 0x1001 }, s.sum(StatsFilter(tag = 0x1001)))
            Stats.parse(fixture.replace(" 100 2 200 4 ", " 150 3 200 4 ")).use { later ->
                later.deltaSince(s).use { d ->
                    assertEquals(listOf(50L, 1, 0, 0).plus(List(12) { 0L }).asCounters(), d.uidTotal(1000))
                }
            }
        }
    }

    @Test
    fun `a malformed stats file is QtagException Format`() {
        val e = assertThrows(QtagException.Format::class.java) { Stats.parse("idx nonsense\n") }
        assertTrue(e.message!!.contains("stats"), e.message)
    }

    @Test
    fun `descriptors of Socket and channels are the sockets' own`() {
        Socket().use { s ->
            s.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            assertSocketFd(fdOf(s))
        }
        SocketChannel.open().use { assertSocketFd(fdOf(it)) }
        DatagramChannel.open().use { ch ->
            assertSocketFd(fdOf(ch))
            assertEquals(fdOf(ch), fdOf(ch.socket().channel))
        }
        val closed = Socket().apply { close() }
        assertEquals(-1, fdOf(closed))
        assertEquals(-1, fdOf(SocketChannel.open().apply { close() }))
    }

    @Test
    fun `without the add-opens options a Socket's descriptor is an error that names them`() {
        val java = Paths.get(System.getProperty("java.home"), "bin", "java").toString()
        val p = ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.qtag.kotlin.WithoutOpensMainKt")
            .redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        assertEquals(0, p.waitFor(), out)
        assertTrue(out.startsWith("java.lang.IllegalStateException: ") && out.contains(ADD_OPENS), out)
    }

    private fun assertSocketFd(fd: Int) {
        val link = Files.readSymbolicLink(Paths.get("/proc/self/fd/$fd")).toString()
        assertTrue(link.startsWith("socket:["), "fd $fd is $link")
    }

    @Test
    fun `descriptors are checked before anything is written`() {
        // No thread tag or uid: tagSocket writes no command but still checks the descriptor.
        Socket().use { s ->
            s.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            tagSocket(s)
        }
        assertThrows(QtagException.BadFd::class.java) { tagSocket(Socket().apply { close() }) }
        assertThrows(QtagException.BadFd::class.java) { tagSocket(-1) }
        RandomAccessFile("/proc/self/stat", "r").use { f ->
            val e = assertThrows(QtagException.NotASocket::class.java) { tagSocket(fileFd(f)) }
            assertTrue(e.message!!.contains("not a socket"), e.message)
        }
        assertThrows(QtagException.InvalidArgument::class.java) { setCounterSet(7) }
    }

    @Test
    fun `without the module tagging is ModuleNotLoaded and getters UNSUPPORTED`() {
        assumeFalse(File(PROC).exists(), "the module is loaded here")
        SocketChannel.open().use { ch ->
            val e = assertThrows(QtagException.ModuleNotLoaded::class.java) { tagSocketWith(ch, 0x1001) }
            assertTrue(e.message!!.contains("insmod"), e.message)
            assertThrows(QtagException.ModuleNotLoaded::class.java) { withTag(3) { tagSocket(ch) } }
        }
        assertThrows(QtagException.ModuleNotLoaded::class.java) { Stats.read() }
        assertThrows(QtagException.ModuleNotLoaded::class.java) { deleteTagData(0x1001) }
        assertEquals(UNSUPPORTED, getUidRxBytes(0))
        assertEquals(UNSUPPORTED, getTotalTxPackets())
        assertEquals(UNSUPPORTED, getTxBytes("lo"))
    }
}
