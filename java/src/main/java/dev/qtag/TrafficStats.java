package dev.qtag;

import java.io.FileDescriptor;
import java.net.DatagramSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.Channel;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.util.Objects;

/**
 * Android's {@code android.net.TrafficStats} for Linux: tag sockets so the {@code
 * xt_qtaguid} kernel module counts their traffic per tag and uid, and read the counters.
 * The names, signatures and constants are Android's, so Android code ports by changing
 * the import.
 *
 * <p>Each thread (platform or virtual) has a tag and a uid, both {@code -1} ("none") at
 * first, kept in a {@link ThreadLocal}. They only matter when a socket is tagged: the
 * kernel stores what is in force at {@link #tagSocket(Socket)} and bills the socket's
 * later traffic to it. A tag without a uid bills the caller; a uid without a tag tags
 * with tag 0; with neither, tagging writes nothing (the socket is still checked).
 *
 * <pre>{@code
 * try (TagScope scope = TrafficStats.tagged(0x1001)) {
 *     Socket socket = new Socket("example.org", 80);
 *     TrafficStats.tagSocket(socket);
 *     ...
 * }
 * }</pre>
 *
 * <p>Failures are {@link QtagException}s (a {@link SocketException}), one subclass per
 * cause: {@link ModuleNotLoadedException}, {@link QtagPermissionException}, {@link
 * BadFileDescriptorException}, {@link NotASocketException}, {@link NotTaggedException},
 * {@link TagLimitException}, {@link QtagInvalidArgumentException}. Null arguments throw
 * {@link NullPointerException}.
 */
public final class TrafficStats {
    /** What the getters return when a number is not available. */
    public static final int UNSUPPORTED = -1;

    /** Tags from here to {@code 0xFFFFFFFF} are reserved for system services. */
    public static final int TAG_SYSTEM_RESERVED_START = 0xFFFFFF00;
    /** Download manager traffic. */
    public static final int TAG_SYSTEM_DOWNLOAD = 0xFFFFFF01;
    /** Media player traffic. */
    public static final int TAG_SYSTEM_MEDIA = 0xFFFFFF02;
    /** Backup traffic (device to storage backend). */
    public static final int TAG_SYSTEM_BACKUP = 0xFFFFFF03;
    /** Restore traffic (storage backend to device). */
    public static final int TAG_SYSTEM_RESTORE = 0xFFFFFF04;
    /** Code (typically packages) downloaded by an app store for an app. */
    public static final int TAG_SYSTEM_APP = 0xFFFFFF05;
    /** DHCP client traffic. */
    public static final int TAG_SYSTEM_DHCP = 0xFFFFFF40;
    /** NTP traffic. */
    public static final int TAG_SYSTEM_NTP = 0xFFFFFF41;
    /** Connectivity probes. */
    public static final int TAG_SYSTEM_PROBE = 0xFFFFFF42;
    /** Neighbor discovery. */
    public static final int TAG_SYSTEM_NEIGHBOR = 0xFFFFFF43;
    /** GPS assistance traffic. */
    public static final int TAG_SYSTEM_GPS = 0xFFFFFF44;
    /** Proxy auto-config (PAC) traffic. */
    public static final int TAG_SYSTEM_PAC = 0xFFFFFF45;

    /** Counter set 0, the default (background) set; see {@link #setCounterSet}. */
    public static final int COUNTER_SET_DEFAULT = 0;
    /** Counter set 1, foreground; see {@link #setCounterSet}. */
    public static final int COUNTER_SET_FOREGROUND = 1;

    /** A thread's tag and uid, -1 meaning none. */
    private static final class State {
        int tag = -1;
        int uid = -1;
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    private TrafficStats() {}

    // ---- thread tag and uid ----

    /**
     * Set the tag that later {@code tagSocket} calls on this thread apply; {@code -1}
     * clears it.
     *
     * @param tag any int (reserved values are {@code TAG_SYSTEM_*})
     */
    public static void setThreadStatsTag(int tag) {
        STATE.get().tag = tag;
    }

    /**
     * Set this thread's tag and return the previous one.
     *
     * @param tag the new tag ({@code -1} clears)
     * @return the previous tag, {@code -1} if none
     */
    public static int getAndSetThreadStatsTag(int tag) {
        State s = STATE.get();
        int previous = s.tag;
        s.tag = tag;
        return previous;
    }

