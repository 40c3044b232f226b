"""Personal calendar feeds (iCalendar) behind a secret, revocable URL."""
