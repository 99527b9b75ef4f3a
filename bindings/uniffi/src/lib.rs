//! uniffi component for the Kotlin binding (kotlin/). Filled in by issue 6.