    /**
     * This thread's tag.
     *
     * @return the tag, {@code -1} if none
     */
    public static int getThreadStatsTag() {
        return STATE.get().tag;
    }

    /** Clear this thread's tag. */
    public static void clearThreadStatsTag() {
        STATE.get().tag = -1;
    }

    /** Set this thread's tag to {@link #TAG_SYSTEM_BACKUP}. */
    public static void setThreadStatsTagBackup() {
        setThreadStatsTag(TAG_SYSTEM_BACKUP);
    }

    /** Set this thread's tag to {@link #TAG_SYSTEM_RESTORE}. */
    public static void setThreadStatsTagRestore() {
        setThreadStatsTag(TAG_SYSTEM_RESTORE);
    }

    /** Set this thread's tag to {@link #TAG_SYSTEM_APP}. */
    public static void setThreadStatsTagApp() {
        setThreadStatsTag(TAG_SYSTEM_APP);
    }

    /** Set this thread's tag to {@link #TAG_SYSTEM_DOWNLOAD}. */
    public static void setThreadStatsTagDownload() {
        setThreadStatsTag(TAG_SYSTEM_DOWNLOAD);
    }

    /**
     * Bill the traffic of sockets this thread tags from now on to {@code uid}; {@code -1}
     * clears. Billing a uid other than your own needs MODIFY_NETWORK_ACCOUNTING
     * (CAP_NET_ADMIN or the module's {@code acct_gid} group) when the socket is tagged,
     * else tagging throws {@link QtagPermissionException}.
     *
     * @param uid the uid to bill
     */
    public static void setThreadStatsUid(int uid) {
        STATE.get().uid = uid;
    }

    /**
     * This thread's uid.
     *
     * @return the uid, {@code -1} if none
     */
    public static int getThreadStatsUid() {
        return STATE.get().uid;
    }

    /** Clear this thread's uid (tagged sockets are billed to their owner). */
    public static void clearThreadStatsUid() {
        STATE.get().uid = -1;
    }

    /**
     * Set this thread's tag until the returned scope is closed, which restores the
     * previous tag and uid.
     *
     * @param tag the tag for the scope
     * @return the scope, for try-with-resources
     */
    public static TagScope tagged(int tag) {
        return tagged(tag, getThreadStatsUid());
    }

    /**
     * Set this thread's tag and uid until the returned scope is closed, which restores
     * the previous ones.
     *
     * @param tag the tag for the scope ({@code -1}: none)
     * @param uid the uid for the scope ({@code -1}: none)
     * @return the scope, for try-with-resources
     */
    public static TagScope tagged(int tag, int uid) {
        State s = STATE.get();
        TagScope scope = new TagScope(s.tag, s.uid);
        s.tag = tag;
        s.uid = uid;
        return scope;
    }

    static void restore(int tag, int uid) {
        State s = STATE.get();
        s.tag = tag;
        s.uid = uid;
    }

    // ---- tagging ----
    //
    // Each public method makes the checks the JDK's public API allows (closed? a channel
    // behind it?), which the JIT inlines, and picks the Native method that reads the
    // descriptor without calling back into Java. Closed objects go to Native.tag/untag,
    // which check everything and throw BadFileDescriptorException with the message.

    private static void socket(Socket socket, boolean untag) throws SocketException {
        Objects.requireNonNull(socket, "socket");
        SocketChannel channel;
        if (socket.isClosed()) {
            any(socket, untag);
        } else if ((channel = socket.getChannel()) != null) {
            channel(channel, untag);
        } else if (untag) {
            Native.untagSocket(socket);
        } else {
            State s = STATE.get();
            Native.tagSocket(socket, s.tag, s.uid);
        }
    }

    private static void datagramSocket(DatagramSocket socket, boolean untag) throws SocketException {
        Objects.requireNonNull(socket, "socket");
        DatagramChannel channel;
        if (socket.isClosed()) {
            any(socket, untag);
        } else if ((channel = socket.getChannel()) != null) {
            channel(channel, untag);
        } else if (untag) {
            Native.untagDatagramSocket(socket);
        } else {
            State s = STATE.get();
            Native.tagDatagramSocket(socket, s.tag, s.uid);
        }
    }

    private static void channel(Channel channel, boolean untag) throws SocketException {
        if (!channel.isOpen()) {
            any(channel, untag);
        } else if (untag) {
            Native.untagChannel(channel);
        } else {
            State s = STATE.get();
            Native.tagChannel(channel, s.tag, s.uid);
        }
    }

