"""Services: each takes a Session, flushes and never commits (the CLI or the view commits once)."""
