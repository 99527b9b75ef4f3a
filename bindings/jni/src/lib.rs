//! JNI glue for dev.qtag (java/). Filled in by issue 6.