    private static void fileDescriptor(FileDescriptor fd, boolean untag) throws SocketException {
        Objects.requireNonNull(fd, "fd");
        if (untag) {
            Native.untagFileDescriptor(fd);
        } else {
            State s = STATE.get();
            Native.tagFileDescriptor(fd, s.tag, s.uid);
        }
    }

    /** Whatever it is, open or closed: the native side checks it all. */
    private static void any(Object socket, boolean untag) throws SocketException {
        if (untag) {
            Native.untag(socket);
        } else {
            State s = STATE.get();
            Native.tag(socket, s.tag, s.uid);
        }
    }

    /**
     * Tag a socket with this thread's tag and uid; tagging again replaces the tag. A
     * socket that is not connected yet gets its descriptor now (as {@code connect}
     * would), so the tag covers the whole connection.
     *
     * @param socket the socket
     * @throws SocketException a {@link QtagException} subclass: the socket is closed,
     *     the module is not loaded, the uid needs privilege, ...
     */
    public static void tagSocket(Socket socket) throws SocketException {
        socket(socket, false);
    }

    /**
     * Remove a socket's tag; its later traffic is billed to its owner with tag 0.
     *
     * @param socket the socket
     * @throws SocketException {@link NotTaggedException} if it has no tag, or another
     *     {@link QtagException}
     */
    public static void untagSocket(Socket socket) throws SocketException {
        socket(socket, true);
    }

    /**
     * Tag a socket channel with this thread's tag and uid.
     *
     * @param channel an open channel
     * @throws SocketException see {@link #tagSocket(Socket)}
     */
    public static void tagSocket(SocketChannel channel) throws SocketException {
        channel(Objects.requireNonNull(channel, "channel"), false);
    }

    /**
     * Remove a socket channel's tag.
     *
     * @param channel an open channel
     * @throws SocketException see {@link #untagSocket(Socket)}
     */
    public static void untagSocket(SocketChannel channel) throws SocketException {
        channel(Objects.requireNonNull(channel, "channel"), true);
    }

    /**
     * Tag a datagram socket with this thread's tag and uid.
     *
     * @param socket the socket
     * @throws SocketException see {@link #tagSocket(Socket)}
     */
    public static void tagDatagramSocket(DatagramSocket socket) throws SocketException {
        datagramSocket(socket, false);
    }

    /**
     * Remove a datagram socket's tag.
     *
     * @param socket the socket
     * @throws SocketException see {@link #untagSocket(Socket)}
     */
    public static void untagDatagramSocket(DatagramSocket socket) throws SocketException {
        datagramSocket(socket, true);
    }

    /**
     * Tag a datagram channel with this thread's tag and uid.
     *
     * @param channel an open channel
     * @throws SocketException see {@link #tagSocket(Socket)}
     */
    public static void tagDatagramSocket(DatagramChannel channel) throws SocketException {
        channel(Objects.requireNonNull(channel, "channel"), false);
    }

    /**
     * Remove a datagram channel's tag.
     *
     * @param channel an open channel
     * @throws SocketException see {@link #untagSocket(Socket)}
     */
    public static void untagDatagramSocket(DatagramChannel channel) throws SocketException {
        channel(Objects.requireNonNull(channel, "channel"), true);
    }

    /**
     * Tag the socket behind a file descriptor with this thread's tag and uid.
     *
     * @param fd a descriptor of a socket
     * @throws SocketException {@link NotASocketException} if it is not a socket, {@link
     *     BadFileDescriptorException} if it is closed, or another {@link QtagException}
     */
    public static void tagFileDescriptor(FileDescriptor fd) throws SocketException {
        fileDescriptor(fd, false);
    }

    /**
     * Remove the tag of the socket behind a file descriptor.
     *
     * @param fd a descriptor of a socket
     * @throws SocketException see {@link #tagFileDescriptor(FileDescriptor)}
     */
    public static void untagFileDescriptor(FileDescriptor fd) throws SocketException {
        fileDescriptor(fd, true);
    }

    // ---- counter sets and deleting data (Android's hidden API) ----

    /**
     * Make {@code counterSet} ({@link #COUNTER_SET_DEFAULT} or {@link
     * #COUNTER_SET_FOREGROUND}) the active counter set of {@code uid}. Needs
     * MODIFY_NETWORK_ACCOUNTING.
     *
     * @param counterSet 0 or 1
     * @param uid the uid, {@code -1} for the caller
     * @throws SocketException {@link QtagPermissionException}, {@link
     *     QtagInvalidArgumentException}, ...
     */
    public static void setCounterSet(int counterSet, int uid) throws SocketException {
        Native.setCounterSet(counterSet, uid);
    }

