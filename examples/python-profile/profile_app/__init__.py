"""python-profile: an app that profiles its own network traffic per category with qtag."""
