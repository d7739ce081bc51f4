"""Weekly briefs: make one with reports/ and keep its PDF in the archive, to be served again byte
for byte (the pages are crm.web.briefs, the command crm.cli.brief)."""