    /**
     * Delete the accounting data of {@code uid}: with {@code tag} 0 everything (socket
     * tags, counter set, all rows), else that tag's rows and socket tags. Deleting another
     * uid's data needs MODIFY_NETWORK_ACCOUNTING.
     *
     * @param tag the tag, 0 for all
     * @param uid the uid, {@code -1} for the caller
     * @throws SocketException {@link QtagPermissionException}, ...
     */
    public static void deleteTagData(int tag, int uid) throws SocketException {
        Native.deleteTagData(tag, uid);
    }

    /**
     * Delete all accounting data of {@code uid}: {@code deleteTagData(0, uid)}.
     *
     * @param uid the uid, {@code -1} for the caller
     * @throws SocketException {@link QtagPermissionException}, ...
     */
    public static void resetKernelUidStats(int uid) throws SocketException {
        deleteTagData(0, uid);
    }

    // ---- getters ----

    /**
     * Bytes received by {@code uid} (IP layer, every interface and counter set).
     * {@link #UNSUPPORTED} when the stats file cannot be read, or when {@code uid} is not
     * yours and none of its rows is visible to you.
     *
     * @param uid the uid
     * @return the bytes, or {@link #UNSUPPORTED}
     */
    public static long getUidRxBytes(int uid) {
        return Native.uidStat(uid, Native.RX_BYTES);
    }

    /**
     * Packets received by {@code uid}; see {@link #getUidRxBytes(int)}.
     *
     * @param uid the uid
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getUidRxPackets(int uid) {
        return Native.uidStat(uid, Native.RX_PACKETS);
    }

    /**
     * Bytes sent by {@code uid}; see {@link #getUidRxBytes(int)}.
     *
     * @param uid the uid
     * @return the bytes, or {@link #UNSUPPORTED}
     */
    public static long getUidTxBytes(int uid) {
        return Native.uidStat(uid, Native.TX_BYTES);
    }

    /**
     * Packets sent by {@code uid}; see {@link #getUidRxBytes(int)}.
     *
     * @param uid the uid
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getUidTxPackets(int uid) {
        return Native.uidStat(uid, Native.TX_PACKETS);
    }

    /**
     * Bytes received on all interfaces (loopback included) since the module loaded.
     *
     * @return the bytes, or {@link #UNSUPPORTED} if the module's files cannot be read
     */
    public static long getTotalRxBytes() {
        return Native.totalStat(Native.RX_BYTES);
    }

    /**
     * Packets received on all interfaces.
     *
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getTotalRxPackets() {
        return Native.totalStat(Native.RX_PACKETS);
    }

    /**
     * Bytes sent on all interfaces.
     *
     * @return the bytes, or {@link #UNSUPPORTED}
     */
    public static long getTotalTxBytes() {
        return Native.totalStat(Native.TX_BYTES);
    }

    /**
     * Packets sent on all interfaces.
     *
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getTotalTxPackets() {
        return Native.totalStat(Native.TX_PACKETS);
    }

    /**
     * Bytes received on one interface.
     *
     * @param iface the interface name, such as {@code "eth0"}
     * @return the bytes, or {@link #UNSUPPORTED} if the interface is unknown
     */
    public static long getRxBytes(String iface) {
        return Native.ifaceStat(Objects.requireNonNull(iface, "iface"), Native.RX_BYTES);
    }

    /**
     * Packets received on one interface.
     *
     * @param iface the interface name
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getRxPackets(String iface) {
        return Native.ifaceStat(Objects.requireNonNull(iface, "iface"), Native.RX_PACKETS);
    }

    /**
     * Bytes sent on one interface.
     *
     * @param iface the interface name
     * @return the bytes, or {@link #UNSUPPORTED}
     */
    public static long getTxBytes(String iface) {
        return Native.ifaceStat(Objects.requireNonNull(iface, "iface"), Native.TX_BYTES);
    }

    /**
     * Packets sent on one interface.
     *
     * @param iface the interface name
     * @return the packets, or {@link #UNSUPPORTED}
     */
    public static long getTxPackets(String iface) {
        return Native.ifaceStat(Objects.requireNonNull(iface, "iface"), Native.TX_PACKETS);
    }
}
