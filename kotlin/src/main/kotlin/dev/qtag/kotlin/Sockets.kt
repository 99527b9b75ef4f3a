// Tagging java.net.Socket and NIO channels: their descriptor, read by reflection, goes to
// the generated Int-descriptor functions.
package dev.qtag.kotlin

import java.io.FileDescriptor
import java.lang.reflect.InaccessibleObjectException
import java.lang.reflect.Field
import java.net.Socket
import java.net.SocketImpl
import java.nio.channels.Channel

/** JVM options that let [fdOf] read a socket's descriptor. */
const val ADD_OPENS: String = "--add-opens java.base/java.net=ALL-UNNAMED " +
    "--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED"

/** Tags [socket] with this thread's tag and uid. */
fun tagSocket(socket: Socket) = tagSocket(fdOf(socket))

/** Tags an NIO socket channel (SocketChannel, DatagramChannel, ...) with this thread's tag and uid. */
fun tagSocket(channel: Channel) = tagSocket(fdOf(channel))

/** Tags [socket] with [tag], billed to [uid] (`null`: the caller). */
fun tagSocketWith(socket: Socket, tag: Int, uid: Int? = null) = tagSocketWith(fdOf(socket), tag, uid)

fun tagSocketWith(channel: Channel, tag: Int, uid: Int? = null) = tagSocketWith(fdOf(channel), tag, uid)

fun untagSocket(socket: Socket) = untagSocket(fdOf(socket))

fun untagSocket(channel: Channel) = untagSocket(fdOf(channel))

/**
 * The descriptor of [socket] (creating it if the socket has none yet), -1 once closed.
 * Needs the JVM options [ADD_OPENS]; without them this throws IllegalStateException.
 */
fun fdOf(socket: Socket): Int {
    socket.channel?.let { return fdOf(it) }
    if (socket.isClosed) return -1
    val fd = reflect {
        val impl = getImpl.invoke(socket) as SocketImpl
        getFileDescriptor.invoke(impl) as FileDescriptor?
    }
    return fd?.let { reflect { fdField.getInt(it) } } ?: -1
}

/** The descriptor of an NIO channel of the JDK's own (`sun.nio.ch`), -1 once closed. */
fun fdOf(channel: Channel): Int {
    if (!channel.isOpen) return -1
    val field = generateSequence<Class<*>>(channel.javaClass) { it.superclass }
        .firstNotNullOfOrNull { c -> c.declaredFields.find { it.name == "fdVal" } }
        ?: throw IllegalArgumentException("${channel.javaClass.name} is not a JDK socket channel")
    return reflect { field.apply { isAccessible = true }.getInt(channel) }
}

private val getImpl by lazy { reflect { Socket::class.java.getDeclaredMethod("getImpl").apply { isAccessible = true } } }
private val getFileDescriptor by lazy {
    reflect { SocketImpl::class.java.getDeclaredMethod("getFileDescriptor").apply { isAccessible = true } }
}
private val fdField: Field by lazy { reflect { FileDescriptor::class.java.getDeclaredField("fd").apply { isAccessible = true } } }

private inline fun <T> reflect(get: () -> T): T = try {
    get()
} catch (e: InaccessibleObjectException) {
    throw IllegalStateException("reading a socket's descriptor needs the JVM options $ADD_OPENS", e)
}
