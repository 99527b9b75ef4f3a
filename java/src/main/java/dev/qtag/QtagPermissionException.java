package dev.qtag;

/**
 * The kernel refused for lack of a privilege: billing another uid, changing counter sets or deleting another uid's data needs MODIFY_NETWORK_ACCOUNTING (CAP_NET_ADMIN or the module's {@code acct_gid} group); the message names the privilege. EPERM.
 */
public class QtagPermissionException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public QtagPermissionException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
