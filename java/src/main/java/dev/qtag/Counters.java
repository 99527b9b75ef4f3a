package dev.qtag;

import java.util.Arrays;
import java.util.List;

/**
 * The 16 counters of the module's stats rows: IP-layer bytes and wire packets, received
 * and sent, in total and by protocol. {@link #NAMES} gives their names in the order of
 * {@link #toArray()} (the stats file's column order).
 */
public final class Counters {
    /** {@code rx_bytes, rx_packets, tx_bytes, tx_packets, rx_tcp_bytes, ...}: the core's names. */
    public static final List<String> NAMES = List.of(Native.counterNames());

    private final long[] values;

    Counters(long[] values) {
        if (values.length != NAMES.size()) {
            throw new IllegalArgumentException("expected " + NAMES.size() + " counters, got " + values.length);
        }
        this.values = values;
    }

    /**
     * Received bytes.
     *
     * @return the count
     */
    public long rxBytes() {
        return values[0];
    }

    /**
     * Received packets.
     *
     * @return the count
     */
    public long rxPackets() {
        return values[1];
    }

    /**
     * Sent bytes.
     *
     * @return the count
     */
    public long txBytes() {
        return values[2];
    }

    /**
     * Sent packets.
     *
     * @return the count
     */
    public long txPackets() {
        return values[3];
    }

    /**
     * One counter by name.
     *
     * @param name one of {@link #NAMES}, such as {@code "rx_tcp_bytes"}
     * @return the count
     * @throws IllegalArgumentException for an unknown name
     */
    public long get(String name) {
        int i = NAMES.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no counter named " + name + "; known: " + NAMES);
        }
        return values[i];
    }

    /**
     * The 16 counters in {@link #NAMES} order.
     *
     * @return a copy
     */
    public long[] toArray() {
        return values.clone();
    }

    /**
     * Whether every counter is 0.
     *
     * @return true if nothing was counted
     */
    public boolean isZero() {
        return Arrays.stream(values).allMatch(v -> v == 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Counters c && Arrays.equals(values, c.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Counters{");
        for (int i = 0; i < values.length; i++) {
            s.append(i == 0 ? "" : ", ").append(NAMES.get(i)).append('=').append(values[i]);
        }
        return s.append('}').toString();
    }
}
