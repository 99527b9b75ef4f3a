package dev.qtag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.MulticastSocket;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What needs no kernel module: thread state, argument checks, errors, loading. */
@Tag("host")
class HostTest {
    @AfterEach
    void clear() {
        TrafficStats.clearThreadStatsTag();
        TrafficStats.clearThreadStatsUid();
    }

    @Test
    void reservedTagsAreTheCores() throws Exception {
        int named = 0;
        for (Field f : TrafficStats.class.getFields()) {
            if (f.getName().startsWith("TAG_SYSTEM_") && !f.getName().equals("TAG_SYSTEM_RESERVED_START")) {
                assertEquals(f.getName(), Native.tagName(f.getInt(null)), f.getName());
                assertTrue(Modifier.isFinal(f.getModifiers()));
                named++;
            }
        }
        assertEquals(11, named);
        assertNull(Native.tagName(TrafficStats.TAG_SYSTEM_RESERVED_START));
        assertEquals(0xFFFFFF01, TrafficStats.TAG_SYSTEM_DOWNLOAD);
        assertEquals(-1, TrafficStats.UNSUPPORTED);
    }

    @Test
    void threadTagAndUid() {
        assertEquals(-1, TrafficStats.getThreadStatsTag());
        assertEquals(-1, TrafficStats.getThreadStatsUid());
        TrafficStats.setThreadStatsTag(7);
        assertEquals(7, TrafficStats.getAndSetThreadStatsTag(TrafficStats.TAG_SYSTEM_NTP));
        assertEquals(TrafficStats.TAG_SYSTEM_NTP, TrafficStats.getThreadStatsTag());
        TrafficStats.setThreadStatsTagBackup();
        assertEquals(TrafficStats.TAG_SYSTEM_BACKUP, TrafficStats.getThreadStatsTag());
        TrafficStats.clearThreadStatsTag();
        assertEquals(-1, TrafficStats.getThreadStatsTag());
        TrafficStats.setThreadStatsUid(1000);
        assertEquals(1000, TrafficStats.getThreadStatsUid());
        TrafficStats.clearThreadStatsUid();
        assertEquals(-1, TrafficStats.getThreadStatsUid());
    }

    @Test
    void taggedScopesRestoreTagAndUid() {
        TrafficStats.setThreadStatsUid(55);
        try (TagScope outer = TrafficStats.tagged(1)) {
            assertEquals(-1, outer.previousTag());
            assertEquals(1, TrafficStats.getThreadStatsTag());
            assertEquals(55, TrafficStats.getThreadStatsUid());
            try (TagScope inner = TrafficStats.tagged(2, 66)) {
                TrafficStats.setThreadStatsUid(77);
                assertEquals(2, TrafficStats.getThreadStatsTag());
            }
            assertEquals(1, TrafficStats.getThreadStatsTag());
            assertEquals(55, TrafficStats.getThreadStatsUid());
        }
        assertEquals(-1, TrafficStats.getThreadStatsTag());
        assertEquals(55, TrafficStats.getThreadStatsUid());
    }

    @Test
    void scopeClosedOnAnotherThreadIsRefused() throws Exception {
        TagScope scope = TrafficStats.tagged(3);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread t = new Thread(() -> seen.set(assertThrows(IllegalStateException.class, scope::close)));
        t.start();
        t.join();
        assertTrue(seen.get() instanceof IllegalStateException);
        scope.close();
        scope.close();
        assertEquals(-1, TrafficStats.getThreadStatsTag());
    }

