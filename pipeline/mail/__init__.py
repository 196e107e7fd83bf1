"""The e-mail loop: reports taken from the district's mailbox into the drop folder, replies and reminders out."""
