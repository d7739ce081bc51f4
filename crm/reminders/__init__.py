"""The daily reminders (`flask --app app notify run`, called by a timer): what falls due tomorrow,
what is overdue, leads left quiet, dates approaching — posted to the notification centre once per
subject — and then each person's e-mail digest of what they have not read, once a day."""