    @Test
    void eachThreadHasItsOwnState() throws Exception {
        TrafficStats.setThreadStatsTag(100);
        List<Thread> threads = new ArrayList<>();
        int[] seen = new int[8];
        for (int i = 0; i < seen.length; i++) {
            int n = i;
            threads.add(new Thread(() -> {
                int before = TrafficStats.getThreadStatsTag();
                TrafficStats.setThreadStatsTag(200 + n);
                Thread.yield();
                seen[n] = before == -1 ? TrafficStats.getThreadStatsTag() : -2;
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        for (int i = 0; i < seen.length; i++) {
            assertEquals(200 + i, seen[i]);
        }
        assertEquals(100, TrafficStats.getThreadStatsTag());
    }

    @Test
    void nullArgumentsThrowNullPointerException() {
        List<Executable> calls = List.of(
                () -> TrafficStats.tagSocket((Socket) null),
                () -> TrafficStats.untagSocket((Socket) null),
                () -> TrafficStats.tagSocket((SocketChannel) null),
                () -> TrafficStats.untagSocket((SocketChannel) null),
                () -> TrafficStats.tagDatagramSocket((DatagramSocket) null),
                () -> TrafficStats.untagDatagramSocket((DatagramSocket) null),
                () -> TrafficStats.tagDatagramSocket((DatagramChannel) null),
                () -> TrafficStats.untagDatagramSocket((DatagramChannel) null),
                () -> TrafficStats.tagFileDescriptor(null),
                () -> TrafficStats.untagFileDescriptor(null),
                () -> TrafficStats.getRxBytes(null),
                () -> new TaggingSocketFactory(null));
        for (Executable call : calls) {
            assertThrows(NullPointerException.class, call);
        }
    }

    @Test
    void closedSocketsAreBadFileDescriptors() throws Exception {
        TrafficStats.setThreadStatsTag(5);
        Socket s = new Socket();
        s.close();
        DatagramSocket d = new DatagramSocket();
        d.close();
        SocketChannel sc = SocketChannel.open();
        sc.close();
        DatagramChannel dc = DatagramChannel.open();
        dc.close();
        MulticastSocket m = new MulticastSocket();
        m.close();
        List<Executable> calls = List.of(
                () -> TrafficStats.tagDatagramSocket(m), () -> TrafficStats.untagDatagramSocket(m),
                () -> TrafficStats.tagDatagramSocket(dc.socket()), () -> TrafficStats.untagSocket(sc.socket()),
                () -> TrafficStats.tagSocket(s), () -> TrafficStats.untagSocket(s),
                () -> TrafficStats.tagDatagramSocket(d), () -> TrafficStats.untagDatagramSocket(d),
                () -> TrafficStats.tagSocket(sc), () -> TrafficStats.untagSocket(sc),
                () -> TrafficStats.tagDatagramSocket(dc), () -> TrafficStats.untagDatagramSocket(dc),
                () -> TrafficStats.tagFileDescriptor(new FileDescriptor()));
        for (Executable call : calls) {
            BadFileDescriptorException e = assertThrows(BadFileDescriptorException.class, call);
            assertTrue(e.getMessage().endsWith("is closed"), e.getMessage());
            assertEquals("EBADF", e.code());
            assertEquals(9, e.errno());
        }
    }

    @Test
    void notASocket() throws Exception {
        try (FileInputStream in = new FileInputStream("/proc/self/status")) {
            // No tag and no uid: nothing to tell the kernel, but the descriptor is checked.
            NotASocketException e = assertThrows(NotASocketException.class, () -> TrafficStats.tagFileDescriptor(in.getFD()));
            assertEquals("ENOTSOCK", e.code());
        }
    }

    @Test
    void withoutStateTaggingOnlyChecksTheSocket() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
             Socket unconnected = new Socket();
             DatagramSocket d = new DatagramSocket();
             SocketChannel sc = SocketChannel.open(server.getLocalSocketAddress());
             DatagramChannel dc = DatagramChannel.open();
             MulticastSocket m = new MulticastSocket();
             Socket adaptor = SocketChannel.open(server.getLocalSocketAddress()).socket()) {
            TrafficStats.tagDatagramSocket(m);
            TrafficStats.tagSocket(unconnected);
            unconnected.connect(server.getLocalSocketAddress());
            TrafficStats.tagSocket(unconnected);
            TrafficStats.tagDatagramSocket(d);
            TrafficStats.tagDatagramSocket(dc.socket());
            TrafficStats.tagSocket(sc);
            TrafficStats.tagDatagramSocket(dc);
            TrafficStats.tagSocket(adaptor);
            assertTrue(unconnected.isConnected());
        }
    }

    /**
     * Every kind of socket object reaches the kernel (here: the module is missing) in both
     * directions, through whichever native path its class and state pick.
     */
    @Test
    void everyKindOfSocketReachesTheModule() throws Exception {
        assumeFalse(Kernel.loaded(), "the module is loaded here");
        TrafficStats.setThreadStatsTag(0x1003);
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
             Socket unconnected = new Socket();
             Socket connected = new Socket(server.getInetAddress(), server.getLocalPort());
             SocketChannel sc = SocketChannel.open(server.getLocalSocketAddress());
             DatagramSocket d = new DatagramSocket();
             MulticastSocket m = new MulticastSocket();
             DatagramChannel dc = DatagramChannel.open();
             FileInputStream in = new FileInputStream("/proc/self/status")) {
            List<Executable> calls = List.of(
                    () -> TrafficStats.tagSocket(unconnected), () -> TrafficStats.untagSocket(unconnected),
                    () -> TrafficStats.tagSocket(connected), () -> TrafficStats.untagSocket(connected),
                    () -> TrafficStats.tagSocket(sc), () -> TrafficStats.untagSocket(sc),
                    () -> TrafficStats.tagSocket(sc.socket()), () -> TrafficStats.untagSocket(sc.socket()),
                    () -> TrafficStats.tagDatagramSocket(d), () -> TrafficStats.untagDatagramSocket(d),
                    () -> TrafficStats.tagDatagramSocket(m), () -> TrafficStats.untagDatagramSocket(m),
                    () -> TrafficStats.tagDatagramSocket(dc), () -> TrafficStats.untagDatagramSocket(dc),
                    () -> TrafficStats.tagDatagramSocket(dc.socket()), () -> TrafficStats.untagDatagramSocket(dc.socket()),
                    // The core writes a command for any descriptor; the kernel would refuse it.
                    () -> TrafficStats.tagFileDescriptor(in.getFD()), () -> TrafficStats.untagFileDescriptor(in.getFD()));
            for (Executable call : calls) {
                assertThrows(ModuleNotLoadedException.class, call);
            }
        }
    }

    @Test
    void panicsBecomeExceptions() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Native.panicForTest("boom"));
        assertEquals("qtag native code panicked: boom", e.getMessage());
    }

    @Test
    void moduleNotLoaded() throws Exception {
        assumeFalse(Kernel.loaded(), "the module is loaded here");
        try (DatagramSocket d = new DatagramSocket(); TagScope scope = TrafficStats.tagged(0x1001)) {
            ModuleNotLoadedException e = assertThrows(ModuleNotLoadedException.class, () -> TrafficStats.tagDatagramSocket(d));
            assertTrue(e.getMessage().contains("xt_qtaguid kernel module is not loaded"), e.getMessage());
            assertTrue(e.getMessage().contains("insmod kmod/xt_qtaguid.ko"), e.getMessage());
            assertEquals("ENOENT", e.code());
            assertTrue(e instanceof java.net.SocketException);
        }
        assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getUidRxBytes(0));
        assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getTotalTxPackets());
        assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getTxBytes("lo"));
        assertThrows(ModuleNotLoadedException.class, () -> TrafficStats.setCounterSet(1, -1));
        assertThrows(ModuleNotLoadedException.class, () -> TrafficStats.deleteTagData(0, -1));
    }

    @Test
    void invalidCounterSet() {
        QtagInvalidArgumentException e = assertThrows(QtagInvalidArgumentException.class, () -> TrafficStats.setCounterSet(2, -1));
        assertTrue(e.getMessage().contains("set"), e.getMessage());
    }

    @Test
    void factoryClosesTheSocketWhenTaggingFails() throws Exception {
        assumeFalse(Kernel.loaded(), "the module is loaded here");
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
             TagScope scope = TrafficStats.tagged(0x1002)) {
            TaggingSocketFactory f = new TaggingSocketFactory();
            assertThrows(ModuleNotLoadedException.class,
                    () -> f.createSocket(server.getInetAddress(), server.getLocalPort()));
        }
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
             Socket s = new TaggingSocketFactory().createSocket("127.0.0.1", server.getLocalPort())) {
            assertTrue(s.isConnected());
            assertEquals(new InetSocketAddress("127.0.0.1", server.getLocalPort()), s.getRemoteSocketAddress());
        }
    }

    @Test
    void nativeLibraryResource() {
        assertTrue(NativeLibrary.resourcePath().startsWith("/dev/qtag/native/linux-"));
        assertTrue(NativeLibrary.class.getResource(NativeLibrary.resourcePath()) != null);
    }
}
