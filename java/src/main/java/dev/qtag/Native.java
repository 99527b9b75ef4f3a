package dev.qtag;

import java.io.FileDescriptor;
import java.net.DatagramSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.Channel;

/**
 * The native methods of {@code libqtag_jni} (crate {@code bindings/jni}). Tags and uids
 * are Java ints, {@code -1} meaning "none". The socket arguments are never null (the
 * public API checks).
 *
 * <p>Tagging comes in one variant per kind of object, so Java makes the cheap public
 * checks (which the JIT inlines) and the native side reads the descriptor from fields
 * instead of calling back into Java: {@link #tag} takes anything and checks everything
 * itself (closed objects, unknown classes); the others take an object that was open when
 * the caller looked, and a socket whose {@code getChannel()} was null (else the caller
 * passes the channel).
 */
final class Native {
    static {
        NativeLibrary.load();
    }

    /** Counter indexes of the getters. */
    static final int RX_BYTES = 0, RX_PACKETS = 1, TX_BYTES = 2, TX_PACKETS = 3;

    private Native() {}

    /** Any Socket, DatagramSocket, NIO channel or FileDescriptor, open or not. */
    static native void tag(Object socket, int tag, int uid) throws SocketException;

    static native void untag(Object socket) throws SocketException;

    /** An open channel. */
    static native void tagChannel(Channel channel, int tag, int uid) throws SocketException;

    static native void untagChannel(Channel channel) throws SocketException;

    /** An open DatagramSocket without a channel. */
    static native void tagDatagramSocket(DatagramSocket socket, int tag, int uid) throws SocketException;

    static native void untagDatagramSocket(DatagramSocket socket) throws SocketException;

    /** An open Socket without a channel (not connected yet: its descriptor is created). */
    static native void tagSocket(Socket socket, int tag, int uid) throws SocketException;

    static native void untagSocket(Socket socket) throws SocketException;

    static native void tagFileDescriptor(FileDescriptor fd, int tag, int uid) throws SocketException;

    static native void untagFileDescriptor(FileDescriptor fd) throws SocketException;

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
