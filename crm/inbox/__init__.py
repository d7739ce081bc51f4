"""The notification centre: what the system tells a person (an item given to their unit, a
deadline tomorrow, a reply), their settings, and the e-mail digests sent to them."""
