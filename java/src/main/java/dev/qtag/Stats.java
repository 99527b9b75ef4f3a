package dev.qtag;

import java.lang.ref.Cleaner;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A snapshot of the module's {@code /proc/net/xt_qtaguid/stats}: one row per interface,
 * tag, uid and counter set, parsed by the Rust core. Tag 0 rows are each uid's totals
 * (its tagged traffic included); tagged rows are sub-categories of them. You see your own
 * uid's rows unless you have the stats privilege.
 *
 * <pre>{@code
 * try (Stats before = Stats.read()) {
 *     doTheWork();
 *     try (Stats after = Stats.read(); Stats run = after.deltaSince(before)) {
 *         Counters images = run.sum(myUid, 0x1002, "lo");
 *     }
 * }
 * }</pre>
 *
 * The snapshot lives in native memory until {@link #close()} (or garbage collection).
 * Methods are thread-safe; using a closed snapshot throws {@link IllegalStateException}.
 */
public final class Stats implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Frees the native snapshot; must not refer to the Stats object. */
    private static final class Free implements Runnable {
        private final long handle;

        Free(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.statsFree(handle);
        }
    }

    /**
     * One row of the stats file.
     *
     * @param iface the interface
     * @param tag the tag (0: the uid's total)
     * @param uid the billed uid
     * @param set the counter set
     * @param counters the counters
     */
    public record Row(String iface, int tag, int uid, int set, Counters counters) {}

    private long handle;
    private final Cleaner.Cleanable cleanable;

    private Stats(long handle) {
        this.handle = handle;
        this.cleanable = CLEANER.register(this, new Free(handle));
    }

    /**
     * Read the module's stats file.
     *
     * @return the snapshot
     * @throws SocketException {@link ModuleNotLoadedException}, {@link
     *     QtagPermissionException} if the file is not readable, a {@link QtagException}
     *     if it is malformed
     */
    public static Stats read() throws SocketException {
        return new Stats(Native.statsRead());
    }

    /**
     * Parse the contents of a stats file (Android's header and 21 columns).
     *
     * @param text the file's bytes
     * @return the snapshot
     * @throws SocketException a {@link QtagException} naming the malformed line
     */
    public static Stats parse(byte[] text) throws SocketException {
        return new Stats(Native.statsParse(Objects.requireNonNull(text, "text")));
    }

    private synchronized long live() {
        if (handle == 0) {
            throw new IllegalStateException("this Stats is closed");
        }
        return handle;
    }

    /**
     * The traffic between {@code earlier} and this snapshot (rows reset in between count
     * from 0): a profiling session.
     *
     * @param earlier an earlier snapshot
     * @return a new snapshot of the differences
     */
    public Stats deltaSince(Stats earlier) {
        Objects.requireNonNull(earlier, "earlier");
        // Both stay open during the call; locks taken in one global order.
        boolean thisFirst = System.identityHashCode(this) <= System.identityHashCode(earlier);
        Stats first = thisFirst ? this : earlier;
        Stats second = thisFirst ? earlier : this;
        synchronized (first) {
            synchronized (second) {
                return new Stats(Native.statsDelta(live(), earlier.live()));
            }
        }
    }

    /**
     * The counters of the matching rows added up.
     *
     * @param uid only this uid, or {@code -1} for all
     * @param tag only this tag ({@code 0}: totals), or {@code -1} for all (which counts
     *     tagged traffic twice: in its tag and in the uid's total)
     * @param iface only this interface, or null for all
     * @param set only this counter set, or {@code -1} for all
     * @return the sum
     */
    public synchronized Counters sum(int uid, int tag, String iface, int set) {
        return new Counters(Native.statsSum(live(), uid, tag, iface, set));
    }

    /**
     * {@link #sum(int, int, String, int)} over every counter set.
     *
     * @param uid only this uid, or {@code -1}
     * @param tag only this tag, or {@code -1}
     * @param iface only this interface, or null
     * @return the sum
     */
    public Counters sum(int uid, int tag, String iface) {
        return sum(uid, tag, iface, -1);
    }

    /**
     * A uid's total over every interface and counter set (its tag 0 rows).
     *
     * @param uid the uid
     * @return the total
     */
    public Counters uidTotal(int uid) {
        return sum(uid, 0, null, -1);
    }

    /**
     * Every row, in file order.
     *
     * @return the rows
     */
    public synchronized List<Row> rows() {
        long h = live();
        String[] ifaces = Native.statsIfaces(h);
        long[] flat = Native.statsRows(h);
        List<Row> rows = new ArrayList<>(flat.length / 20);
        for (int i = 0; i < flat.length; i += 20) {
            rows.add(new Row(ifaces[(int) flat[i]], (int) flat[i + 1], (int) flat[i + 2], (int) flat[i + 3],
                    new Counters(Arrays.copyOfRange(flat, i + 4, i + 20))));
        }
        return rows;
    }

    /** Free the native snapshot now; later calls throw {@link IllegalStateException}. */
    @Override
    public synchronized void close() {
        if (handle != 0) {
            handle = 0;
            cleanable.clean();
        }
    }
}
