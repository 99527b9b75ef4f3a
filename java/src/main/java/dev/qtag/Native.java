package dev.qtag;

import java.net.SocketException;

/**
 * The native methods of {@code libqtag_jni} (crate {@code bindings/jni}). Tags and uids
 * are Java ints, {@code -1} meaning "none". The socket arguments are never null (the
 * public API checks) and may be a Socket, DatagramSocket, NIO channel or FileDescriptor.
 */
final class Native {
    static {
        NativeLibrary.load();
    }

    /** Counter indexes of the getters. */
    static final int RX_BYTES = 0, RX_PACKETS = 1, TX_BYTES = 2, TX_PACKETS = 3;

    private Native() {}

    static native void tag(Object socket, int tag, int uid) throws SocketException;

    static native void untag(Object socket) throws SocketException;

    static native void setCounterSet(int counterSet, int uid) throws SocketException;

    static native void deleteTagData(int tag, int uid) throws SocketException;

    static native long uidStat(int uid, int which);

    static native long totalStat(int which);

    static native long ifaceStat(String iface, int which);

    /** The core's name of a reserved tag ({@code "TAG_SYSTEM_NTP"}), or null. */
    static native String tagName(int tag);

    /** Panics in Rust; for the tests that check a panic becomes an exception. */
    static native void panicForTest(String message);

    // Stats snapshots: opaque handles of the core's Stats (see Stats.java).

    static native long statsRead() throws SocketException;

    static native long statsParse(byte[] text) throws SocketException;

    static native long statsDelta(long later, long earlier);

    static native void statsFree(long handle);

    static native long[] statsSum(long handle, int uid, int tag, String iface, int set);

    static native long[] statsRows(long handle);

    static native String[] statsIfaces(long handle);

    static native String[] counterNames();
}
