// Run in a JVM of its own by HostTest, without the --add-opens options: what a user who
// forgot them sees.
package dev.qtag.kotlin

import java.net.Socket

fun main() {
    try {
        Socket().use { fdOf(it) }
        println("no exception")
    } catch (e: IllegalStateException) {
        println("${e.javaClass.name}: ${e.message}")
    }
}
