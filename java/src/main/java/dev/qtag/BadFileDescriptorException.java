package dev.qtag;

/**
 * The socket or descriptor is closed (or was never valid). EBADF.
 */
public class BadFileDescriptorException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public BadFileDescriptorException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
