"""Weekly briefs on the web and the command line: build with reports/, archive, serve again."""
