package dev.qtag;

/**
 * Restores the calling thread's previous tag and uid when closed; made by
 * {@link TrafficStats#tagged(int)} for try-with-resources:
 *
 * <pre>{@code
 * try (TagScope scope = TrafficStats.tagged(0x1001)) {
 *     TrafficStats.tagSocket(socket);
 * }
 * }</pre>
 *
 * A scope belongs to the thread that made it; closing it twice does nothing.
 */
public final class TagScope implements AutoCloseable {
    private final Thread owner = Thread.currentThread();
    private final int previousTag;
    private final int previousUid;
    private boolean closed;

    TagScope(int previousTag, int previousUid) {
        this.previousTag = previousTag;
        this.previousUid = previousUid;
    }

    /**
     * The tag that {@link #close()} restores ({@code -1}: none).
     *
     * @return the previous tag
     */
    public int previousTag() {
        return previousTag;
    }

    /**
     * The uid that {@link #close()} restores ({@code -1}: none).
     *
     * @return the previous uid
     */
    public int previousUid() {
        return previousUid;
    }

    /**
     * Restore the tag and uid the thread had when this scope was made.
     *
     * @throws IllegalStateException if called from another thread
     */
    @Override
    public void close() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a TagScope must be closed by the thread that made it");
        }
        if (!closed) {
            closed = true;
            TrafficStats.restore(previousTag, previousUid);
        }
    }
}
