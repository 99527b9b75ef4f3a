// Test helpers: the kernel's own numbers, read without the binding, and small peers.
package dev.qtag.kotlin

import java.io.File
import java.io.FileDescriptor
import java.io.RandomAccessFile
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread

const val PROC = "/proc/net/xt_qtaguid"

/** IPv4 + UDP headers; IPv4 + TCP with timestamps (every segment on loopback, no SACK). */
const val UDP4_HDR = 28
const val TCP4_HDR = 52

private val nextTag = AtomicInteger(0x4b700001)

/** A tag no other test uses. */
fun freshTag(): Int = nextTag.getAndIncrement()

/** The stats file parsed here, independently of the binding: the header, then rows. */
fun parseStatsFile(text: String): List<StatsRow> {
    val lines = text.lines().filter { it.isNotBlank() }
    check(lines[0].startsWith("idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes")) { lines[0] }
    return lines.drop(1).map { line ->
        val f = line.trim().split(Regex("\\s+"))
        check(f.size == 21) { line }
        val acct = java.lang.Long.parseUnsignedLong(f[2].removePrefix("0x"), 16)
        val tag = if (acct ushr 32 != 0L) (acct ushr 32).toInt() else acct.toInt()
        val c = f.drop(5).map { it.toLong() }
        StatsRow(f[1], tag, f[3].toLong().toInt(), f[4].toInt(), countersOf(c))
    }
}

fun countersOf(c: List<Long>) = Counters(
    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15],
)

fun List<Long>.asCounters() = countersOf(this)

fun Counters.toList() = listOf(
    rxBytes, rxPackets, txBytes, txPackets, rxTcpBytes, rxTcpPackets, rxUdpBytes, rxUdpPackets,
    rxOtherBytes, rxOtherPackets, txTcpBytes, txTcpPackets, txUdpBytes, txUdpPackets, txOtherBytes, txOtherPackets,
)

operator fun Counters.plus(o: Counters) = toList().zip(o.toList()) { a, b -> a + b }.asCounters()

val ZERO = List(16) { 0L }.asCounters()

fun rawStats(): List<StatsRow> = parseStatsFile(File("$PROC/stats").readText())

/** The counters of [uid]'s rows with [tag], from the stats file, added up. */
fun rawSum(uid: Int, tag: Int, set: Int? = null): Counters = rawStats()
    .filter { it.uid == uid && it.tag == tag && (set == null || it.set == set) }
    .fold(ZERO) { acc, r -> acc + r.counters }

/** [read] again until two reads 50 ms apart agree (counters are per CPU, summed on read). */
fun <T> quiet(read: () -> T): T {
    var last = read()
    repeat(100) {
        Thread.sleep(50)
        val now = read()
        if (now == last) return now
        last = now
    }
    error("never quiet: $last")
}

/** UDP over 127.0.0.1: [n] datagrams of [size] bytes each way. */
fun udpExpect(n: Int, size: Int): Counters {
    val b = n.toLong() * (size + UDP4_HDR)
    val p = n.toLong()
    return Counters(b, p, b, p, 0, 0, b, p, 0, 0, 0, 0, b, p, 0, 0)
}

/** A UDP echo peer on 127.0.0.1, on a thread of its own. */
class UdpEcho : AutoCloseable {
    private val socket = DatagramSocket(0, InetAddress.getLoopbackAddress())
    val address = InetSocketAddress(InetAddress.getLoopbackAddress(), socket.localPort)
    private val worker = thread(name = "udp-echo") {
        val buf = ByteArray(65536)
        while (!socket.isClosed) {
            val p = DatagramPacket(buf, buf.size)
            try {
                socket.receive(p)
                socket.send(DatagramPacket(buf, p.length, p.socketAddress))
            } catch (e: java.io.IOException) {
                if (!socket.isClosed) throw e
            }
        }
    }

    override fun close() {
        socket.close()
        worker.join()
    }
}

/**
 * A TCP peer on 127.0.0.1: reads each connection to its end, answers with [reply] bytes
 * for what it read, and closes. [received] holds what each connection brought, in order.
 */
class TcpPeer(private val reply: (Int) -> Int) : AutoCloseable {
    private val server = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    val address = InetSocketAddress(InetAddress.getLoopbackAddress(), server.localPort)
    val received = java.util.concurrent.LinkedBlockingQueue<Int>()
    private val worker = thread(name = "tcp-peer") {
        while (true) {
            val c = try { server.accept() } catch (e: java.io.IOException) { break }
            c.use {
                val n = c.getInputStream().readAllBytes().size
                c.getOutputStream().write(ByteArray(reply(n)) { 'b'.code.toByte() })
                received.add(n)
            }
        }
    }

    override fun close() {
        server.close()
        worker.join()
    }
}

/** The descriptor of an open regular file (reflection, as the tests run with ADD_OPENS). */
fun fileFd(f: RandomAccessFile): Int =
    FileDescriptor::class.java.getDeclaredField("fd").apply { isAccessible = true }.getInt(f.fd)

fun myUid(): Int = com.sun.security.auth.module.UnixSystem().uid.toInt()
